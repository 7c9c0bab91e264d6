"""Reverse KL plus a self-normalised forward KL: the same minimiser, and a gradient that moves
mass between separated modes.

Reverse KL alone is blind to how mass is shared between modes that do not touch: a surplus inside
one mode shifts ``tau log pi - Q`` there by a constant, which has no gradient, so the shares
drift with the noise of the fit and a light or narrow mode can empty (docs/workbench.md). The
forward KL, KL(p || pi) with p = exp(Q/tau) / Z, is mass-covering: its gradient
``-E_p[grad log pi]`` pulls density up wherever the target has more mass than the sampler.
Without samples of p it is estimated from the sampler's own draws, weighted by
``w_i = softmax_i(Q(a_i)/tau - log pi(a_i))`` over the draws of each state (self-normalised
importance sampling), at the draws held fixed. Both terms vanish only at pi = p.

For a ``bound`` sampler with a ``path_log_prob`` (the diffusion chain) the same is done in path
space: ``log pi`` in the weights is the path bound ``log F(path) - log B(path | a)``, so the
weights are the exact importance weights of the joint target p(a) B(path | a) against the chain,
and the forward term raises the chain's log-density of the weighted paths.
"""

from __future__ import annotations

from torch import Tensor

from rlasinference.objectives.reverse_kl import Critic, reverse_kl
from rlasinference.samplers.base import Sampler, on_samples


def covering_kl(
    context: Tensor, sampler: Sampler, critic: Critic, tau: Tensor, cover_samples: int = 16, cover_weight: float = 1.0
) -> dict[str, Tensor]:
    """``reverse_kl + cover_weight * tau * (-sum_i stopgrad(w_i) log pi(stopgrad(a_i)))``.

    The forward term draws ``cover_samples`` actions on each of the first
    ``ceil(B / cover_samples)`` states (about one more batch of samples) and normalises the
    weights over each state's draws. ``forward_ess`` is the mean effective sample size of the
    weights as a fraction of ``cover_samples``: near 0 the estimate rests on a single draw.
    """
    if cover_samples < 2:
        raise ValueError(f"covering-kl needs cover_samples >= 2, got {cover_samples}")
    out = reverse_kl(context, sampler, critic, tau)
    rows = context[: -(-context.shape[0] // cover_samples)]
    drawn = sampler.sample(rows, cover_samples)
    assert drawn.log_density is not None, "covering-kl needs a sampler with a log-density"
    q = on_samples(critic, rows, drawn.actions.detach()).min(dim=0).values  # [R, n]
    weights = ((q / tau) - drawn.log_density.detach()).softmax(dim=1)  # [R, n]
    log_pi = held_log_density(sampler, rows, drawn.actions.detach(), drawn.extras.get("path"))
    forward = -(weights * log_pi).sum(dim=1).mean()
    ess = 1.0 / weights.square().sum(dim=1)
    return {
        "loss_policy": out["loss_policy"] + cover_weight * tau * forward,
        "log_density": out["log_density"],
        "forward_ess": (ess / cover_samples).mean().detach(),
    }


def held_log_density(sampler: Sampler, context: Tensor, actions: Tensor, path: Tensor | None) -> Tensor:
    """``[R, n]``: log pi of fixed draws, differentiable in the sampler's parameters: the exact
    ``log_prob`` of the actions, or the joint log-density of the fixed chains (``path_log_prob``)."""
    if sampler.density == "exact":
        return sampler.log_prob(context, actions)
    path_log_prob = getattr(sampler, "path_log_prob", None)
    if path is None or path_log_prob is None:
        raise ValueError(f"covering-kl needs an exact density or a path density; {type(sampler).__name__} has neither")
    rows, n = actions.shape[:2]
    log_joint, _ = path_log_prob(context.repeat_interleave(n, dim=0), path.detach().reshape(rows * n, -1))
    return log_joint.reshape(rows, n)
