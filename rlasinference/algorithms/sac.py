"""SAC (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications").

Recipe: tanh-Gaussian sampler + reverse-KL objective (exact log pi) + sampled soft value +
twin Q with the clipped min + learned tau with target entropy -dim(A). Defaults follow the
reference: Adam 3e-4 everywhere, 256x256 MLPs, batch 256, one update per env step,
Polyak rate 0.005, gamma 0.99, uniform-random warm-up (5000 steps here).
"""

from __future__ import annotations

from dataclasses import dataclass

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.preset import Preset


@dataclass
class SACConfig(ActorCriticConfig):
    """SAC uses the actor-critic defaults unchanged."""


SAC = Preset(
    name="sac",
    config_cls=SACConfig,
    summary="Soft Actor-Critic: tanh-Gaussian, reverse KL, learned tau",
    temperature="learned, H_bar = -dim(A)",
)
