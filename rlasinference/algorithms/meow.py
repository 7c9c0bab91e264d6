"""MEow (Chao et al. 2024): maximum-entropy RL with an energy-based normalizing flow.

Recipe over the shared actor-critic: the ``energy-flow`` sampler is also the critic
(``energy-flow`` critic). With a fixed temperature tau,
    Q_k(s, a) = tau * log p~_k(a|s),   V_k(s) = tau * log Z_k(s)   (``closed-form`` value)
and the only loss is the soft Bellman regression of the flow against
r + gamma (1 - terminated) min_k Vbar_k(s'), Vbar from a Polyak-averaged copy of the flow; the
policy objective is ``none`` (policy improvement is implicit: pi = exp((Q - V)/tau)).
Defaults from the reference implementation: Adam 1e-3 on all flow parameters, gradient norm
clipped at 30, batch 256; tau, Polyak rate, random warm-up steps (5000 or 10000) and the bound
of the base's log sigma per environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.base import by_env_prefix
from rlasinference.algorithms.preset import Preset

# The reference implementation's tuned runs (its per-env tuner scripts), by env name prefix: tau,
# Polyak rate, uniform-random warm-up steps, and the upper bound of the base's log sigma (2.0 on
# HalfCheetah only, -0.3 elsewhere: the sampler's default)
ENV_DEFAULTS: dict[str, dict[str, Any]] = {
    "Hopper": {"temperature": 0.25, "polyak": 5e-3},
    "HalfCheetah": {"temperature": 0.25, "polyak": 3e-3, "learning_starts": 10000, "sampler.log_std_max": 2.0},
    "Walker2d": {"temperature": 0.1, "polyak": 5e-3, "learning_starts": 10000},
    "Ant": {"temperature": 0.05, "polyak": 1e-4},
    "Humanoid": {"temperature": 0.125, "polyak": 5e-4},
}


@dataclass
class MEowConfig(ActorCriticConfig):
    """MEow's defaults; every field means what it does for SAC (``ActorCriticConfig``). The flow
    is the critic, so ``lr_policy`` and ``grad_clip_policy`` are the Bellman regression's;
    ``temperature``, ``polyak``, ``learning_starts`` and the sampler's ``log_std_max`` default per
    env (``ENV_DEFAULTS``); elsewhere 0.2, 5e-3, 5000 and -0.3."""

    sampler: str = "energy-flow"
    objective: str = "none"
    value_estimator: str = "closed-form"
    critic: str = "energy-flow"
    learn_temperature: bool = False
    temperature: float = 0.2
    lr_policy: float = 1e-3
    grad_clip_policy: float = 30.0


def env_defaults(env_id: str) -> dict[str, Any]:
    return dict(by_env_prefix(env_id, ENV_DEFAULTS) or {})


MEOW = Preset(
    name="meow",
    config_cls=MEowConfig,
    summary="MEow: an energy-based flow is policy and critic; closed-form soft value",
    temperature="fixed, per env",
    env_defaults=env_defaults,
)
