"""Importance-sampled soft value with a uniform proposal, the estimator of soft Q-learning."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.samplers.base import Sampler, on_samples


def importance_soft_value(
    next_context: Tensor,
    sampler: Sampler,
    target_critic: QFunction,
    tau: Tensor,
    n: int = 16,
) -> Tensor:
    """``V(s') = tau * log mean_i exp(min_k Qbar_k(s', a_i) / tau) / q(a_i)``, ``a_i ~ U[-1, 1]^A``.

    ``q = 2^-A`` is the uniform proposal's density, so ``-log q = A log 2``. The estimate is
    consistent (it converges to ``tau log int exp(Q/tau) da`` as ``n`` grows) but biased low
    for finite ``n`` (Jensen). It never samples the policy, so it works with any sampler,
    including those without a density. ``[B] <- [B, C]``.
    """
    batch, dim = next_context.shape[0], sampler.action_dim
    actions = torch.rand(batch, n, dim, device=next_context.device, dtype=next_context.dtype) * 2.0 - 1.0
    q = on_samples(target_critic, next_context, actions).min(dim=0).values  # [B, n]
    return tau * (torch.logsumexp(q / tau, dim=1) - math.log(n) + dim * math.log(2.0))
