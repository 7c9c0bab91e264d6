"""How well a fitted sampler matches exp(Q/tau): KL, log Z, MMD and mode coverage.

Ground truth: in 1-2 D a midpoint grid on the box gives log Z by quadrature and exact samples
(a grid cell drawn by its mass, then a uniform point inside it); in higher dimensions the
target's own exact sampler, where it has one.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from rlasinference.samplers.base import Sampler
from rlasinference.workbench.targets import Target

GRID = {1: 4000, 2: 400}  # points per axis of the quadrature grid


def grid(dim: int) -> tuple[Tensor, float]:
    """Midpoints ``[G^dim, dim]`` of a regular grid on (-1, 1)^dim and the log cell volume."""
    g = GRID[dim]
    axis = -1 + (torch.arange(g, dtype=torch.float64) + 0.5) * (2 / g)
    points = torch.cartesian_prod(*([axis] * dim)).reshape(-1, dim)
    return points, dim * math.log(2 / g)


def exact_samples_from_grid(points: Tensor, log_w: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """Draw grid cells by their mass, then a uniform point inside each cell."""
    half = 1.0 / GRID[points.shape[1]]
    idx = torch.multinomial(torch.softmax(log_w, 0), n, replacement=True, generator=generator)
    jitter = (torch.rand(n, points.shape[1], generator=generator, dtype=points.dtype) * 2 - 1) * half
    return points[idx] + jitter


def mmd2(x: Tensor, y: Tensor) -> float:
    """Unbiased squared MMD with an RBF kernel, bandwidth by the median heuristic."""
    xy = torch.cat([x, y])
    d2 = torch.cdist(xy, xy).square()
    bandwidth = d2[d2 > 0].median()
    k = torch.exp(-d2 / bandwidth)
    n, m = len(x), len(y)
    kxx = (k[:n, :n].sum() - k[:n, :n].diagonal().sum()) / (n * (n - 1))
    kyy = (k[n:, n:].sum() - k[n:, n:].diagonal().sum()) / (m * (m - 1))
    return float(kxx + kyy - 2 * k[:n, n:].mean())


def mode_masses(points: Tensor, weights: Tensor, modes: Tensor) -> Tensor:
    """Mass per mode, each point assigned to its nearest mode: ``[m]``."""
    nearest = torch.cdist(points.to(modes), modes).argmin(dim=1)
    return torch.zeros(len(modes), dtype=weights.dtype).index_add_(0, nearest, weights)


@torch.no_grad()
def evaluate_fit(sampler: Sampler, target: Target, tau: float, n: int = 4000, seed: int = 0) -> dict[str, Any]:
    """The metrics of ``metrics.json``; ``None`` where a metric does not apply."""
    generator = torch.Generator().manual_seed(seed)
    device = next(sampler.parameters()).device
    out = sampler.sample(torch.zeros(1, 0, device=device), n)
    actions = out.actions[0].double().cpu()
    log_q = None if out.log_density is None else out.log_density[0].double().cpu()
    q_over_tau = target.q(actions.float()).double() / tau
    d = target.dim
    result: dict[str, Any] = {"target": target.name, "dim": d, "tau": tau, "samples": n}

    exact: Tensor | None = None
    log_z: float | None = None
    exact_mode_mass: Tensor | None = None
    if d in GRID:
        points, log_cell = grid(d)
        log_w = target.q(points.float()).double() / tau
        log_z = float(torch.logsumexp(log_w, 0) + log_cell)
        exact = exact_samples_from_grid(points, log_w, n, generator)
        if target.modes is not None:
            exact_mode_mass = mode_masses(points, torch.softmax(log_w, 0), target.modes.double())
    elif target.exact_samples is not None:
        exact = target.exact_samples(n, tau).double()
        if target.modes is not None:
            exact_mode_mass = mode_masses(exact, torch.full((n,), 1.0 / n, dtype=torch.float64), target.modes.double())
    result["log_z_grid"] = log_z

    # reverse KL (exact density) or its upper bound (bound samplers), with log Z by quadrature
    kl = None if log_z is None or log_q is None else float((log_q - (q_over_tau - log_z)).mean())
    result["kl"] = kl if sampler.density == "exact" else None
    result["kl_bound"] = kl if sampler.density == "bound" else None

    # importance-sampled log Z: the sampler as proposal where its density is exact, else uniform
    if sampler.density == "exact" and log_q is not None:
        log_w_is, proposal = q_over_tau - log_q, "sampler"
    else:
        uniform = torch.rand(n, d, generator=generator, dtype=torch.float64) * 2 - 1
        log_w_is, proposal = target.q(uniform.float()).double() / tau + d * math.log(2.0), "uniform"
    result["log_z_is"] = float(torch.logsumexp(log_w_is, 0) - math.log(n))
    w = torch.softmax(log_w_is, 0)
    result["log_z_is_ess"] = float(1.0 / w.square().sum())  # effective sample size, out of n
    result["log_z_is_proposal"] = proposal

    m = min(n, 2000)
    result["mmd"] = None if exact is None else mmd2(actions[:m], exact[:m])

    if exact_mode_mass is not None and target.modes is not None:
        sampled = mode_masses(actions, torch.full((n,), 1.0 / n, dtype=torch.float64), target.modes.double())
        covered = sampled >= 0.25 * exact_mode_mass
        result["mode_coverage"] = float(covered.double().mean())
        result["modes_covered"] = int(covered.sum())
        result["modes"] = len(target.modes)
    else:
        result["mode_coverage"] = result["modes_covered"] = result["modes"] = None
    result["_exact"] = exact  # for the plot; dropped before writing
    result["_actions"] = actions
    return result
