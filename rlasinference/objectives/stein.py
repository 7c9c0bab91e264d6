"""Amortized Stein variational gradient (soft Q-learning's policy update, docs/samplers/svgd.md).

Everything happens in the pre-tanh space u, where a = tanh(u). The target density there is

    log p(u | s) = Q(s, tanh u) / tau + sum_d log(1 - tanh(u_d)^2)   (+ const),

the Boltzmann density of the action pushed back through the tanh (the log-Jacobian term is
what makes p a density over u). Its gradient, the kernel and the Stein direction are all taken
with respect to u, and the direction is pushed into the sampler through u. Mixing spaces, e.g.
adding the Jacobian term but differentiating and moving particles in a-space, fits the wrong
density; ``tests/test_objectives.py`` checks that a sampler already at the target sees a zero
direction.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.objectives.box_mmd import box_mmd
from rlasinference.samplers.base import Sampler, atanh_clipped, on_samples, tanh_log_abs_det


def rbf_kernel(fixed: Tensor, updated: Tensor) -> tuple[Tensor, Tensor]:
    """Isotropic RBF kernel between two particle sets per state, median-heuristic bandwidth.

    ``fixed [B, J, D], updated [B, I, D] -> (k [B, J, I], grad_{fixed} k [B, J, I, D])`` with
    ``k(x, y) = exp(-|x - y|^2 / h)``, ``h = median_{j,i} |x_j - y_i|^2 / log J`` per state
    (Liu & Wang 2016; the soft Q-learning reference). Pyro's ``RBFSteinKernel`` does not fit
    here: it takes one unbatched particle set ``(N, D)`` (a Python loop over 256 states per
    update), pairs the set with itself rather than fixed with updated particles, and uses a
    per-dimension rather than isotropic bandwidth.
    """
    diff = fixed.unsqueeze(2) - updated.unsqueeze(1)  # [B, J, I, D]
    dist_sq = diff.square().sum(-1)  # [B, J, I]
    median = dist_sq.flatten(1).median(dim=1).values  # [B]
    h = (median / math.log(fixed.shape[1])).clamp_min(1e-8).detach()[:, None, None]
    k = torch.exp(-dist_sq / h)
    return k, -2.0 * diff / h.unsqueeze(-1) * k.unsqueeze(-1)


def target_score(context: Tensor, u: Tensor, critic: QFunction, tau: Tensor) -> Tensor:
    """``grad_u log p(u|s)`` for the pre-tanh particles ``u [B, J, A]`` (see the module docstring).

    The clipped double-Q (min over the critic's members) is the target's energy."""
    with torch.enable_grad():
        u = u.detach().requires_grad_(True)
        q = on_samples(critic, context, torch.tanh(u)).min(dim=0).values  # [B, J]
        log_p = q / tau + tanh_log_abs_det(u).sum(-1)
        (score,) = torch.autograd.grad(log_p.sum(), u)
    return score


def stein_direction(fixed: Tensor, updated: Tensor, score: Tensor) -> Tensor:
    """``Delta u_i = mean_j [k(u_j, u_i) grad log p(u_j) + grad_{u_j} k(u_j, u_i)]``, ``[B, I, D]``."""
    k, grad_k = rbf_kernel(fixed, updated)
    return (k.unsqueeze(-1) * score.unsqueeze(2) + grad_k).mean(dim=1)


def stein(
    context: Tensor,
    sampler: Sampler,
    critic: QFunction,
    tau: Tensor,
    stein_particles: int = 16,
    stein_fixed: int = 8,
    stein_cover: float = 0.0,
    cover_samples: int = 16,
) -> dict[str, Tensor | None]:
    """Amortized SVGD: ``stein_particles`` per state, ``stein_fixed`` of them (detached) carry the target's
    score and the kernel's repulsion, the rest are moved along the Stein direction.

    ``stein_cover`` > 0 adds that weight times ``box_mmd`` over ``cover_samples`` draws per state:
    the score alone cannot tell how mass is split between separated modes, the target's values on
    uniform box draws can (``rlasinference.objectives.box_mmd``; 0, soft Q-learning's update,
    outside a workbench fit).

    The surrogate ``-mean <stopgrad(Delta u_i), u_i>`` has gradient ``-Delta u_i`` with respect
    to the particles, so a descent step moves phi such that f_phi(s, xi_i) follows Delta u_i
    (Haarnoja et al. 2017, eq. 13-14). Its value is not a loss to watch; ``stein_norm``
    (the mean length of Delta u) goes to 0 as the particles approach the target.
    """
    fixed = stein_fixed
    if not 0 < fixed < stein_particles:
        raise ValueError(f"need 0 < stein_fixed < stein_particles, got {stein_fixed} and {stein_particles}")
    samples = sampler.sample(context, stein_particles)
    u = samples.pre_tanh if samples.pre_tanh is not None else atanh_clipped(samples.actions)
    u_fixed, u_updated = u[:, :fixed].detach(), u[:, fixed:]
    direction = stein_direction(u_fixed, u_updated.detach(), target_score(context, u_fixed, critic, tau))
    loss = -(direction * u_updated).sum(-1).mean()
    if stein_cover > 0.0:
        loss = loss + stein_cover * box_mmd(context, sampler, critic, tau, cover_samples)
    return {"loss_policy": loss, "log_density": None, "stein_norm": direction.norm(dim=-1).mean()}
