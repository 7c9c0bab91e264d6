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

import math

import torch
from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.objectives.reverse_kl import first_states, reverse_kl
from rlasinference.samplers.base import Sampler, on_samples


def covering_kl(
    context: Tensor,
    sampler: Sampler,
    critic: QFunction,
    tau: Tensor,
    cover_samples: int = 16,
    cover_weight: float = 1.0,
    cover_uniform: float = 0.0,
) -> dict[str, Tensor]:
    """``reverse_kl + cover_weight * tau * (-sum_i stopgrad(w_i) log pi(stopgrad(a_i)))``.

    The forward term draws ``cover_samples`` actions on each of the first
    ``ceil(B / cover_samples)`` states (about one more batch of samples) and normalises the
    weights over each state's draws. A ``cover_uniform`` share of them is drawn uniformly on the
    action box instead (a defensive mixture: a mode the sampler has emptied still gets draws, where
    weights over the sampler's own draws never see it), weighted against the mixture's density
    ``(1 - s) pi + s 2^-d``, ``s`` the share drawn (``cover_uniform`` in whole draws, leaving at
    least one of the sampler's). ``forward_ess`` is the mean effective sample size of the weights
    as a fraction of ``cover_samples``: near 0 the estimate rests on one draw.
    """
    if cover_samples < 2:
        raise ValueError(f"covering-kl needs cover_samples >= 2, got {cover_samples}")
    if not 0.0 <= cover_uniform < 1.0:
        raise ValueError(f"covering-kl needs 0 <= cover_uniform < 1, got {cover_uniform}")
    out = reverse_kl(context, sampler, critic, tau)
    rows = first_states(context, cover_samples)
    uniform = min(round(cover_uniform * cover_samples), cover_samples - 1)  # at least one own draw
    with torch.no_grad():  # held fixed: their density is evaluated again below, with its graph
        drawn = sampler.sample(rows, cover_samples - uniform)
    assert drawn.log_density is not None, "covering-kl needs a sampler with a log-density"
    actions, path = drawn.actions, drawn.extras.get("path")
    log_pi, estimate = held_log_density(sampler, rows, actions, path)
    if uniform:
        box = torch.rand(rows.shape[0], uniform, actions.shape[-1], device=actions.device, dtype=actions.dtype)
        box = (box * 2.0 - 1.0).clamp(-1.0 + 1e-6, 1.0 - 1e-6)
        log_pi_u, estimate_u = held_log_density(sampler, rows, box, noised_path(sampler, rows, box))
        actions = torch.cat([actions, box], dim=1)
        log_pi, estimate = torch.cat([log_pi, log_pi_u], dim=1), torch.cat([estimate, estimate_u], dim=1)
        share = uniform / cover_samples  # the mixture the draws come from (the balance heuristic)
        log_box = estimate.new_tensor(math.log(share) - actions.shape[-1] * math.log(2.0))
        estimate = torch.logaddexp(estimate + math.log1p(-share), log_box)
    q = on_samples(critic, rows, actions).min(dim=0).values  # [R, n]
    weights = ((q / tau) - estimate.detach()).softmax(dim=1)  # [R, n]
    forward = -(weights * log_pi).sum(dim=1).mean()
    ess = 1.0 / weights.square().sum(dim=1)
    return {
        "loss_policy": out["loss_policy"] + cover_weight * tau * forward,
        "log_density": out["log_density"],
        "forward_ess": (ess / cover_samples).mean().detach(),
    }


def held_log_density(sampler: Sampler, context: Tensor, actions: Tensor, path: Tensor | None) -> tuple[Tensor, Tensor]:
    """``[R, n]`` each, for fixed draws: log pi differentiable in the sampler's parameters (the
    exact ``log_prob`` of the actions, or the joint log-density of the fixed chains,
    ``path_log_prob``), and the log-density the importance weights use (the same exact one, or
    the chain's path bound on log pi(a))."""
    if sampler.density == "exact":
        log_pi = sampler.log_prob(context, actions)
        return log_pi, log_pi.detach()
    path_log_prob = getattr(sampler, "path_log_prob", None)
    if path is None or path_log_prob is None:
        raise ValueError(f"covering-kl needs an exact density or a path density; {type(sampler).__name__} has neither")
    rows, n = actions.shape[:2]
    log_joint, log_back = path_log_prob(context.repeat_interleave(n, dim=0), path.detach().reshape(rows * n, -1))
    return log_joint.reshape(rows, n), (log_joint - log_back).detach().reshape(rows, n)


def noised_path(sampler: Sampler, context: Tensor, actions: Tensor) -> Tensor | None:
    """Chains ending at given actions, drawn from the sampler's fixed noising kernel
    (``noise_path``), for a path sampler; ``None`` for an exact one. With them the path bound is
    the exact importance weight of the joint target p(a) B(path | a) against the chain."""
    if sampler.density == "exact":
        return None
    noise_path = getattr(sampler, "noise_path", None)
    if noise_path is None:
        raise ValueError(f"covering-kl with cover_uniform needs {type(sampler).__name__}.noise_path")
    return noise_path(context, actions)
