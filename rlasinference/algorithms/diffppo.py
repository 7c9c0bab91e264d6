"""DiffPPO (Sanokowski, Patil, Knoll 2025, "A Diffusion Model Framework for Maximum Entropy RL").

Recipe: PPO with a diffusion-chain policy. The importance ratio is taken on the exact joint
density of the whole stored denoising path (prior and every Gaussian Euler-Maruyama step: the
action is a function of the path, so this is PPO on the path as the action), and the entropy is
the path bound's: -tau (log F - log B) - log |tanh'| of the path, added to every reward (the soft
return), with tau learned by dual descent towards H_bar = -dim(A) as in DiffSAC. The chain
follows the reference code of the paper's later version (8 denoising steps, prior N(0, 3^2),
256x256 drift network); the PPO settings are the ``ppo`` preset's, so the two differ only in
the policy. What this project chose where the paper's text was not available, and how the
reference code differs (it treats every denoising step as a transition of an augmented MDP),
is on docs/algorithms/diffppo.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlasinference.algorithms.dime import REFERENCE_CHAIN
from rlasinference.algorithms.on_policy import OnPolicyConfig
from rlasinference.algorithms.ppo import pendulum_defaults
from rlasinference.algorithms.preset import Preset

#: the denoising chain of the reference code's PPO configuration: DiffSAC's with 8 steps and a
#: prior of standard deviation 3
DIFFPPO_CHAIN = {**REFERENCE_CHAIN, "steps": 8, "prior_std": 3.0}


@dataclass
class DiffPPOConfig(OnPolicyConfig):
    """PPO's fields with the diffusion sampler, the path bound's entropy in every reward and a
    learned temperature."""

    sampler: str = "diffusion"
    entropy: str = "reward"
    temperature: float = 0.01
    learn_temperature: bool = True


DIFFPPO = Preset(
    name="diffppo",
    config_cls=DiffPPOConfig,
    summary="DiffPPO: PPO with a diffusion-chain policy, the ratio on its denoising path, the path bound's entropy",
    temperature="learned, H_bar = -dim(A) on the bound's entropy; initial 0.01",
    sampler_options=DIFFPPO_CHAIN,
    env_defaults=pendulum_defaults,
)
