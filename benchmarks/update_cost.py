"""Time per gradient update of each preset/sampler combination relative to Gaussian SAC.

All agents are built in one process and timed in alternating blocks on random batches of each
preset's own batch size, so the ratios are measured side by side on the same machine state.

    python benchmarks/update_cost.py
    python benchmarks/update_cost.py --dims 17x6 --blocks 30
    python benchmarks/update_cost.py --precision fp32 bf16   # both, blocks alternating, and their ratio
"""

from __future__ import annotations

import argparse

import torch
from machine import describe, load
from side_by_side import alternate, built

from rlasinference.core.precision import resolve_precision, set_precision
from rlasinference.training.build import compile_sampler
from rlasinference.training.config import COMPILE_MIN_UPDATES

# (label, preset, config overrides, sampler options); each preset's own defaults unless overridden
COMBOS: list[tuple[str, str, dict, dict]] = [
    ("sac", "sac", {}, {}),
    ("flow-SAC", "sac", {"sampler": "flow"}, {}),
    ("sac + energy-flow", "sac", {"sampler": "energy-flow"}, {}),
    ("crossq, 256 wide", "crossq", {"critic_hidden": [256, 256]}, {}),
    ("crossq, 2048 wide (paper)", "crossq", {}, {}),
    ("sac + crossq critic", "sac", {"critic": "crossq"}, {}),
    ("sac + categorical critic", "sac", {"critic": "categorical"}, {}),
    ("meow", "meow", {}, {}),
    ("sql", "sql", {}, {}),
    ("sql at SAC's sizes", "sql", {"batch_size": 256, "critic_hidden": [256, 256]}, {"hidden": [256, 256]}),
    ("diffsac, N = 16", "diffsac", {}, {}),
    ("diffsac, N = 8", "diffsac", {}, {"steps": 8}),
    ("diffsac, N = 4", "diffsac", {}, {"steps": 4}),
    ("dime, N = 16", "dime", {}, {}),
    ("diffwpo, N = 16", "diffwpo", {}, {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", nargs="+", default=["3x1", "11x3"], help="obs_dim x action_dim (Pendulum, Hopper)")
    parser.add_argument("--blocks", type=int, default=20, help="timed blocks per combination")
    parser.add_argument("--only", nargs="+", help="labels to time (sac is always timed)")
    parser.add_argument("--updates", type=int, default=10, help="updates per block")
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["auto"],
        help="the precision run option (auto, fp32, bf16); several alternate",
    )
    parser.add_argument(
        "--compile", default="auto", help="the compile run option as in a long run (auto, always, never)"
    )
    args = parser.parse_args()
    precisions = list(dict.fromkeys(resolve_precision(p, torch.device("cpu")) for p in args.precision))
    print(f"machine: {describe()}; load average before: {load()}")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {', '.join(precisions)}; median ms per update"
    )
    for dims in args.dims:
        obs_dim, action_dim = (int(x) for x in dims.split("x"))
        torch.manual_seed(0)
        agents, batches, compiled = {}, {}, []
        for label, algo, overrides, options in COMBOS:
            if args.only and label != "sac" and label not in args.only:
                continue
            agents[label], batches[label] = built(algo, overrides, options, obs_dim, action_dim)
            if compile_sampler(agents[label], args.compile, COMPILE_MIN_UPDATES):
                compiled.append(label)
        if compiled:
            print(f"  compiled (--compile {args.compile}, as in a run of 20,000+ updates): {', '.join(compiled)}")
        for precision in precisions:  # warm-up (and compilation)
            set_precision(precision)
            for label, agent in agents.items():
                for _ in range(5):
                    agent.update(batches[label])
        pairs = {label: (agent, batches[label]) for label, agent in agents.items()}
        ms = alternate({p: lambda p=p: set_precision(p) for p in precisions}, pairs, args.blocks, args.updates)
        print(f"\nobs {obs_dim}, action {action_dim}")
        for precision in precisions:
            base = ms["sac", precision]
            for label, agent in agents.items():
                t = ms[label, precision]
                against = f"  {t / ms[label, precisions[0]]:5.2f}x {precisions[0]}"
                print(
                    f"  {label:<20} {precision}  batch {agent.batch_size:>3}  {t:7.2f} ms  {t / base:5.2f}x SAC"
                    + (against if precision != precisions[0] else "")
                )
        print("  (dime, crossq: per update, the actor trained every 3rd; dime makes 2 updates per env step)")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
