"""Peer baselines that a sweep can run beside the presets: ``sb3-sac``, Stable-Baselines3's SAC
at the settings of our ``sac`` preset (``pip install -e ".[bench]"``).

A peer trial writes a run directory that ``rlai compare`` reads like any other (config.yaml,
metrics.csv with the same evaluation protocol: deterministic actions, the same per-episode reset
seeds, the same env wrapper). It has no exact resume: an interrupted peer trial starts over.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rlasinference.core.errors import UserError
from rlasinference.training.metrics import eval_rows

PEERS = ("sb3-sac",)
# the keys a peer trial takes, with our sac preset's defaults (RunConfig / ActorCriticConfig)
DEFAULTS: dict[str, Any] = {
    "env": "Pendulum-v1",
    "seed": 0,
    "steps": 15000,
    "eval_every": 5000,
    "eval_episodes": 10,
    "learning_starts": 5000,
    "threads": 0,
    "device": "cpu",
}
MISSING_SB3 = "sb3-sac needs Stable-Baselines3: pip install 'rlasinference[bench]'"


def peer_config(overrides: dict[str, Any]) -> dict[str, Any]:
    """The resolved config of a peer trial; an unknown key is a one-line ``UserError``."""
    algo = overrides.get("algo")
    unknown = sorted(set(overrides) - set(DEFAULTS) - {"algo"})
    if unknown:
        raise UserError(f"{algo} takes only {', '.join(sorted(DEFAULTS))}; got {unknown[0]!r}")
    return {"algo": algo, **DEFAULTS, **{k: v for k, v in overrides.items() if k != "algo"}}


def peer_step(run_dir: Path) -> int | None:
    """The step of a peer run's last evaluation, ``None`` when it has none."""
    rows = eval_rows(run_dir)
    return int(float(rows[-1]["step"])) if rows else None


def sb3_sac(env: Any, learning_starts: int, seed: int, device: str = "cpu") -> Any:
    """Stable-Baselines3's SAC at our sac preset's settings: twin Q, 256x256, Adam 3e-4, batch
    256, Polyak 0.005, one update per env step, learned tau with target -dim(A)."""
    from stable_baselines3 import SAC

    return SAC(
        "MlpPolicy",
        env,
        learning_rate=3e-4,
        buffer_size=1_000_000,
        learning_starts=learning_starts,
        batch_size=256,
        tau=0.005,
        gamma=0.99,
        train_freq=1,
        gradient_steps=1,
        ent_coef="auto",
        policy_kwargs={"net_arch": [256, 256]},
        device=device,
        seed=seed,
        verbose=0,
    )


def run_sb3_sac(config: dict[str, Any], run_dir: Path, on_eval: Callable[[int, float], None] | None = None) -> float:
    """Train ``sb3_sac`` in ``run_dir`` and evaluate it like our runs."""
    try:
        import torch
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.logger import Logger
    except ImportError:
        raise UserError(MISSING_SB3) from None
    from rlasinference.envs import make_env
    from rlasinference.training.evaluation import EVAL_STREAM, episode_seed
    from rlasinference.training.metrics import MetricsWriter

    if run_dir.exists():  # no exact resume for peers: start over
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if config["threads"] > 0:
        torch.set_num_threads(config["threads"])
    env, _ = make_env(config["env"])
    eval_env, _ = make_env(config["env"])
    model = sb3_sac(env, config["learning_starts"], config["seed"], config["device"])
    # a logger with no outputs: SB3's default one makes an empty /tmp/SB3-<date> folder per run
    model.set_logger(Logger(folder=None, output_formats=[]))
    writer = MetricsWriter(run_dir, [])
    started = time.perf_counter()
    last = math.nan

    def evaluate(step: int) -> None:
        nonlocal last
        returns, lengths = [], []
        for j in range(config["eval_episodes"]):
            obs, _ = eval_env.reset(seed=episode_seed(config["seed"], EVAL_STREAM, j))
            total, length, done = 0.0, 0, False
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, _ = eval_env.step(action)
                total, length, done = total + float(reward), length + 1, terminated or truncated
            returns.append(total)
            lengths.append(length)
        last = float(np.mean(returns))
        row = {"time_s": time.perf_counter() - started, "eval_return": last, "eval_return_std": float(np.std(returns))}
        writer.write(step, row | {"eval_length": float(np.mean(lengths))})
        if on_eval is not None:
            on_eval(step, last)

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            step = self.num_timesteps
            if step % config["eval_every"] == 0 or step == config["steps"]:
                evaluate(step)
            return True

    try:
        model.learn(total_timesteps=config["steps"], callback=Evaluate())
    finally:
        writer.close()
    return last
