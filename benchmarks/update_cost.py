"""Time per gradient update of each preset/sampler combination relative to Gaussian SAC.

All agents are built in one process and timed in alternating blocks on the same random batch
(batch 256), so the ratios are measured side by side on the same machine state.

    python benchmarks/update_cost.py
    python benchmarks/update_cost.py --dims 17x6 --blocks 30
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rlasinference.algorithms import PRESETS, Batch

COMBOS = [("sac", "gaussian"), ("sac", "flow"), ("sac", "energy-flow"), ("meow", "energy-flow"), ("sql", "svgd")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", nargs="+", default=["3x1", "11x3"], help="obs_dim x action_dim (Pendulum, Hopper)")
    parser.add_argument("--blocks", type=int, default=20, help="timed blocks per combination")
    parser.add_argument("--updates", type=int, default=10, help="updates per block")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 256; median ms per update")
    for dims in args.dims:
        obs_dim, action_dim = (int(x) for x in dims.split("x"))
        torch.manual_seed(0)
        agents = {}
        for algo, sampler in COMBOS:
            preset = PRESETS.get(algo)
            agents[(algo, sampler)] = preset.build(preset.config_cls(sampler=sampler), {}, obs_dim, action_dim)
        batch = Batch(
            torch.randn(256, obs_dim),
            torch.rand(256, action_dim) * 1.8 - 0.9,
            torch.randn(256),
            torch.randn(256, obs_dim),
            torch.zeros(256),
        )
        times: dict[tuple[str, str], list[float]] = {k: [] for k in agents}
        for agent in agents.values():  # warm-up
            for _ in range(5):
                agent.update(batch)
        for _ in range(args.blocks):
            for key, agent in agents.items():
                start = time.perf_counter()
                for _ in range(args.updates):
                    agent.update(batch)
                times[key].append((time.perf_counter() - start) / args.updates * 1e3)
        base = statistics.median(times[("sac", "gaussian")])
        print(f"\nobs {obs_dim}, action {action_dim}")
        for (algo, sampler), ts in times.items():
            ms = statistics.median(ts)
            print(f"  {algo:<5} {sampler:<12} {ms:7.2f} ms  {ms / base:5.2f}x SAC")


if __name__ == "__main__":
    main()
