"""What a standalone fit (``rlai sample``) costs: each sampler's default against its fit before the
workbench's target suite changed the defaults (reverse KL, no annealing; the chain also with a
prior sigma of 2.5, fixed noise and no guide), back to back on one torch thread, so that the
ratio is measured in one run on one machine. The bar (docs/workbench.md): at most 3x.

    python benchmarks/fit_cost.py                        # flow and diffusion on ring8, seed 0
    python benchmarks/fit_cost.py --target banana --sampler diffusion --repeat 2

``svgd``'s earlier fit (2000 steps of the score alone) is no longer reachable by options: its cost
is on the workbench page.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

from rlasinference.workbench.run import FitSettings, run_workbench

#: each sampler's fit before the suite: (objective, anneal, --set items)
BEFORE = {
    "flow": ("reverse-kl", 0.0, []),
    "diffusion": (
        "reverse-kl",
        0.0,
        ["sampler.prior_std=2.5", "sampler.learn_noise=false", "sampler.guided=false"],
    ),
}


def seconds(sampler: str, target: str, seed: int, before: bool, out: Path) -> float:
    objective, anneal, items = BEFORE[sampler] if before else (None, None, [])
    result = run_workbench(sampler, target, FitSettings(anneal=anneal, objective=objective), seed, items, out)
    return float(result["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler", action="append", choices=sorted(BEFORE))
    parser.add_argument("--target", default="ring8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="pairs per sampler (median of each side)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| sampler | target | default s | before s | ratio | pairs (s) |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for sampler in args.sampler or sorted(BEFORE):
            now, then = [], []
            for k in range(args.repeat):  # alternating, so a change of load hits both sides
                now.append(seconds(sampler, args.target, args.seed, False, Path(tmp) / f"{sampler}-now-{k}"))
                then.append(seconds(sampler, args.target, args.seed, True, Path(tmp) / f"{sampler}-then-{k}"))
            a, b = statistics.median(now), statistics.median(then)
            pairs = ", ".join(f"{x:.0f}/{y:.0f}" for x, y in zip(now, then, strict=True))
            print(f"| {sampler} | {args.target} | {a:.1f} | {b:.1f} | {a / b:.2f}x | {pairs} |", flush=True)


if __name__ == "__main__":
    main()
