"""A default ``rlai train`` on a shared machine: one run alone, and two runs side by side, for
thread counts and OpenMP waiting settings, in one benchmark run.

Each run is a real ``rlai train`` process (SAC on Pendulum-v1, the README's command, shortened):
``--steps`` steps of which ``--learning-starts`` are the uniform warm-up; its throughput is the
env steps per second between its first training row after the warm-up and its last row (from
``metrics.csv``), the figure a user waits on. A pair is two such processes started together; its
figure is the sum. A run still going after ``--limit`` seconds is stopped and measured on the
rows it wrote (a collapsed pair would otherwise take hours). Variants:

    default        plain ``rlai train`` as the package ships it (one thread since the defaults
                   changed; the figures on docs/performance.md were measured when it took
                   every core, which is ``threads=0`` now)
    threads=N      ``--set threads=N`` (0: every core)
    spin=N         every core, ``GOMP_SPINCOUNT=N`` in the environment (libgomp's busy-wait before
                   a thread sleeps; libgomp's own default is 300000, ``OMP_WAIT_POLICY=PASSIVE`` is 0)

    python benchmarks/shared_machine.py                          # threads=0 and threads=1
    python benchmarks/shared_machine.py --variants threads=0 threads=1 spin=300000 spin=10000 spin=0

Run it on an otherwise idle machine; the load average before and after is printed.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe, load


def command(variant: str, out: Path, args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    rlai = shutil.which("rlai") or sys.exit("rlai is not on PATH (pip install -e .)")
    cmd = [rlai, "train", "--env", args.env, "--steps", str(args.steps), "--eval-every", str(args.steps)]
    cmd += ["--eval-episodes", "1", "--quiet", "--out", str(out), "--set", f"learning_starts={args.learning_starts}"]
    cmd += ["--set", "log_every=250", "--set", "save_buffer=false", "--set", "checkpoint_every_s=0"]
    env = dict(os.environ)
    if variant.startswith("threads="):
        cmd += ["--set", variant]
    elif variant.startswith("spin="):
        env["GOMP_SPINCOUNT"] = variant.partition("=")[2]
        cmd += ["--set", "threads=0"]
    elif variant != "default":
        sys.exit(f"unknown variant {variant!r}")
    return cmd, env


def throughput(run_dir: Path, learning_starts: int) -> float:
    """Env steps per second from the first training row after the warm-up to the last row."""
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = [(int(r["step"]), float(r["time_s"])) for r in csv.DictReader(f) if r.get("sps")]  # training rows
    rows = [(s, t) for s, t in rows if s > learning_starts]
    if len(rows) < 2:
        return float("nan")
    (s0, t0), (s1, t1) = rows[0], rows[-1]
    return (s1 - s0) / (t1 - t0)


def runs_at_once(variant: str, n: int, args: argparse.Namespace) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / f"r{i}" for i in range(n)]
        procs = []
        for out in outs:
            cmd, env = command(variant, out, args)
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + args.limit
        for p in procs:
            try:
                p.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                p.terminate()  # saves and stops; the rows so far are measured
                p.wait()
        return [throughput(out, args.learning_starts) for out in outs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["threads=0", "threads=1"])
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--limit", type=float, default=90.0, help="seconds before a run is stopped and measured")
    args = parser.parse_args()
    print(f"machine: {describe()}; load average before: {load()}", flush=True)
    alone: dict[str, list[float]] = {}
    pair: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        for variant in args.variants:
            (one,) = runs_at_once(variant, 1, args)
            two = runs_at_once(variant, 2, args)
            alone.setdefault(variant, []).append(one)
            pair.setdefault(variant, []).append(sum(two))
            print(f"  repeat {repeat}: {variant:<14} alone {one:6.1f}   pair {two[0]:6.1f} + {two[1]:6.1f}", flush=True)
    print(f"load average after: {load()}")
    base_alone = statistics.median(alone[args.variants[0]])
    ones = statistics.median(pair["threads=1"]) if "threads=1" in pair else float("nan")
    print(f"\n{args.env}, env-steps/s, median of {args.repeats}; ratios against {args.variants[0]!r} alone")
    print("| variant | one run alone | vs first variant alone | two runs side by side | vs two threads=1 runs |")
    print("|---|---|---|---|---|")
    for variant in args.variants:
        a, p = statistics.median(alone[variant]), statistics.median(pair[variant])
        print(f"| {variant} | {a:.1f} | {a / base_alone:.2f}x | {p:.1f} | {p / ones:.2f}x |")


if __name__ == "__main__":
    main()
