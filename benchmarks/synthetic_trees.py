"""MENTS against UCT on synthetic trees: the probability that the recommended root action is not
the optimal one (the root action above the leaf of highest mean), against the simulation budget,
over many random trees (one tree and one planner seed per repeat), with 95% Wilson intervals.

The trees are ``rlasinference/SyntheticTree-v0`` (``rlasinference/planning/synthetic_tree.py``):
k-ary, depth d, edge values uniform in [0, 1], a leaf's mean the average of its path's edge
values, Gaussian reward noise at the leaf. A failure is a recommendation other than the optimal action of
the means (gamma 1), the action a user wants; MENTS's guarantee is about the soft-optimal action
(the argmax of the root's exact soft values at its tau), reported beside it.

    python benchmarks/synthetic_trees.py --seeds 200 --out docs/assets/synthetic-trees.png
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

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
    for seed in range(args.seeds):
        tree = SyntheticTree(args.branching, args.depth, args.noise, tree=seed)
        best, best_soft = tree.best_action(), int(np.argmax(tree.soft_values(args.tau)))
        for planner in failures:
            for i, budget in enumerate(args.budgets):
                tree.reset(seed=seed)
                settings = PlanSettings(planner, budget, tau=args.tau, eps=args.eps, c=args.c, rollout_depth=args.depth)
                action, _ = TreeSearch(settings, args.branching, np.random.default_rng(seed)).plan(tree)
                failures[planner][i] += action != best
                if planner == "ments":
                    soft_failures[i] += action != best_soft
        print(f"\r{seed + 1}/{args.seeds} trees", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    title = (
        f"k={args.branching}, d={args.depth}, noise {args.noise}, tau {args.tau}, eps {args.eps}, c {args.c}; "
        f"{args.seeds} trees per point; {time.perf_counter() - began:.0f} s"
    )
    print(title)
    print("| simulations | MENTS P(wrong action) | UCT P(wrong action) | UCT / MENTS | MENTS P(not soft-optimal) |")
    print("|---|---|---|---|---|")
    for i, budget in enumerate(args.budgets):
        m, u = (failures[p][i] / args.seeds for p in ("ments", "uct"))
        (ml, mh), (ul, uh) = wilson(failures["ments"][i], args.seeds), wilson(failures["uct"][i], args.seeds)
        ratio = f"{u / m:.2f}" if m > 0 else "-"
        soft = soft_failures[i] / args.seeds
        print(f"| {budget} | {m:.3f} [{ml:.3f}, {mh:.3f}] | {u:.3f} [{ul:.3f}, {uh:.3f}] | {ratio} | {soft:.3f} |")
    if args.out is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
        for planner, colour in (("ments", "tab:blue"), ("uct", "tab:orange")):
            rates = failures[planner] / args.seeds
            bands = np.array([wilson(f, args.seeds) for f in failures[planner]])
            ax.plot(args.budgets, rates, marker="o", color=colour, label=planner.upper())
            ax.fill_between(args.budgets, bands[:, 0], bands[:, 1], color=colour, alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel("simulations")
        ax.set_ylabel("P(recommended root action is not optimal)")
        ax.set_title(title, fontsize=7)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
