"""DSAC-T (Duan et al., "Distributional Soft Actor-Critic with Three Refinements", 2025).

Recipe: SAC's tanh-Gaussian sampler, reverse KL and learned tau over the ``dsac`` critic
(Gaussian return distributions with expected-value substituting, twin value-distribution
learning and variance-based gradient adjustment). Defaults from the reference code
(Jingliang-Duan/DSAC-v2, ``example_train/dsacv2_mlp_mujoco_offserial.py``): 3x256 GELU networks
for actor and critic, Adam 1e-4 (actor and critic) and 3e-4 (tau), tau from e (log tau 1),
target entropy -dim(A), batch 256, 10,000 warm-up steps whose actions the untrained policy draws
(``warmup_policy``), the actor, tau and the targets every second update, Polyak rate 0.005, the
policy's log sigma in [-20, 0.5].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.preset import Preset


@dataclass
class DSACTConfig(ActorCriticConfig):
    """DSAC-T's defaults; every field means what it does for SAC (``ActorCriticConfig``)."""

    critic: str = "dsac"
    critic_hidden: list[int] = field(default_factory=lambda: [256, 256, 256])
    lr_policy: float = 1e-4
    lr_critic: float = 1e-4
    lr_temperature: float = 3e-4
    temperature: float = math.e
    learning_starts: int = 10_000
    warmup_policy: bool = True
    policy_delay: int = 2
    target_update_every: int = 2


DSAC_T = Preset(
    name="dsac-t",
    config_cls=DSACTConfig,
    summary="DSAC-T: SAC over Gaussian return distributions with three refinements",
    temperature="learned, H_bar = -dim(A), from e",
    sampler_options={"hidden": [256, 256, 256], "activation": "gelu", "log_std_max": 0.5},
)
