"""Wasserstein policy optimisation (Pfau et al., "Wasserstein Policy Optimization", ICML 2025), in
its maximum-entropy form.

WPO projects the Wasserstein gradient flow of the policy's objective onto the policy's
parameters: samples are not reparameterised; each contributes the change of its score
grad_x log pi_theta(x|s) in theta, weighted by the gradient of the objective's first variation at
the sample. For the free energy this project minimises, E_pi[tau log pi - Q] (the reverse KL to
exp(Q/tau) up to log Z), that gradient is g = grad_x (Q(s, a(x)) - tau log pi(a(x)|s)), the
velocity of the Wasserstein flow towards the Boltzmann target, and the update is

    delta theta  proportional to  E_{x ~ pi} [ grad_theta grad_x log pi_theta(x|s)^T g(x) ].

Here x is the sampler's value before the tanh squash (a = tanh x): the flow of the same KL in the
unbounded space, where KL is unchanged and the densities stay smooth at the action box's edges.
The Jacobian of the squash does not depend on theta, so grad_x log pi of the action's density
serves as the score. At tau = 0 this is Pfau et al.'s update without its Fisher preconditioner;
for a Gaussian, whose Fisher in the mean is 1/sigma^2, the mean then moves by E[g] / sigma^2 (the
deterministic policy gradient's direction, averaged over the policy's samples).

A ``bound`` sampler whose draws are paths with an exact joint density (the diffusion chain,
``PathDensity``) is moved on its paths (DiffWPO): the reverse KL of the path measures,
KL(p_theta(path) || exp(Q(s, tanh x_N)/tau) |tanh'(x_N)| B(x_0..x_{N-1} | x_N)), is the bound
that DiffSAC minimises, its first variation is tau * bound(path) - Q, and so

    g = grad_path (Q(s, tanh x_N) - tau bound(path)),   score = grad_path log p_theta(path),

with every step of the chain Gaussian, so the score is exact. The bound's direct dependence on
theta at a fixed path (through B's parameters, if any) is a plain gradient beside it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.samplers.base import Sampler, atanh_clipped


def wpo(context: Tensor, sampler: Sampler, critic: QFunction, tau: Tensor) -> dict[str, Tensor]:
    """``L = -E_x[grad_x log pi_theta(x|s) . stopgrad(grad_x (min_k Q_k(s, tanh x) - tau log pi))]``,
    one sample per state, drawn without reparameterisation; the gradient of L in theta is WPO's
    update direction (L's value is not an objective to report).

    :returns: ``loss_policy``, ``log_density`` ``[B]`` (detached: the temperature's entropy
        estimate) and ``flow_norm``, the mean norm of g (how fast the samples are asked to move).
    """
    with torch.no_grad():
        samples = sampler.sample(context, 1)
    if sampler.density == "bound":
        return _wpo_on_paths(context, sampler, critic, tau, samples.extras["path"][:, 0])
    x = samples.pre_tanh[:, 0] if samples.pre_tanh is not None else atanh_clipped(samples.actions[:, 0])
    x = x.detach().requires_grad_(True)
    actions = torch.tanh(x)
    log_pi = sampler.log_prob_pre_tanh(context, x.unsqueeze(1))[:, 0]  # [B], in theta and x
    q = critic(context, actions).min(dim=0).values  # [B], gradients reach x only
    return _projected_flow(x, q, tau, log_pi)


def _wpo_on_paths(context: Tensor, sampler: Any, critic: QFunction, tau: Tensor, path: Tensor) -> dict[str, Tensor]:
    """``wpo`` on stored chains ``path [B, N + 1, A]`` (x_0 .. x_N): the flow of the path measures'
    reverse KL, scores of the chain's exact joint density.

    bound = log_joint - log_back, so g = grad (Q + tau log_back) - tau score: the score, whose
    graph is kept for the update, serves the velocity too, and the network is run backward once
    in the path, not twice (DiffWPO's update 1.18x faster; docs/performance.md)."""
    batch, dim = path.shape[0], path.shape[-1]
    flat = path.reshape(batch, -1).detach().requires_grad_(True)
    log_joint, log_back = sampler.path_log_prob(context, flat)  # [B] each, in theta and the path
    q = critic(context, torch.tanh(flat[:, -dim:])).min(dim=0).values
    out = _projected_flow(flat, q + tau * log_back, tau, log_joint)
    # The bound also depends on theta at a fixed path where the noising kernel B has parameters
    # (the chain's step sizes, when learned, set both F and B): that part of the free energy's
    # gradient, tau E[d_theta (bound - log_joint)] = -tau E[d_theta log B], moves no sample, so it
    # is taken as it is.
    out["loss_policy"] = out["loss_policy"] - tau * log_back.mean()
    out["log_density"] = (log_joint - log_back).detach()
    return out


def _projected_flow(x: Tensor, q: Tensor, tau: Tensor, log_pi: Tensor) -> dict[str, Tensor]:
    """WPO's surrogate at the points ``x`` ``[B, D]`` (detached leaves): the velocity
    ``g = grad_x q - tau score``, no gradient, against the score ``grad_x log_pi``, a function of
    theta (so g = grad_x (q - tau log_pi), with the score taken once for both); ``log_pi`` is
    returned detached as ``log_density``."""
    (score,) = torch.autograd.grad(log_pi.sum(), x, create_graph=True)  # [B, D], a function of theta
    (q_grad,) = torch.autograd.grad(q.sum(), x, retain_graph=True)  # a caller's loss may reuse q's graph
    velocity = q_grad - tau * score.detach()
    loss = -(score * velocity).sum(dim=-1).mean()
    return {"loss_policy": loss, "log_density": log_pi.detach(), "flow_norm": velocity.norm(dim=-1).mean()}
