"""The image presets' gradient update with their convolutional torsos' frames and weights in
memory channels last (what ``core.nets.image_torso`` builds for the Nature torso) and channels
first (PyTorch's default), in alternating blocks of one process: milliseconds per update, the
ratio, and the largest difference of the two agents' Q values after their first update and after
the last (each update draws the same random numbers in both): after one, float32 rounding (the
same arithmetic in another order); Adam's first steps then amplify it, as any change of
summation order does (a copy in the same layout stays equal bit for bit).

Both agents are built from one seed by the run's own code (``build_agent``: the env's image
shape, the preset's Atari or MinAtar defaults) and trained on the same batches of random frames.

    python benchmarks/image_layout.py
    python benchmarks/image_layout.py --env MinAtar/Breakout-v1 --updates 50
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from machine import describe, load

from rlasinference.core.batch import Batch
from rlasinference.core.nets import Frames
from rlasinference.core.precision import flushed_subnormals
from rlasinference.training.build import build_agent, seed_everything
from rlasinference.training.config import resolve


def channels_first(agent: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``agent`` whose torsos keep frames and weights in PyTorch's default layout."""
    twin = copy.deepcopy(agent)  # its optimisers are copied with it, still holding its parameters
    for module in twin.modules():
        if isinstance(module, Frames):
            module.memory_format = torch.contiguous_format
    return twin.to(memory_format=torch.contiguous_format)


def q_values(agent: torch.nn.Module, obs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return agent.critic.actor_q_all(obs)  # type: ignore[union-attr,operator]


def gap(agents: dict[str, torch.nn.Module], obs: torch.Tensor) -> float:
    """The largest difference of the two layouts' Q values at ``obs``."""
    return float((q_values(agents["channels last"], obs) - q_values(agents["channels first"], obs)).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", nargs="+", default=["BeamRiderNoFrameskip-v4"], help="envs with image observations")
    parser.add_argument("--algo", nargs="+", default=["sac-discrete", "soft-dqn"])
    parser.add_argument("--updates", type=int, default=5, help="updates per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks of each layout, alternating")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {describe()}; load average before: {load()}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32; median ms per update")
    for env_id in args.env:
        for algo in args.algo:
            seed_everything(0)
            config = resolve({"algo": algo, "env": env_id, "precision": "fp32"})
            agent, env, spec = build_agent(config, torch.device("cpu"))
            env.close()
            agents = {"channels last": agent, "channels first": channels_first(agent)}
            n, frames = config.algo.batch_size, spec.obs_dim
            scale = 255.0 if min(spec.image[1:]) >= 36 else 1.0  # Atari's 0..255 frames, MinAtar's 0/1 planes
            batches = []
            for _ in range(args.updates):
                action = torch.nn.functional.one_hot(torch.randint(spec.action_dim, (n,)), spec.action_dim).float()
                obs, next_obs = (torch.randint(0, int(scale) + 1, (n, frames)).float() for _ in range(2))
                batches.append(Batch(obs, action, torch.randn(n).sign(), next_obs, torch.zeros(n)))
            times: dict[str, list[float]] = {label: [] for label in agents}
            with flushed_subnormals():
                for one in agents.values():  # warm-up: oneDNN picks its kernels
                    torch.manual_seed(0)
                    one.update(batches[0])  # type: ignore[operator]
                first = gap(agents, batches[0].obs)
                for block in range(args.blocks):
                    order = list(agents) if block % 2 == 0 else list(agents)[::-1]
                    for label in order:
                        start = time.perf_counter()
                        for i, batch in enumerate(batches):
                            torch.manual_seed(1 + block * len(batches) + i)  # both agents draw the same noise
                            agents[label].update(batch)  # type: ignore[operator]
                        times[label].append((time.perf_counter() - start) / len(batches) * 1e3)
            ms = {label: statistics.median(t) for label, t in times.items()}
            scale_q = q_values(agents["channels first"], batches[0].obs).abs().max()
            print(
                f"  {algo:<13} {env_id:<26} batch {n:>3}: channels first {ms['channels first']:7.2f} ms, "
                f"channels last {ms['channels last']:7.2f} ms, {ms['channels first'] / ms['channels last']:4.2f}x; "
                f"Q differs by {first:.1e} after 1 update, {gap(agents, batches[0].obs):.1e} after "
                f"{args.blocks * len(batches) + 1} (|Q| up to {scale_q:.2g})"
            )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
