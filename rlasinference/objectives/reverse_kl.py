"""Reverse-KL (ELBO) policy objective (docs/concepts.md, "Policy improvement")."""

from __future__ import annotations

from torch import Tensor

from rlasinference.core.qfunction import QFunction, all_actions
from rlasinference.samplers.base import Sampler


def first_states(context: Tensor, per_state: int) -> Tensor:
    """The first ``ceil(B / per_state)`` rows of ``context``: a term that draws ``per_state``
    actions on each of them costs about one more batch of samples (``covering-kl``'s forward
    term, ``stein``'s mass-aware term)."""
    return context[: -(-context.shape[0] // per_state)]


def reverse_kl(context: Tensor, sampler: Sampler, critic: QFunction, tau: Tensor) -> dict[str, Tensor]:
    """``L = E_{a~pi}[tau * log pi(a|s) - min_k Q_k(s, a)]``, one reparameterised sample per state.

    Minimising L minimises KL(pi || exp((Q - V)/tau)) up to the constant log Z. For ``bound``
    samplers ``log pi`` is the path-space upper bound, so L bounds the KL from above.

    :returns: ``loss_policy`` (scalar, differentiable in the sampler's parameters) and
        ``log_density`` (``[B]``, detached), the entropy estimate the temperature update uses.
    """
    samples = sampler.sample(context, 1)
    assert samples.log_density is not None, "reverse-kl needs a sampler with a log-density"
    log_pi = samples.log_density[:, 0]  # [B]
    q = critic(context, samples.actions[:, 0]).min(dim=0).values  # [B]
    return {"loss_policy": (tau * log_pi - q).mean(), "log_density": log_pi.detach()}


def no_policy_loss(context: Tensor, sampler: Sampler, critic: QFunction, tau: Tensor) -> dict[str, Tensor]:
    """The objective of a sampler that is its own critic (MEow): nothing to add; the critic's soft
    Bellman loss already fits the sampler to exp(Q/tau). ``loss_policy`` is a constant 0."""
    return {"loss_policy": context.new_zeros(())}


def exact_kl(context: Tensor, sampler: Sampler, critic: QFunction, tau: Tensor) -> dict[str, Tensor]:
    """``L = sum_a pi(a|s) [tau log pi(a|s) - min_k Q_k(s, a)]`` over K discrete actions, exactly.

    The reverse KL to exp(Q/tau) with its expectation over actions summed rather than sampled
    (discrete SAC, Christodoulou 2019): no reparameterisation is needed, and the gradient is
    exact. ``log_density`` is the exact ``sum_a pi log pi`` per state (minus the entropy).
    """
    log_pi = sampler.log_probs(context)  # [B, K]
    q = all_actions(critic, context, sampler.action_dim).min(dim=0).values.detach()  # [B, K]
    pi = log_pi.exp()
    return {
        "loss_policy": (pi * (tau * log_pi - q)).sum(dim=-1).mean(),
        "log_density": (pi * log_pi).sum(dim=-1).detach(),
    }
