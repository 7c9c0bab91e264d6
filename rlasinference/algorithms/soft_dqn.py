"""Soft DQN: soft Q-learning on K discrete actions (Haarnoja et al. 2017, "Reinforcement
Learning with Deep Energy-Based Policies", whose discrete case is a DQN with the soft backup;
Schulman et al. 2017, "Equivalence Between Policy Gradients and Soft Q-Learning").

Recipe: the ``softmax`` sampler is the critic (``softmax-q``): its network is Q(s, .), the
policy is softmax(Q/tau) exactly, no actor, objective ``none``; the soft Bellman target is
r + gamma tau log sum_a exp(Qbar(s', a)/tau) (``exact`` value) from a target copy. Defaults from
CleanRL's ``dqn.py`` (its classic-control DQN): Adam 2.5e-4, 120x84 network, batch 128, a buffer
of 10,000, 10,000 random steps, an update every 10 env steps, a hard target copy every 500 env
steps (50 updates); exploration is the Boltzmann policy itself, not epsilon-greedy. On
CartPole and Acrobot the schedule is rl-baselines3-zoo's tuned DQN (``CLASSIC_CONTROL``), which
the ``sb3-dqn`` peer runs too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.base import by_env_prefix
from rlasinference.algorithms.preset import Preset

#: rl-baselines3-zoo's tuned DQN (hyperparams/dqn.yml) in this project's keys, by env name prefix.
#: SB3 counts its target copies in env steps; here they count updates: CartPole's copy every 10
#: env steps with 128 updates every 256 steps is a copy after each block of 128 updates, and
#: Acrobot's 250 env steps at one update per env step are 250 updates.
CLASSIC_CONTROL: dict[str, dict[str, Any]] = {
    "CartPole": {"lr_policy": 2.3e-3, "lr_critic": 2.3e-3, "batch_size": 64, "buffer_size": 100_000,
                 "learning_starts": 1000, "update_every": 256, "updates_per_step": 128, "target_update_every": 128,
                 "sampler.hidden": [256, 256], "critic_hidden": [256, 256]},
    "Acrobot": {"lr_policy": 6.3e-4, "lr_critic": 6.3e-4, "batch_size": 128, "buffer_size": 50_000,
                "learning_starts": 0, "update_every": 4, "updates_per_step": 4, "target_update_every": 250,
                "sampler.hidden": [256, 256], "critic_hidden": [256, 256]},
}  # fmt: skip


@dataclass
class SoftDQNConfig(ActorCriticConfig):
    """Soft DQN's defaults; every field means what it does for SAC (``ActorCriticConfig``). The
    sampler is the critic, so ``lr_policy`` and ``grad_clip_policy`` are the Bellman regression's
    and ``ensemble_size`` is 1 (DQN's single Q)."""

    sampler: str = "softmax"
    objective: str = "none"
    value_estimator: str = "exact"
    critic: str = "softmax-q"
    ensemble_size: int = 1
    learn_temperature: bool = False
    temperature: float = 0.01
    lr_policy: float = 2.5e-4
    batch_size: int = 128
    buffer_size: int = 10_000
    learning_starts: int = 10_000
    update_every: int = 10
    polyak: float = 1.0
    target_update_every: int = 50


#: Atari (an ``ALE/`` or ``NoFrameskip`` id): CleanRL's ``dqn_atari.py`` (Adam 1e-4, batch 32, a buffer of 1M, an
#: update every 4 env steps, a target copy every 1,000 env steps = 250 updates, 512 units after
#: the Nature torso) with ``sac_atari.py``'s 20,000 random steps for a 100k budget (dqn_atari's
#: 80,000 are for 10M), and tau 0.03, soft DQN's in Vieillard et al. 2020 (Munchausen RL)
ATARI: dict[str, Any] = {
    "lr_policy": 1e-4, "batch_size": 32, "buffer_size": 1_000_000, "learning_starts": 20_000, "update_every": 4,
    "target_update_every": 250,
    "temperature": 0.03, "sampler.hidden": [512],
}  # fmt: skip


def is_atari(env_id: str) -> bool:
    """An ALE env id (``ALE/Pong-v5``, ``PongNoFrameskip-v4``)."""
    name = env_id.rsplit(":", 1)[-1]
    return name.startswith("ALE/") or "NoFrameskip" in name


#: MinAtar (a ``MinAtar/`` id): the MinAtar paper's DQN (Young and Tian 2019: batch 32, a buffer
#: of 100,000, 5,000 random steps, an update every env step, a target copy every 1,000 updates,
#: 128 units after its one-convolution torso) with Adam at its step size 2.5e-4 (the paper: RMSprop)
MINATAR: dict[str, Any] = {
    "lr_policy": 2.5e-4, "lr_critic": 2.5e-4, "batch_size": 32, "buffer_size": 100_000, "learning_starts": 5000,
    "update_every": 1, "target_update_every": 1000, "sampler.hidden": [128], "critic_hidden": [128],
}  # fmt: skip


def is_minatar(env_id: str) -> bool:
    return env_id.rsplit(":", 1)[-1].startswith("MinAtar/")


def env_defaults(env_id: str) -> dict[str, Any]:
    if is_atari(env_id):
        return dict(ATARI)
    if is_minatar(env_id):
        return dict(MINATAR)
    return dict(by_env_prefix(env_id, CLASSIC_CONTROL) or {})


SOFT_DQN = Preset(
    name="soft-dqn",
    config_cls=SoftDQNConfig,
    summary="Soft DQN: the policy is softmax(Q/tau) exactly; discrete actions, no actor",
    temperature="fixed",
    sampler_options={"hidden": [120, 84]},
    env_defaults=env_defaults,
)
