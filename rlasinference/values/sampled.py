"""Sampled soft value, the estimator of SAC and its descendants."""

from __future__ import annotations

from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.samplers.base import Sampler, on_samples


def sampled_soft_value(
    next_context: Tensor,
    sampler: Sampler,
    target_critic: QFunction,
    tau: Tensor,
    n: int = 1,
) -> Tensor:
    """``V(s') = mean_i [min_k Qbar_k(s', a_i) - tau * log pi(a_i|s')]``, ``a_i ~ pi(.|s')``.

    With ``log pi`` the exact log-density this is unbiased for the soft value of pi; for a
    ``bound`` sampler it uses the upper bound on ``log pi``, so V is biased low. ``[B] <- [B, C]``.
    """
    samples = sampler.sample(next_context, n)
    assert samples.log_density is not None, "the sampled soft value needs a sampler with a log-density"
    q = on_samples(target_critic, next_context, samples.actions).min(dim=0).values  # [B, n]
    return (q - tau * samples.log_density).mean(dim=1)
