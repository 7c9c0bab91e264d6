"""WPO (Pfau et al., "Wasserstein Policy Optimization", ICML 2025), maximum-entropy form.

Recipe: SAC's parts and defaults (tanh-Gaussian, twin critic, sampled soft value, learned tau)
with the ``wpo`` objective: the policy follows the Wasserstein gradient flow of the reverse KL to
exp(Q/tau), projected onto its parameters (``objectives/wasserstein.py``). From the reference
(Acme's WPO): the projection's Fisher preconditioner, the Gaussian's natural-gradient adaptor
(``sampler.natural_gradient``). What it keeps from the
paper and what it does not is on docs/algorithms/wpo.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlasinference.algorithms.actor_critic import ActorCriticConfig
from rlasinference.algorithms.preset import Preset


@dataclass
class WPOConfig(ActorCriticConfig):
    """SAC's defaults with the ``wpo`` objective."""

    objective: str = "wpo"


WPO = Preset(
    name="wpo",
    config_cls=WPOConfig,
    summary="Wasserstein policy optimisation: samples' scores moved along grad_a (Q - tau log pi)",
    temperature="learned, H_bar = -dim(A)",
    sampler_options={"natural_gradient": True},
)
