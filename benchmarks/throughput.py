"""Training throughput: rlasinference against Stable-Baselines3, side by side.

Both train SAC with identical settings (256x256 MLPs, batch 256, one update per env step,
Adam 3e-4, buffer 1M, learned temperature), or with ``--algo ppo`` PPO with identical settings
(our ``ppo`` preset and the ``sb3-ppo`` peer: 2048-step rollouts, 10 epochs of 32 minibatches,
64x64 tanh networks, normalised observations and rewards), each run in a fresh subprocess,
alternating between the two libraries, at every torch thread count asked for (1, 2 and the
default by default). Throughput is env steps per second over the training phase (SAC: after the
uniform-random warm-up; PPO: after the first rollout and its update), the figure a user waits
on. The headline compares each library at its own fastest thread count;
the machine (CPU model, AMX / AVX-512) and its load average before and after are printed, since
single figures on a busy machine are not comparable.

    pip install -e ".[bench]"
    python benchmarks/throughput.py                       # Pendulum-v1 and Hopper-v5
    python benchmarks/throughput.py --envs Hopper-v5 --steps 5000 --repeats 3 --threads 2
    python benchmarks/throughput.py --envs Hopper-v5 --side-by-side   # two of our runs at once
    python benchmarks/throughput.py --algo ppo --envs Hopper-v5 HalfCheetah-v5 --steps 20480

``--side-by-side`` measures what ``rlai sweep`` does on this machine: two of our trainings at
once (fresh processes, started together), at 1 and at 2 threads each, and prints the summed
throughput of the pair, which decides the sweep's default thread count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe, load

ROLLOUT = 2048  # steps of a PPO rollout (one env), ours and SB3's


def worker_ours(
    env: str, steps: int, learning_starts: int, threads: int, precision: str = "auto", algo: str = "sac"
) -> float:
    from rlasinference.training.config import resolve
    from rlasinference.training.metrics import read_metrics
    from rlasinference.training.run_dir import create_run_dir
    from rlasinference.training.trainer import Trainer

    common = {"algo": algo, "env": env, "steps": steps, "eval_every": steps, "eval_episodes": 1, "threads": threads}
    if algo == "ppo":
        one = {"num_envs": 1, "num_steps": ROLLOUT}  # on every env (Pendulum's own settings use 4 envs)
        config, start = resolve({**common, **one, "log_every": ROLLOUT, "precision": precision}), ROLLOUT
    else:
        settings = {"learning_starts": learning_starts, "log_every": learning_starts, "save_buffer": False}
        config, start = resolve({**common, **settings, "precision": precision}), learning_starts
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = create_run_dir(Path(tmp) / "run", config)
        Trainer(config, run_dir, quiet=True).train()
        rows = [r for r in read_metrics(run_dir / "metrics.csv") if r.get("sps")]  # training rows
    t = {int(r["step"]): float(r["time_s"]) for r in rows}
    last = max(t)
    return (last - start) / (t[last] - t[start])


def worker_sb3(env: str, steps: int, learning_starts: int, threads: int, algo: str = "sac") -> float:
    import gymnasium as gym
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    from rlasinference.core.precision import flushed_subnormals
    from rlasinference.experiments.peers import ppo_settings, sb3_ppo, sb3_ppo_env, sb3_sac

    if threads > 0:
        torch.set_num_threads(threads)
    start_at = ROLLOUT if algo == "ppo" else learning_starts

    class Clock(BaseCallback):
        start = 0.0

        def _on_step(self) -> bool:
            if algo != "ppo" and self.num_timesteps == start_at:
                Clock.start = time.perf_counter()
            return True

        def _on_rollout_start(self) -> None:  # PPO: after the first rollout's update, as ours
            if algo == "ppo" and self.num_timesteps == start_at:
                Clock.start = time.perf_counter()

    if algo == "ppo":
        settings = ppo_settings(env, num_envs=1)
        settings["num_steps"] = ROLLOUT
        model = sb3_ppo(sb3_ppo_env(env, settings), settings, steps, seed=0)
        steps = -(-steps // ROLLOUT) * ROLLOUT  # whole rollouts, as ours runs
    else:
        model = sb3_sac(gym.make(env), learning_starts, seed=0)
    with flushed_subnormals():  # the CPU setting our trainer runs under, so neither side is handicapped
        model.learn(total_timesteps=steps, callback=Clock())
    return (model.num_timesteps - start_at) / (time.perf_counter() - Clock.start)


def _command(lib: str, env: str, threads: int, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, __file__, "--worker", lib, "--env", env, "--steps", str(args.steps)]
    cmd += ["--learning-starts", str(args.learning_starts), "--threads", str(threads)]
    return [*cmd, "--precision", args.precision, "--algo", args.algo]


def side_by_side(args: argparse.Namespace) -> None:
    """Two of our trainings at once, as a sweep runs them: the pair's summed env-steps/s."""
    print(f"machine: {describe()}; load average before: {load()}")
    totals: dict[tuple[str, int], list[float]] = {}
    for env in args.envs:
        for _ in range(args.repeats):
            for threads in (1, 2):
                procs = [
                    subprocess.Popen(_command("ours", env, threads, args), stdout=subprocess.PIPE, text=True)
                    for _ in range(2)
                ]
                outs = [p.communicate()[0] for p in procs]
                if any(p.returncode != 0 for p in procs):
                    sys.exit(f"a run on {env} failed")
                pair = [json.loads(o.strip().splitlines()[-1])["sps"] for o in outs]
                totals.setdefault((env, threads), []).append(sum(pair))
                print(f"  {env:<14} 2 runs x {threads} threads: {pair[0]:.1f} + {pair[1]:.1f} env-steps/s", flush=True)
    print(f"load average after: {load()}")
    for env in args.envs:
        one, two = (statistics.median(totals[(env, t)]) for t in (1, 2))
        print(f"{env:<14} two runs at once: {one:.1f} env-steps/s at 1 thread each, {two:.1f} at 2 ({one / two:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["Pendulum-v1", "Hopper-v5"])
    parser.add_argument("--steps", type=int, default=4000, help="total env steps per run")
    parser.add_argument("--learning-starts", type=int, default=1000, help="warm-up steps, not timed")
    parser.add_argument("--repeats", type=int, default=2, help="runs per library and env (alternating)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2, 0], help="torch thread counts to measure (0: the default)"
    )
    parser.add_argument("--precision", default="auto", help="our precision run option (auto, fp32, bf16)")
    parser.add_argument("--algo", choices=["sac", "ppo"], default="sac", help="what both libraries train")
    parser.add_argument("--side-by-side", action="store_true", help="two of our runs at once, 1 and 2 threads each")
    parser.add_argument("--worker", choices=["ours", "sb3"], help=argparse.SUPPRESS)
    parser.add_argument("--env", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        if args.worker == "ours":
            sps = worker_ours(args.env, args.steps, args.learning_starts, args.threads[0], args.precision, args.algo)
        else:
            sps = worker_sb3(args.env, args.steps, args.learning_starts, args.threads[0], args.algo)
        print(json.dumps({"sps": sps}))
        return
    if args.side_by_side:
        side_by_side(args)
        return

    import torch

    print(f"machine: {describe()}; torch {torch.__version__}, default {torch.get_num_threads()} threads")
    print(
        f"{args.steps} steps per run, first {args.learning_starts} untimed warm-up; {args.repeats} alternating repeats"
    )
    print(f"load average before: {load()}")
    results: dict[tuple[str, str, int], list[float]] = {}
    for env in args.envs:
        for _ in range(args.repeats):
            for threads in args.threads:
                for lib in ("ours", "sb3"):
                    out = subprocess.run(_command(lib, env, threads, args), capture_output=True, text=True, check=False)
                    if out.returncode != 0:
                        sys.exit(f"{lib} on {env} failed:\n{out.stderr[-2000:]}")
                    sps = json.loads(out.stdout.strip().splitlines()[-1])["sps"]
                    results.setdefault((env, lib, threads), []).append(sps)
                    print(f"  {env:<14} {lib:<5} threads {threads or 'default':<7} {sps:7.1f} env-steps/s", flush=True)
    print(f"load average after: {load()}")
    print(f"\n{'env':<14} {'threads':>8} {'rlasinference':>14} {'SB3':>8} {'ratio':>7}   (medians, env-steps/s)")
    for env in args.envs:
        for threads in args.threads:
            ours, sb3 = (statistics.median(results[(env, lib, threads)]) for lib in ("ours", "sb3"))
            print(f"{env:<14} {threads or 'default':>8} {ours:14.1f} {sb3:8.1f} {ours / sb3:6.2f}x")
    print("\nheadline: each library at its own fastest thread count")
    for env in args.envs:
        best = {
            lib: max((statistics.median(results[(env, lib, t)]), t) for t in args.threads) for lib in ("ours", "sb3")
        }
        (ours, t_ours), (sb3, t_sb3) = best["ours"], best["sb3"]
        print(
            f"{env:<14} rlasinference {ours:.1f} ({t_ours or 'default'} threads), "
            f"SB3 {sb3:.1f} ({t_sb3 or 'default'} threads): {ours / sb3:.2f}x"
        )


if __name__ == "__main__":
    main()
