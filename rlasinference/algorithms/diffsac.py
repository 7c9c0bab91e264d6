"""DiffSAC (Sanokowski, Patil, Knoll 2025, "A Diffusion Model Framework for Maximum Entropy RL").

Recipe: SAC with a diffusion-chain sampler. Its path term, an estimate of an upper bound on
log pi, replaces log pi everywhere SAC uses it: in the reverse-KL actor loss (which then bounds
the KL from above), in the sampled soft value of the critic target, and in the temperature's dual
loss (target entropy -dim(A) on the bound's entropy estimate). Critic, optimiser and schedule
are SAC's: twin Q with the clipped min, Polyak 0.005, Adam 3e-4, batch 256.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.dime import REFERENCE_CHAIN
from rlasinference.algorithms.preset import Preset


@dataclass
class DiffSACConfig(ActorCriticConfig):
    """SAC's fields with the diffusion sampler."""

    sampler: str = "diffusion"


DIFFSAC = Preset(
    name="diffsac",
    config_cls=DiffSACConfig,
    summary="DiffSAC: SAC with a diffusion-chain policy and its path bound in actor and target",
    temperature="learned, H_bar = -dim(A) on the bound's entropy",
    sampler_options=REFERENCE_CHAIN,  # the chain this project has measured DiffSAC with (docs page)
)
