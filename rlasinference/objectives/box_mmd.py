"""A mass-aware term that needs no density of the sampler: a weighted MMD to uniform box draws.

SVGD moves particles by the target's score alone, and the score of separated modes does not
depend on their weights: once the kernel no longer reaches across the gaps, every split of the
particles between the modes is a fixed point, and light or narrow modes empty during the fit
(docs/workbench.md, "Why reverse-KL fits lose modes"). This term supplies the missing signal
from the target's values instead of the sampler's density. Per state it draws ``m`` actions
uniformly on the box, weighs them ``w_j = softmax_j(Q(a_j) / tau)`` (self-normalised importance
weights: the box's density is constant), and minimises the squared maximum mean discrepancy
between the sampler's own ``m`` reparameterised draws ``x_i`` and that weighted set:

    MMD^2 = mean_{i,i'} k(x_i, x_i') - 2 sum_j w_j mean_i k(x_i, a_j)   (+ a term free of x)

with ``k`` a sum of RBF kernels of widths ``SCALES`` on the action box. Draws are pulled towards
the weighted points within a kernel's width and pushed apart from each other, so mass flows to a
mode whose weighted points outweigh the sampler's draws there, whether or not any draw lies in
the valley between modes. The expected minimiser is the mean measure of the self-normalised
estimate, which tends to exp(Q/tau) as the weights' effective sample size grows; in many action
dimensions uniform draws seldom land on a mode and the estimate rests on a few of them, which is
why a fit decays the term to 0 once at tau (``rlasinference.workbench.fit``). Pyro's and
normflows' MMD helpers take unweighted sample sets, so the weighted form is written here.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlasinference.core.qfunction import QFunction
from rlasinference.objectives.reverse_kl import first_states
from rlasinference.samplers.base import Sampler, on_samples

#: the kernels' widths on the action box (-1, 1)^d: a mode's own width up to the gaps between modes
SCALES = (0.03, 0.1, 0.3)


def rbf_sum(x: Tensor, y: Tensor, scales: tuple[float, ...] = SCALES) -> Tensor:
    """``[R, I, D], [R, J, D] -> [R, I, J]``: the sum over ``scales`` of exp(-|x - y|^2 / (2 s^2)),
    the distances by one matrix product (a third faster than through the differences)."""
    dist_sq = x.square().sum(-1, keepdim=True) + y.square().sum(-1).unsqueeze(1) - 2.0 * x @ y.transpose(1, 2)
    rates = torch.tensor([-0.5 / s**2 for s in scales], dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    return torch.exp(dist_sq.clamp_min(0.0).unsqueeze(0) * rates).sum(0)


def box_mmd(context: Tensor, sampler: Sampler, critic: QFunction, tau: Tensor, samples: int) -> Tensor:
    """The squared MMD (less its constant) between ``samples`` draws of the sampler and as many
    uniform box draws weighted by exp(Q/tau), on each of the first ``ceil(B / samples)`` states,
    averaged over them; differentiable in the sampler's parameters through its draws."""
    rows = first_states(context, samples)
    own = sampler.sample(rows, samples).actions  # [R, m, A]
    box = torch.rand_like(own.detach()) * 2.0 - 1.0
    with torch.no_grad():
        weights = (on_samples(critic, rows, box).min(dim=0).values / tau).softmax(dim=1)  # [R, m]
    self_term = rbf_sum(own, own).mean(dim=(1, 2))
    cross = (rbf_sum(own, box) * weights.unsqueeze(1)).sum(dim=2).mean(dim=1)
    return (self_term - 2.0 * cross).mean()
