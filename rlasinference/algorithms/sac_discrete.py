"""Discrete SAC (Christodoulou 2019, "Soft Actor-Critic for Discrete Action Settings").

Recipe: a ``softmax`` actor, the ``exact-kl`` objective sum_a pi(a|s)(tau log pi(a|s) - Q(s, a))
(no sampling: the expectation over K actions is a sum), the ``expected`` soft value
sum_a pi(a|s')(Qbar(s', a) - tau log pi(a|s')), the ``discrete`` twin critic (one output per
action) and a learned tau. Defaults from CleanRL's ``sac_atari.py``: Adam 3e-4 with epsilon 1e-4
everywhere, batch 64, 20,000 random steps, an update every 4 env steps, the critic first, a hard
target copy every 8,000 env steps (2,000 updates), tau from 1, target entropy 0.89 log K.

On CartPole and Acrobot the schedule is rl-baselines3-zoo's tuned DQN (``soft_dqn.CLASSIC_CONTROL``)
at SAC's step sizes, on MinAtar the MinAtar paper's DQN schedule, and on both the target entropy
0.5 log K. At 0.89 log K tau grew without bound on CartPole (to about 45 with Q near 600, the
policy near uniform) and on MinAtar Breakout (26 by 43,000 steps, still rising): once rewards are
small beside tau's entropy bonus, an action that ends the episode sooner is worse by tau times
the entropy it forgoes, so the policy stays away from uniform by an amount tau does not change,
and a target near log K is never met (measured, docs/algorithms/sac-discrete.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.base import by_env_prefix
from rlasinference.algorithms.preset import Preset
from rlasinference.algorithms.soft_dqn import CLASSIC_CONTROL, MINATAR, is_atari, is_minatar
from rlasinference.core.checks import Range, ranged
from rlasinference.samplers import Sampler


@dataclass
class SACDiscreteConfig(ActorCriticConfig):
    """Discrete SAC's defaults; every field means what it does for SAC (``ActorCriticConfig``).

    :param target_entropy_scale: with ``target_entropy`` ``None``, the target entropy is this
        share of the uniform policy's, ``target_entropy_scale * log K``.
    """

    sampler: str = "softmax"
    objective: str = "exact-kl"
    value_estimator: str = "expected"
    critic: str = "discrete"
    batch_size: int = 64
    learning_starts: int = 20_000
    update_every: int = 4
    polyak: float = 1.0
    target_update_every: int = 2_000
    critic_first: bool = True
    adam_eps: float = 1e-4
    target_entropy_scale: float = ranged(0.89, Range(0, 1, low_open=True))

    def default_target_entropy(self, sampler: Sampler, action_dim: int) -> float:
        """``target_entropy_scale * log K``: a share of the uniform policy's entropy."""
        return self.target_entropy_scale * math.log(action_dim)


SAC_STEP_SIZES = ("lr_policy", "lr_critic")


def env_defaults(env_id: str) -> dict[str, Any]:
    if is_atari(env_id):  # the reference's networks: 512 units after the Nature torso, its layer_init
        return {"sampler.hidden": [512], "critic_hidden": [512], "sampler.init": "kaiming", "critic.init": "kaiming"}
    # MinAtar: the MinAtar paper's schedule and networks, at SAC's step sizes
    schedule: dict[str, Any] | None = MINATAR if is_minatar(env_id) else by_env_prefix(env_id, CLASSIC_CONTROL)
    if schedule is None:
        return {}
    # 0.5 log K: an action that ends the episode sooner forgoes entropy in proportion to tau, so
    # near-uniform targets are out of reach and tau grows without bound (module docstring)
    return {k: v for k, v in schedule.items() if k not in SAC_STEP_SIZES} | {"target_entropy_scale": 0.5}


SAC_DISCRETE = Preset(
    name="sac-discrete",
    config_cls=SACDiscreteConfig,
    summary="Discrete SAC: softmax actor, exact expectations over K actions, learned tau",
    temperature="learned, H_bar = 0.89 log K (0.5 log K on classic control and MinAtar)",
    env_defaults=env_defaults,
)
