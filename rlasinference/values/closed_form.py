"""The closed-form soft value of an energy-based flow, MEow's estimator."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rlasinference.samplers.base import Sampler


def closed_form_value(next_context: Tensor, sampler: Sampler, target_critic: Any, tau: Tensor) -> Tensor:
    """``V(s') = tau * min_k log Zbar_k(s')``: the clipped double-V of the target flow, from its
    state-only terms, with no action sampled. ``target_critic`` must expose ``log_normalizer``
    (the ``energy-flow`` critic's target does). ``[B] <- [B, C]``."""
    return tau * target_critic.log_normalizer(next_context).min(dim=0).values
