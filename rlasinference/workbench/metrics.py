"""How well a fitted sampler matches exp(Q/tau): KL, log Z, MMD and mode coverage.

Ground truth (the "reference"): in 1-2 D a midpoint grid on the box gives log Z by quadrature and
exact samples (a grid cell drawn by its mass, then a uniform point inside it); in higher
dimensions the target's own exact sampler, where it has one at this tau; otherwise adaptive
importance sampling (a mixture of Gaussians at the target's modes and a uniform part, refitted
twice to the weighted samples), with its effective sample size reported and the metrics left
out when that is below ``MIN_ESS``.

Mode mass: a point belongs to its nearest mode if it lies within that mode's radius, the
distance that holds 95% of the reference's mass assigned to the mode; mass elsewhere belongs to
no mode. So a sampler spread thinly over the box does not "cover" narrow modes.
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


MODE_QUANTILE = 0.95  # the share of a mode's reference mass inside its radius
MIN_ESS = 200  # below this effective sample size an importance-sampled reference is not used


def _nearest_mode(points: Tensor, modes: Tensor) -> tuple[Tensor, Tensor]:
    """Each point's distance to its nearest mode, and that mode's index."""
    return torch.cdist(points.to(modes), modes).min(dim=1)


def _masses_within(dist: Tensor, nearest: Tensor, weights: Tensor, radii: Tensor) -> Tensor:
    inside = dist <= radii.to(dist)[nearest]
    return torch.zeros(len(radii), dtype=weights.dtype).index_add_(0, nearest[inside], weights[inside])


def mode_regions(points: Tensor, weights: Tensor, modes: Tensor) -> tuple[Tensor, Tensor]:
    """Of reference points: per mode, the radius within which ``MODE_QUANTILE`` of the mass
    nearest to it lies (0 for a mode no mass is nearest to), and the mass within it. ``[m]`` each."""
    dist, nearest = _nearest_mode(points, modes)
    radii = torch.zeros(len(modes), dtype=modes.dtype)
    for k in range(len(modes)):
        mine = nearest == k
        if not mine.any():
            continue
        d, order = dist[mine].sort()
        cum = weights[mine][order].cumsum(0)
        radii[k] = d[int(torch.searchsorted(cum, MODE_QUANTILE * cum[-1]).clamp(max=len(d) - 1))]
    return radii, _masses_within(dist, nearest, weights, radii)


def mode_masses(points: Tensor, weights: Tensor, modes: Tensor, radii: Tensor) -> Tensor:
    """Mass per mode: each point counts for its nearest mode if within that mode's radius. ``[m]``."""
    return _masses_within(*_nearest_mode(points, modes), weights, radii)


def importance_reference(
    target: Target, tau: float, n: int, generator: torch.Generator
) -> tuple[Tensor, Tensor, float]:
    """Weighted samples ``(points [N, d], weights [N] summing to 1, ESS)`` of exp(Q/tau) on the
    box by adaptive importance sampling: a proposal of isotropic Gaussians at the target's modes
    (80%, scale refitted twice to the weighted samples near each mode) and the uniform density on
    the box (20%); points outside the box weigh nothing."""
    d = target.dim
    modes = None if target.modes is None else target.modes.double()
    scales = None if modes is None else torch.full((len(modes),), 0.25, dtype=torch.float64)
    log_uniform = -d * math.log(2.0)
    for _ in range(3):
        x = torch.rand(n, d, generator=generator, dtype=torch.float64) * 2 - 1
        log_q = torch.full((n,), log_uniform, dtype=torch.float64)
        if modes is not None and scales is not None:
            k = torch.randint(len(modes), (n,), generator=generator)
            from_modes = torch.rand(n, generator=generator) < 0.8
            x = torch.where(
                from_modes[:, None],
                modes[k] + scales[k, None] * torch.randn(n, d, generator=generator, dtype=torch.float64),
                x,
            )
            d2 = torch.cdist(x, modes).square()  # [n, m]
            log_gauss = -0.5 * d2 / scales.square() - d * torch.log(scales * math.sqrt(2 * math.pi))
            log_mix = torch.logsumexp(log_gauss, dim=1) - math.log(len(modes))
            log_q = torch.logaddexp(math.log(0.8) + log_mix, math.log(0.2) + log_q)
        inside = (x.abs() < 1).all(dim=1)
        log_w = torch.where(
            inside, target.q(x.float()).double() / tau - log_q, torch.tensor(-math.inf, dtype=torch.float64)
        )
        w = torch.softmax(log_w, 0)
        if modes is None or scales is None:
            break
        nearest = torch.cdist(x, modes).argmin(dim=1)
        for j in range(len(modes)):  # refit each mode's scale to the weighted spread around it
            mine = (nearest == j) & inside
            mass = w[mine].sum()
            if mass > 1e-6:
                spread = (w[mine] * (x[mine] - modes[j]).square().sum(1)).sum() / (mass * d)
                scales[j] = spread.sqrt().clamp(0.01, 1.0)
    return x, w, float(1.0 / w.square().sum())


def evaluate_categorical(sampler: Sampler, target: Target, tau: float, n: int = 4000) -> dict[str, Any]:
    """A categorical target's metrics, exact: KL(pi || p) and KL(p || pi) with p = softmax(Q/tau),
    total variation, both entropies, and the share of the target's modes that hold at least half
    their target mass; ``_actions`` (``n`` one-hot draws) and ``_exact`` (p) for the plot."""
    assert target.values is not None
    device = next(sampler.parameters()).device
    log_pi = sampler.log_probs(torch.zeros(1, 0, device=device))[0].double().cpu()
    draws = sampler.sample(torch.zeros(1, 0, device=device), n).actions[0].cpu()
    log_p = torch.log_softmax(target.values.double() / tau, 0)
    pi, p = log_pi.exp(), log_p.exp()
    peaks = target.modes.argmax(-1) if target.modes is not None else torch.zeros(0, dtype=torch.long)
    held = [float(pi[i] >= 0.5 * p[i]) for i in peaks.tolist()]
    return {
        "target": target.name,
        "dim": target.dim,
        "tau": tau,
        "samples": n,
        "reference": "exact",
        "kl": float((pi * (log_pi - log_p)).sum()),
        "kl_forward": float((p * (log_p - log_pi)).sum()),
        "tv": float(0.5 * (pi - p).abs().sum()),
        "entropy": float(-(pi * log_pi).sum()),
        "target_entropy": float(-(p * log_p).sum()),
        "log_z": float(torch.logsumexp(target.values.double() / tau, 0)),
        "mode_coverage": sum(held) / len(held) if held else None,
        "_actions": draws,
        "_exact": p,
    }


@torch.no_grad()
def evaluate_fit(sampler: Sampler, target: Target, tau: float, n: int = 4000, seed: int = 0) -> dict[str, Any]:
    """The metrics of ``metrics.json``; ``None`` where a metric does not apply."""
    if target.space == "discrete":
        return evaluate_categorical(sampler, target, tau, n)
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
    reference: tuple[Tensor, Tensor] | None = None  # weighted points of exp(Q/tau)
    if d in GRID:
        points, log_cell = grid(d)
        log_w = target.q(points.float()).double() / tau
        log_z = float(torch.logsumexp(log_w, 0) + log_cell)
        exact = exact_samples_from_grid(points, log_w, n, generator)
        reference, result["reference"], result["reference_ess"] = (points, torch.softmax(log_w, 0)), "grid", None
    elif target.exact_samples is not None and (found := target.exact_samples(n, tau)) is not None:
        exact = found.double()
        reference, result["reference"], result["reference_ess"] = (
            (exact, torch.full((n,), 1.0 / n, dtype=torch.float64)),
            "exact",
            None,
        )
    else:
        points, weights, ess = importance_reference(target, tau, 20_000, generator)
        result["reference"], result["reference_ess"] = "importance", round(ess, 1)
        if ess >= MIN_ESS:
            reference = (points, weights)
            exact = points[torch.multinomial(weights, n, replacement=True, generator=generator)]
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

    keys = ("mode_coverage", "modes_covered", "modes", "mass_coverage", "mode_mass", "target_mode_mass")
    result.update(dict.fromkeys(keys))
    if reference is not None and target.modes is not None:
        modes = target.modes.double()
        radii, wanted = mode_regions(*reference, modes)
        got = mode_masses(actions, torch.full((n,), 1.0 / n, dtype=torch.float64), modes, radii)
        covered = got >= 0.25 * wanted
        result["mode_coverage"] = float(covered.double().mean())
        result["modes_covered"] = int(covered.sum())
        result["modes"] = len(modes)
        # how much of the target's per-mode mass the sampler matches: 1 only if every mode gets
        # its share (a sampler with 5% on a mode that should have 30% loses 25 points)
        result["mass_coverage"] = float(torch.minimum(got, wanted).sum() / wanted.sum())
        result["mode_mass"] = [round(float(v), 4) for v in got]
        result["target_mode_mass"] = [round(float(v), 4) for v in wanted]
    result["_exact"] = exact  # for the plot; dropped before writing
    result["_actions"] = actions
    return result
