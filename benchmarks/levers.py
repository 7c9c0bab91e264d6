"""What the speed levers give on this machine: bfloat16 matrix products and torch.compile.

Measured side by side in one process, one torch thread unless --threads, median of blocks:
  1. a 256x256 by 256x256 and a 512x256 by 256x256 matrix product, float32 against bfloat16
     (bfloat16 pays only where the CPU multiplies it natively: AMX tiles);
  2. one SAC and one DiffSAC update (Hopper's sizes) at precision fp32 against bf16, the
     choice behind ``precision: auto``;
  3. with --compile: the same updates with the critic's loss, or the diffusion chain,
     compiled by torch.compile in each mode, against eager.

    python benchmarks/levers.py
    python benchmarks/levers.py --compile          # adds minutes of compilation
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from machine import describe, load
from side_by_side import built

from rlasinference.core.precision import set_precision


def timed(fn: Callable[[], object], blocks: int, calls: int) -> float:
    """Median milliseconds per call over ``blocks`` blocks of ``calls`` calls, after a warm-up."""
    for _ in range(3):
        fn()
    out = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - start) / calls * 1e3)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {describe()}; load average before: {load()}")
    print(f"torch {torch.__version__}, {args.threads} thread(s); median ms")

    print("\n1. matrix products (float32 vs bfloat16)")
    for rows in (256, 512):
        a, b = torch.randn(rows, 256), torch.randn(256, 256)
        fp32 = timed(lambda a=a, b=b: a @ b, args.blocks, 200)
        a16, b16 = a.bfloat16(), b.bfloat16()
        bf16 = timed(lambda a=a16, b=b16: a @ b, args.blocks, 200)
        print(f"  {rows}x256 @ 256x256: fp32 {fp32 * 1e3:.0f} us, bf16 {bf16 * 1e3:.0f} us ({fp32 / bf16:.2f}x)")

    print("\n2. one update at precision fp32 and bf16 (Hopper's sizes)")
    for algo in ("sac", "diffsac"):
        agent, batch = built(algo)
        result = {}
        for precision in ("fp32", "bf16", "fp32", "bf16"):  # alternating, the second pair counts
            set_precision(precision)
            result[precision] = timed(lambda agent=agent, batch=batch: agent.update(batch), args.blocks, 5)
        set_precision("fp32")
        print(f"  {algo:<8} fp32 {result['fp32']:.2f} ms, bf16 {result['bf16']:.2f} ms "
              f"(bf16 is {result['fp32'] / result['bf16']:.2f}x the speed)")  # fmt: skip

    if not args.compile:
        return
    print("\n3. torch.compile (against eager, same process)")
    for algo, part in (("sac", "critic loss"), ("diffsac", "diffusion chain")):
        for mode in (None, "max-autotune-no-cudagraphs"):
            agent, batch = built(algo)
            eager = timed(lambda agent=agent, batch=batch: agent.update(batch), args.blocks, 5)
            if part == "critic loss":
                agent.critic.loss = torch.compile(agent.critic.loss, mode=mode)
            else:
                agent.sampler._run = torch.compile(agent.sampler._run, mode=mode)
            start = time.perf_counter()
            agent.update(batch)
            compile_s = time.perf_counter() - start
            compiled = timed(lambda agent=agent, batch=batch: agent.update(batch), args.blocks, 5)
            print(f"  {algo:<8} {part:<16} mode {mode or 'default':<28} eager {eager:.2f} ms, compiled "
                  f"{compiled:.2f} ms ({eager / compiled:.2f}x), {compile_s:.0f} s to compile")  # fmt: skip
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
