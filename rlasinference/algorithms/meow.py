"""MEow (Chao et al. 2024): maximum-entropy RL with an energy-based normalizing flow.

Recipe over the shared actor-critic: the ``energy-flow`` sampler is also the critic
(``energy-flow`` critic). With a fixed temperature tau,
    Q_k(s, a) = tau * log p~_k(a|s),   V_k(s) = tau * log Z_k(s)   (``closed-form`` value)
and the only loss is the soft Bellman regression of the flow against
r + gamma (1 - terminated) min_k Vbar_k(s'), Vbar from a Polyak-averaged copy of the flow; the
policy objective is ``none`` (policy improvement is implicit: pi = exp((Q - V)/tau)).
Defaults from the reference implementation: Adam 1e-3 on all flow parameters, gradient norm
clipped at 30, batch 256, 5000 random warm-up steps, tau and Polyak rate per environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.base import by_env_prefix
from rlasinference.algorithms.preset import Preset

# (tau, Polyak rate) of the reference implementation's tuned runs, by env name prefix
ENV_DEFAULTS = {
    "Hopper": (0.25, 5e-3),
    "HalfCheetah": (0.25, 3e-3),
    "Walker2d": (0.1, 5e-3),
    "Ant": (0.05, 1e-4),
    "Humanoid": (0.125, 5e-4),
}


@dataclass
class MEowConfig(ActorCriticConfig):
    """MEow's defaults; every field means what it does for SAC (``ActorCriticConfig``). The flow
    is the critic, so ``lr_policy`` and ``grad_clip_policy`` are the Bellman regression's;
    ``temperature`` and ``polyak`` default per env (``ENV_DEFAULTS``), 0.2 and 5e-3 elsewhere."""

    sampler: str = "energy-flow"
    objective: str = "none"
    value_estimator: str = "closed-form"
    critic: str = "energy-flow"
    learn_temperature: bool = False
    temperature: float = 0.2
    lr_policy: float = 1e-3
    grad_clip_policy: float = 30.0


def env_defaults(env_id: str) -> dict[str, Any]:
    found = by_env_prefix(env_id, ENV_DEFAULTS)
    return {} if found is None else {"temperature": found[0], "polyak": found[1]}


MEOW = Preset(
    name="meow",
    config_cls=MEowConfig,
    summary="MEow: an energy-based flow is policy and critic; closed-form soft value",
    temperature="fixed, per env",
    env_defaults=env_defaults,
)
