"""Peer baselines that a sweep can run beside the presets (``pip install -e ".[bench]"``):
``sb3-sac``, Stable-Baselines3's SAC at the settings of our ``sac`` preset, ``sb3-ppo``, its
PPO at the settings of our ``ppo`` preset, and ``sb3-dqn``, its DQN (discrete actions) at
rl-baselines3-zoo's tuned settings, the schedule our ``soft-dqn`` preset takes on those envs.

A peer trial writes a run directory that ``rlai compare`` reads like any other (config.yaml,
metrics.csv with the same evaluation protocol: deterministic actions, the same per-episode reset
seeds, the same env wrapper). It has no exact resume: an interrupted peer trial starts over.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.ppo import REFERENCE_GAUSSIAN
from rlasinference.core.errors import UserError
from rlasinference.core.precision import flushed_subnormals
from rlasinference.training.config import RunConfig

PEERS = ("sb3-sac", "sb3-ppo", "sb3-dqn")
# the run keys a peer trial takes, at our runs' defaults (read from RunConfig, not copied)
RUN_DEFAULTS: dict[str, Any] = {
    k: getattr(RunConfig(), k) for k in ("env", "seed", "steps", "eval_every", "eval_episodes", "threads", "device")
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "sb3-sac": {**RUN_DEFAULTS, "learning_starts": ActorCriticConfig().learning_starts},
    # num_envs, clip_value None: our ppo preset's on that env; squash: SB3's own Gaussian (False)
    # or ours
    "sb3-ppo": {**RUN_DEFAULTS, "num_envs": None, "clip_value": None, "squash": False},
    "sb3-dqn": {**RUN_DEFAULTS},
}
#: what rl-baselines3-zoo's tuned DQN (hyperparams/dqn.yml) has beside ``soft_dqn.CLASSIC_CONTROL``,
#: by env name prefix: its target copy in env steps and its epsilon-greedy schedule (the
#: exploration our soft-dqn replaces with its Boltzmann policy)
ZOO_DQN: dict[str, dict[str, Any]] = {
    "CartPole": {"target_update_interval": 10, "exploration_fraction": 0.16, "exploration_final_eps": 0.04},
    "Acrobot": {"target_update_interval": 250, "exploration_fraction": 0.12, "exploration_final_eps": 0.1},
}


def peer_config(overrides: dict[str, Any]) -> dict[str, Any]:
    """The resolved config of a peer trial; an unknown key is a one-line ``UserError``."""
    algo = overrides.get("algo")
    defaults = DEFAULTS[str(algo)]
    # Stable-Baselines3 computes in float32, its only precision on the CPU: what a sweep asks of
    # every library's best precision (auto) or of float32 is what it does, and nothing to store
    overrides = dict(overrides)
    precision = overrides.pop("precision", "fp32")
    if precision not in ("auto", "fp32"):
        raise UserError(f"{algo} computes in float32 only (precision auto or fp32), got precision {precision!r}")
    unknown = sorted(set(overrides) - set(defaults) - {"algo"})
    if unknown:
        raise UserError(f"{algo} takes only {', '.join(sorted(defaults))}; got {unknown[0]!r}")
    config = {"algo": algo, **defaults, **{k: v for k, v in overrides.items() if k != "algo"}}
    if algo == "sb3-ppo":
        for key, allowed in (("squash", (bool,)), ("clip_value", (bool, type(None)))):
            if not isinstance(config[key], allowed):
                raise UserError(f"{algo}: {key} must be true or false, got {config[key]!r}")
        ppo_settings(str(config["env"]), config["num_envs"], config["clip_value"])  # fails here, before any run
    if algo == "sb3-dqn":
        zoo_dqn_settings(str(config["env"]))  # fails here, before any run
    return config


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


def zoo_dqn_settings(env_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``env_id``'s family's schedule (``soft_dqn.CLASSIC_CONTROL``) and the zoo's DQN-only keys
    (``ZOO_DQN``), or a one-line ``UserError`` for a family the zoo has not tuned."""
    from rlasinference.algorithms.base import by_env_prefix
    from rlasinference.algorithms.soft_dqn import CLASSIC_CONTROL

    name = env_id.partition("(")[0]  # the id without gymnasium.make's keywords
    settings, zoo = by_env_prefix(name, CLASSIC_CONTROL), by_env_prefix(name, ZOO_DQN)
    if settings is None or zoo is None:
        raise UserError(f"sb3-dqn has tuned settings for {', '.join(ZOO_DQN)} only, not {env_id!r}")
    return settings, zoo


def sb3_dqn(env: Any, env_id: str, seed: int, device: str = "cpu") -> Any:
    """Stable-Baselines3's DQN at rl-baselines3-zoo's tuned settings for ``env_id``'s family
    (``soft_dqn.CLASSIC_CONTROL``, the schedule our soft-dqn takes there, with the zoo's
    epsilon-greedy exploration); a family the zoo has not tuned is a one-line ``UserError``."""
    from stable_baselines3 import DQN

    settings, zoo = zoo_dqn_settings(env_id)
    return DQN(
        "MlpPolicy",
        env,
        learning_rate=settings["lr_policy"],
        buffer_size=settings["buffer_size"],
        learning_starts=settings["learning_starts"],
        batch_size=settings["batch_size"],
        gamma=0.99,
        train_freq=settings["update_every"],
        gradient_steps=settings["updates_per_step"],
        **zoo,
        policy_kwargs={"net_arch": list(settings["sampler.hidden"])},
        device=device,
        seed=seed,
        verbose=0,
    )


def ppo_settings(env_id: str, num_envs: int | None = None, clip_value: bool | None = None) -> dict[str, Any]:
    """Our ``ppo`` preset's config on ``env_id`` (its per-env defaults included, ``num_envs`` and
    ``clip_value`` where given), which the ``sb3-ppo`` peer copies; a bad value is a one-line
    ``UserError``."""
    from rlasinference.training.config import resolve

    overrides: dict[str, Any] = {"algo": "ppo", "env": env_id}
    if num_envs is not None:
        overrides["num_envs"] = num_envs
    if clip_value is not None:
        overrides["clip_value"] = clip_value
    return dataclasses.asdict(resolve(overrides).algo)


def sb3_ppo(
    env: Any, settings: dict[str, Any], steps: int, seed: int, device: str = "cpu", squash: bool = False
) -> Any:
    """Stable-Baselines3's PPO at our ppo preset's ``settings`` (``ppo_settings``): rollouts,
    epochs, minibatch size, clip ranges, GAE, discount, gradient norm, 64x64 tanh networks with
    orthogonal init and log-std 0, no entropy; ``env`` a ``VecNormalize`` (``sb3_ppo_env``).

    Two settings are translated so that the arithmetic is ours: SB3's value loss has no factor
    1/2 (``vf_coef`` is half our ``value_coef``), and its step-size schedule sees the progress
    after a rollout, so the schedule is written in rollouts (ours anneals from the full step size
    at the first update). SB3 clips the value by using the clipped prediction alone where we take
    the larger of the clipped and unclipped errors (CleanRL's form); docs/algorithms/ppo.md.

    SB3's PPO samples an unsquashed Gaussian and clips its actions to the box; ``squash`` gives
    it the tanh-squashed Gaussian of our preset instead (SB3's own ``SquashedDiagGaussian``, the
    one its SAC uses), so that the two differ in implementation only."""
    from stable_baselines3 import PPO

    n_steps, batch = settings["num_steps"], settings["num_steps"] * env.num_envs
    iterations, lr = math.ceil(steps / batch), settings["lr"]

    def schedule(progress_remaining: float) -> float:
        if not settings["anneal_lr"]:
            return float(lr)
        done = round((1.0 - progress_remaining) * steps / batch)  # rollouts collected so far
        return float(lr * min(1.0, max(0.0, 1.0 - (done - 1) / iterations)))

    clip = settings["clip"]
    return PPO(
        _squashed_policy() if squash else "MlpPolicy",
        env,
        learning_rate=schedule,
        n_steps=n_steps,
        batch_size=batch // settings["minibatches"],
        n_epochs=settings["epochs"],
        gamma=settings["gamma"],
        gae_lambda=settings["gae_lambda"],
        clip_range=clip,
        clip_range_vf=clip if settings["clip_value"] else None,
        normalize_advantage=settings["norm_adv"],
        ent_coef=0.0,
        vf_coef=settings["value_coef"] / 2,
        max_grad_norm=settings["max_grad_norm"] if settings["max_grad_norm"] > 0 else math.inf,
        target_kl=settings["target_kl"],
        policy_kwargs={
            "net_arch": {"pi": list(REFERENCE_GAUSSIAN["hidden"]), "vf": list(settings["value_hidden"])},
            "log_std_init": float(REFERENCE_GAUSSIAN["log_std_init"]),
        },
        device=device,
        seed=seed,
        verbose=0,
    )


def _squashed_policy() -> type:
    """SB3's actor-critic MLP policy with a tanh-squashed Gaussian: SB3 builds the Gaussian's
    layers in ``_build``, and the squashed distribution shares them (it subclasses the Gaussian).
    Its log-density inverts a stored action with a clipped atanh, as ours does; its entropy is
    ``None``, which PPO accepts (our settings have no entropy bonus)."""
    from stable_baselines3.common.distributions import SquashedDiagGaussianDistribution
    from stable_baselines3.common.policies import ActorCriticPolicy
    from stable_baselines3.common.preprocessing import get_action_dim

    class SquashedPolicy(ActorCriticPolicy):
        def _build(self, lr_schedule: Any) -> None:
            self.action_dist = SquashedDiagGaussianDistribution(get_action_dim(self.action_space))
            super()._build(lr_schedule)

    return SquashedPolicy


def sb3_ppo_env(env_id: str, settings: dict[str, Any]) -> Any:
    """``settings["num_envs"]`` envs of ``env_id`` in SB3's ``DummyVecEnv`` under its
    ``VecNormalize``, with our normalisation settings."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from rlasinference.envs import make_env

    envs = DummyVecEnv([lambda: make_env(env_id)[0] for _ in range(settings["num_envs"])])
    return VecNormalize(
        envs,
        norm_obs=settings["norm_obs"],
        norm_reward=settings["norm_reward"],
        clip_obs=settings["clip_obs"],
        clip_reward=settings["clip_reward"],
        gamma=settings["gamma"],
    )


def run_peer(
    config: dict[str, Any],
    run_dir: Path,
    on_eval: Callable[[int, float], None] | None = None,
    command: str | None = None,
) -> float:
    """Train the peer of ``config["algo"]`` in ``run_dir`` and evaluate it like our runs; like
    them it writes versions.yaml and command.txt (``command``, default this process's)."""
    try:
        import torch
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.logger import Logger
    except ImportError:
        raise UserError(f"{config['algo']} needs Stable-Baselines3: pip install 'rlasinference[bench]'") from None
    from rlasinference.envs import make_env
    from rlasinference.training.evaluation import run_episodes
    from rlasinference.training.loggers import make_loggers
    from rlasinference.training.metrics import MetricsWriter
    from rlasinference.training.run_dir import record_command, write_versions

    if run_dir.exists():  # no exact resume for peers: start over
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if config["threads"] > 0:
        torch.set_num_threads(config["threads"])
    # as our runs do (run_dir.py): the library versions, the machine, and what started the run
    write_versions(run_dir, ("stable-baselines3",))
    record_command(run_dir, command)
    eval_env, _ = make_env(config["env"])
    on_policy = config["algo"] == "sb3-ppo"
    if on_policy:
        settings = ppo_settings(config["env"], config["num_envs"], config["clip_value"])
        vec = sb3_ppo_env(config["env"], settings)
        model = sb3_ppo(vec, settings, config["steps"], config["seed"], config["device"], config["squash"])
        prepare = vec.normalize_obs  # evaluation sees observations as training did (no update)
    elif config["algo"] == "sb3-dqn":  # SB3 acts on the env's own Discrete space: our env reads K-vectors
        from rlasinference.envs.make import make_gym_env

        model = sb3_dqn(make_gym_env(config["env"]), config["env"], config["seed"], config["device"])
        choices = int(model.action_space.n)
        prepare = None

        def act(obs: np.ndarray) -> np.ndarray:
            return np.eye(choices, dtype=np.float32)[int(model.predict(obs, deterministic=True)[0])]
    else:
        model = sb3_sac(make_env(config["env"])[0], config["learning_starts"], config["seed"], config["device"])
        prepare = None
    # a logger with no outputs: SB3's default one makes an empty /tmp/SB3-<date> folder per run
    model.set_logger(Logger(folder=None, output_formats=[]))

    if config["algo"] != "sb3-dqn":

        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(obs if prepare is None else prepare(obs), deterministic=True)[0]

    writer, loggers = MetricsWriter(run_dir, []), make_loggers(config.get("log", "tensorboard"))
    started = time.perf_counter()
    last = math.nan

    def evaluate(step: int) -> None:
        nonlocal last
        result = run_episodes(act, eval_env, config["eval_episodes"], config["seed"])  # as our runs are evaluated
        last = result.mean
        row = {"time_s": time.perf_counter() - started, "eval_return": last, "eval_return_std": result.std}
        row |= {"eval_length": float(np.mean(result.lengths))}
        writer.write(step, row)
        for logger in loggers:
            logger.on_log(step, row)
        if on_eval is not None:
            on_eval(step, last)

    evaluated = [0]

    class Evaluate(BaseCallback):
        """Off-policy: every ``eval_every`` steps. On-policy: after the update of each rollout that
        crossed a multiple of ``eval_every`` (SB3 updates after ``on_rollout_end``, so this is the
        next ``on_rollout_start``, and the end of ``learn``), as our on-policy trainer does."""

        def _on_step(self) -> bool:
            step = self.num_timesteps
            if not on_policy and (step % config["eval_every"] == 0 or step == config["steps"]):
                evaluate(step)
            return True

        def _on_rollout_start(self) -> None:
            step = self.num_timesteps
            if on_policy and step // config["eval_every"] > evaluated[0] // config["eval_every"]:
                evaluated[0] = step
                evaluate(step)

    try:
        for logger in loggers:
            logger.on_start(run_dir, 0)
        with flushed_subnormals():  # as our runs train: the peer runs at the same CPU setting
            model.learn(total_timesteps=config["steps"], callback=Evaluate())
        if on_policy and evaluated[0] != model.num_timesteps:
            evaluate(model.num_timesteps)
    finally:
        writer.close()
        for logger in loggers:
            logger.on_close()
    return last
