"""Soft Q-learning (Haarnoja et al. 2017, "Reinforcement Learning with Deep Energy-Based Policies").

Recipe: amortized SVGD sampler + Stein objective + importance-sampled soft value (uniform
proposal, 16 actions) + twin Q with the clipped min + fixed temperature. Defaults from the
reference implementation: Adam 3e-4, 128x128 networks, batch 128, 16 particles per state
(8 fixed, 8 updated), target critic copied every 1000 updates, tau = 1 with a reward scale per
environment (scale c at tau is the policy of tau / c; both are settable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.base import by_env_prefix
from rlasinference.algorithms.preset import Preset

# reward scale of the reference's runs, by env name prefix (tau = 1); Pendulum-class tasks: ours
REWARD_SCALES = {
    "Swimmer": 30.0,
    "Hopper": 30.0,
    "HalfCheetah": 30.0,
    "Walker2d": 10.0,
    "Ant": 300.0,
    "Humanoid": 100.0,
}
# the reference's multi-goal example: batch 64, 32 particles (16 fixed), reward scale 0.1
MULTIGOAL = {"batch_size": 64, "stein_particles": 32, "stein_fixed": 16, "reward_scale": 0.1, "learning_starts": 100}


@dataclass
class SQLConfig(ActorCriticConfig):
    """SQL's defaults; every field means what it does for SAC (``ActorCriticConfig``)."""

    sampler: str = "svgd"
    objective: str = "stein"
    value_estimator: str = "importance"
    critic_hidden: list[int] = field(default_factory=lambda: [128, 128])
    batch_size: int = 128
    learning_starts: int = 1000
    polyak: float = 1.0
    target_update_every: int = 1000
    learn_temperature: bool = False
    temperature: float = 1.0
    reward_scale: float = 10.0


def env_defaults(env_id: str) -> dict[str, Any]:
    table = {"MultiGoal": MULTIGOAL} | {prefix: {"reward_scale": s} for prefix, s in REWARD_SCALES.items()}
    return dict(by_env_prefix(env_id, table) or {})


SQL = Preset(
    name="sql",
    config_cls=SQLConfig,
    summary="Soft Q-learning: amortized SVGD particles, Stein objective, importance-sampled value",
    temperature="fixed (tau = 1, reward scale per env)",
    # the reference's sampling network: 128x128, noise of the action's size added to its output
    sampler_options={"hidden": [128, 128], "noise_skip": True, "noise_dim": 0},
    env_defaults=env_defaults,
)
