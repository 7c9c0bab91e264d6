"""A trained run's gradient update with float32 subnormals as the CPU computes them, and flushed
to zero (what our trainer does, core/precision.py): time per update in alternating blocks of one
process, each block from the checkpoint's state (a flushed block leaves zeros where the next
would find subnormals), their ratio, how many of the optimiser's moment estimates are subnormal,
and how many gradient entries of an update are exactly zero (the weights whose moments decay).

The run's last checkpoint is copied to a scratch folder and restored there (the run itself is
only read, so a run still training may be measured); updates draw batches from its replay buffer.

    python benchmarks/subnormals.py runs/sweep-minatar/soft-dqn-MinAtar_Breakout-v1-s0
    python benchmarks/subnormals.py RUN --updates 300 --blocks 6
"""

from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
from machine import describe, load

from rlasinference.training.run_dir import read_config
from rlasinference.training.trainer import Trainer


def subnormal_share(state: dict) -> tuple[int, int]:
    """(subnormal, all) float32 values among an optimiser state's tensors."""
    tiny = torch.finfo(torch.float32).tiny
    count = total = 0
    for entry in state["state"].values():
        for value in entry.values():
            if isinstance(value, torch.Tensor) and value.dtype == torch.float32 and value.dim() > 0:
                count += int(((value != 0) & (value.abs() < tiny)).sum())
                total += value.numel()
    return count, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run directory with checkpoints/last.pt and a replay buffer")
    parser.add_argument("--updates", type=int, default=200, help="updates per block")
    parser.add_argument("--blocks", type=int, default=5, help="blocks of each setting, alternating")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {describe()}; load average before: {load()}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch_run = Path(scratch) / "run"
        (scratch_run / "checkpoints").mkdir(parents=True)
        for name in ("config.yaml", ".rlai-run"):
            shutil.copy(args.run / name, scratch_run / name)
        shutil.copy(args.run / "checkpoints" / "last.pt", scratch_run / "checkpoints" / "last.pt")
        config = read_config(scratch_run)
        trainer = Trainer(config, scratch_run, quiet=True, resume=True)
        agent, buffer = trainer.agent, trainer.collector.buffer
        optimisers = getattr(agent, "optimizers", {})
        for name, opt in optimisers.items():
            count, total = subnormal_share(opt.state_dict())
            print(
                f"{config.run.algo} at step {trainer.step}: optimiser {name!r}, {count} of {total} "
                f"moment values subnormal ({count / max(total, 1):.1%})"
            )
        saved = copy.deepcopy(agent.checkpoint_state())
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.blocks):
            for flush in (False, True):
                agent.load_checkpoint_state(copy.deepcopy(saved), True)
                torch.set_flush_denormal(flush)
                start = time.perf_counter()
                for _ in range(args.updates):
                    for _ in agent.learn(buffer.sample(agent.batch_size)):
                        pass
                times[flush].append((time.perf_counter() - start) / args.updates * 1e3)
        torch.set_flush_denormal(False)
        grads = [p.grad for p in agent.parameters() if p.grad is not None]  # of the last update
        zero, entries = sum(int((g == 0).sum()) for g in grads), sum(g.numel() for g in grads)
        print(f"gradient entries exactly zero in the last update: {zero} of {entries} ({zero / max(entries, 1):.1%})")
        trainer.env.close()
    plain, flushed = (statistics.median(times[f]) for f in (False, True))
    print(f"load average after: {load()}")
    print(
        f"ms per update (median of {args.blocks} blocks of {args.updates}): subnormals computed {plain:.2f}, "
        f"flushed {flushed:.2f} ({plain / flushed:.2f}x)"
    )


if __name__ == "__main__":
    main()
