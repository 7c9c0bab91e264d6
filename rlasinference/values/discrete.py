"""Exact soft values over K discrete actions: no action is sampled, the sum over actions is taken."""

from __future__ import annotations

from torch import Tensor

from rlasinference.core.qfunction import QFunction, all_actions
from rlasinference.samplers.base import Sampler


def exact_soft_value(next_context: Tensor, sampler: Sampler, target_critic: QFunction, tau: Tensor) -> Tensor:
    """``V(s') = tau log sum_a exp(min_k Qbar_k(s', a) / tau)``: the soft value of the Boltzmann
    policy of the target critic itself, ``F_tau(Qbar)`` (soft Q-learning's backup; the sampler
    is not read). ``[B] <- [B, C]``."""
    q = all_actions(target_critic, next_context, sampler.action_dim).min(dim=0).values  # [B, K]
    return tau * (q / tau).logsumexp(dim=-1)


def expected_soft_value(next_context: Tensor, sampler: Sampler, target_critic: QFunction, tau: Tensor) -> Tensor:
    """``V(s') = sum_a pi(a|s') [min_k Qbar_k(s', a) - tau log pi(a|s')]``: the soft value of the
    sampler's policy, its expectation over actions taken exactly (discrete SAC's target). The
    sampler must give ``log_probs`` (a ``discrete`` sampler). ``[B] <- [B, C]``."""
    log_pi = sampler.log_probs(next_context)
    q = all_actions(target_critic, next_context, sampler.action_dim).min(dim=0).values
    return (log_pi.exp() * (q - tau * log_pi)).sum(dim=-1)
