"""MENTS against UCT on synthetic trees: the probability that the recommended root action is not
the optimal one (the root action above the leaf of highest mean), against the simulation budget,
over many random trees (one tree and one planner seed per repeat), with 95% Wilson intervals.

The trees are ``rlasinference/SyntheticTree-v0`` (``rlasinference/planning/synthetic_tree.py``):
k-ary, depth d, edge values uniform in [0, 1], a leaf's mean its path's sum of edge values
divided by d (``--scale depth``) or mapped onto [0, 1] from the worst leaf to the best (``--scale
range``), Gaussian reward noise at the leaf. A failure is a recommendation other than the optimal
action of the means (gamma 1), the action a user wants; MENTS's guarantee is about the
soft-optimal action (the argmax of the root's exact soft values at its tau), reported beside it.
Also reported: the root value's estimation error, |V_hat(root) - V(root)|, with V_hat = F_tau of
the root's soft values against the exact soft value for MENTS, and the visit-weighted mean return
against the best leaf's mean for UCT (its root value estimate).

    python benchmarks/synthetic_trees.py --seeds 200 --out docs/assets/synthetic-trees.png
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from rlasinference.planning.soft_iteration import soft_max
from rlasinference.planning.synthetic_tree import SyntheticTree
from rlasinference.planning.tree_search import PlanSettings, TreeSearch


def wilson(failures: int, n: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p, z = failures / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--branching", type=int, default=4)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--noise", type=float, default=0.5, help="std of the leaf reward's Gaussian noise")
    parser.add_argument("--scale", choices=("depth", "range"), default="depth", help="how path sums become leaf means")
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200, 500, 1000, 2000])
    parser.add_argument("--seeds", type=int, default=100, help="random trees (and planner seeds) per point")
    parser.add_argument("--tau", type=float, default=0.1)
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--c", type=float, default=1.0, help="UCT's exploration constant")
    parser.add_argument("--out", type=Path, help="write the plot here")
    args = parser.parse_args()
    began = time.perf_counter()
    failures = {planner: np.zeros(len(args.budgets), dtype=int) for planner in ("ments", "uct")}
    soft_failures = np.zeros(len(args.budgets), dtype=int)  # MENTS against the soft-optimal action
    errors = {planner: np.zeros((args.seeds, len(args.budgets))) for planner in failures}
    for seed in range(args.seeds):
        tree = SyntheticTree(args.branching, args.depth, args.noise, tree=seed, scale=args.scale)
        best, best_soft = tree.best_action(), int(np.argmax(tree.soft_values(args.tau)))
        exact = {"ments": float(soft_max(tree.soft_values(args.tau), args.tau)), "uct": float(tree.leaf_means().max())}
        for planner in failures:
            for i, budget in enumerate(args.budgets):
                tree.reset(seed=seed)
                settings = PlanSettings(planner, budget, tau=args.tau, eps=args.eps, c=args.c, rollout_depth=args.depth)
                action, root = TreeSearch(settings, args.branching, np.random.default_rng(seed)).plan(tree)
                failures[planner][i] += action != best
                if planner == "ments":
                    estimate = float(soft_max(root.q, args.tau))
                else:
                    estimate = float(root.visits @ root.q / root.visits.sum())
                errors[planner][seed, i] = abs(estimate - exact[planner])
                if planner == "ments":
                    soft_failures[i] += action != best_soft
        print(f"\r{seed + 1}/{args.seeds} trees", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    title = (
        f"k={args.branching}, d={args.depth}, {args.scale}-scaled leaves, noise {args.noise}, "
        f"tau {args.tau}, eps {args.eps}, c {args.c}; "
        f"{args.seeds} trees per point; {time.perf_counter() - began:.0f} s"
    )
    print(title)
    print(
        "| simulations | MENTS P(wrong action) | UCT P(wrong action) | UCT / MENTS | MENTS P(not soft-optimal) "
        "| MENTS root value error | UCT root value error |"
    )
    print("|---|---|---|---|---|---|---|")
    for i, budget in enumerate(args.budgets):
        m, u = (failures[p][i] / args.seeds for p in ("ments", "uct"))
        (ml, mh), (ul, uh) = wilson(failures["ments"][i], args.seeds), wilson(failures["uct"][i], args.seeds)
        ratio = f"{u / m:.2f}" if m > 0 else "-"
        soft = soft_failures[i] / args.seeds
        em, eu = (errors[p][:, i] for p in ("ments", "uct"))
        sem = math.sqrt(args.seeds)
        print(
            f"| {budget} | {m:.3f} [{ml:.3f}, {mh:.3f}] | {u:.3f} [{ul:.3f}, {uh:.3f}] | {ratio} | {soft:.3f} "
            f"| {em.mean():.4f} ± {em.std() / sem:.4f} | {eu.mean():.4f} ± {eu.std() / sem:.4f} |"
        )
    if args.out is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax, ax_err) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
        for planner, colour in (("ments", "tab:blue"), ("uct", "tab:orange")):
            rates = failures[planner] / args.seeds
            bands = np.array([wilson(f, args.seeds) for f in failures[planner]])
            ax.plot(args.budgets, rates, marker="o", color=colour, label=planner.upper())
            ax.fill_between(args.budgets, bands[:, 0], bands[:, 1], color=colour, alpha=0.2, lw=0)
            mean, sem = errors[planner].mean(0), errors[planner].std(0) / math.sqrt(args.seeds)
            ax_err.plot(args.budgets, mean, marker="o", color=colour, label=planner.upper())
            ax_err.fill_between(args.budgets, mean - sem, mean + sem, color=colour, alpha=0.2, lw=0)
        ax.set_ylabel("P(recommended root action is not optimal)")
        ax_err.set_ylabel("|root value estimate - exact| (mean ± s.e.)")
        ax_err.set_yscale("log")
        for axis in (ax, ax_err):
            axis.set_xscale("log")
            axis.set_xlabel("simulations")
            axis.grid(alpha=0.3)
            axis.legend()
        fig.suptitle(title, fontsize=7)
        fig.tight_layout()
        fig.savefig(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
