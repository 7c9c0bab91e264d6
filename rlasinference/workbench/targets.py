"""Built-in Boltzmann targets on the action box (-1, 1)^d, categorical targets on K points, and
user targets.

A target is a function ``Q: [n, d] -> [n]``; the density is exp(Q(a)/tau) on the box. ``modes``
(``[m, d]``) are the points mode coverage is measured at. A categorical target (``values``: Q of
each of its K points) reads one-hot actions ``[n, K]``: exp(Q/tau) is then a softmax, and every
divergence to it is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import normflows as nf
import torch
from torch import Tensor

from rlasinference.core.errors import UserError, described
from rlasinference.core.registry import Registry, load_object


@dataclass(frozen=True)
class Target:
    """A toy Boltzmann target exp(Q(a)/tau) on (-1, 1)^d.

    :param name: the ``--target`` name.
    :param dim: d.
    :param q: ``a [n, d] -> Q(a) [n]``.
    :param modes: the target's modes ``[m, d]``, for mode coverage.
    :param exact_samples: optional ``(n, tau) -> [n, d]`` exact draws, or ``None`` at a tau it
        cannot draw at, for targets in more than two dimensions (1-2 D targets use a grid).
    """

    name: str
    dim: int
    q: Callable[[Tensor], Tensor]
    modes: Tensor | None = None
    exact_samples: Callable[[int, float], Tensor | None] | None = None
    values: Tensor | None = None

    @property
    def space(self) -> str:
        """``discrete`` for a categorical target (``values``: Q of each point), else ``box``."""
        return "box" if self.values is None else "discrete"


def categorical(name: str, values: Tensor) -> Target:
    """exp(Q/tau) on K points with Q = ``values``: actions are one-hot (the largest entry names
    the point); its modes are the points whose Q exceeds both neighbours' (on a line)."""
    k = len(values)

    def q(a: Tensor) -> Tensor:
        return values.to(a)[a.argmax(-1)] + 0.0 * a.sum(-1)  # (a graph through a: the fit's guide asks)

    padded = torch.cat([values[:1] - 1, values, values[-1:] - 1])
    peaks = torch.nonzero((values > padded[:-2]) & (values > padded[2:])).flatten()
    return Target(name, k, q, torch.eye(k)[peaks], None, values)


def cat5() -> Target:
    """Five points, two of them near-tied: does the fit split the mass as exp(Q/tau) does?"""
    return categorical("cat5", torch.tensor([1.0, 0.0, -1.0, 0.9, 0.2]))


def cat64() -> Target:
    """Sixty-four points, three peaks of unequal height on a line: a wide softmax with light modes."""
    x = torch.linspace(-1, 1, 64)
    bumps = [(-0.6, 2.0), (0.1, 1.4), (0.7, 1.0)]
    values = torch.stack([h * torch.exp(-0.5 * ((x - c) / 0.08) ** 2) for c, h in bumps]).max(0).values
    return categorical("cat64", values)


def _mixture(centers: Tensor, std: float) -> Callable[[Tensor], Tensor]:
    def q(a: Tensor) -> Tensor:
        d2 = (a.unsqueeze(1) - centers.to(a)).square().sum(-1)  # [n, m]
        return torch.logsumexp(-0.5 * d2 / std**2, dim=1)

    return q


def ring8() -> Target:
    angles = torch.arange(8) * (2 * math.pi / 8)
    centers = 0.6 * torch.stack([angles.cos(), angles.sin()], dim=1)
    return Target("ring8", 2, _mixture(centers, 0.08), centers)


def square4() -> Target:
    centers = torch.tensor([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    return Target("square4", 2, _mixture(centers, 0.1), centers)


def banana() -> Target:
    def q(a: Tensor) -> Tensor:
        a1, a2 = a[:, 0], a[:, 1]
        return -0.5 * (a1 / 0.4).square() - 0.5 * ((a2 - (1.6 * a1.square() - 0.6)) / 0.1).square()

    return Target("banana", 2, q, None)


def moons() -> Target:
    # normflows' two-moons density on [-3, 3]^2, mapped onto the box by a = z / 3
    two_moons = nf.distributions.TwoMoons()

    def q(a: Tensor) -> Tensor:
        return two_moons.log_prob(3.0 * a)

    return Target("moons", 2, q, torch.tensor([[2 / 3, 0.0], [-2 / 3, 0.0]]))


def gauss6d() -> Target:
    idx = torch.arange(6)
    cov = 0.3**2 * 0.6 ** (idx[:, None] - idx[None, :]).abs().double()
    precision = torch.linalg.inv(cov).float()
    chol = torch.linalg.cholesky(cov).float()

    def q(a: Tensor) -> Tensor:
        return -0.5 * ((a @ precision.to(a)) * a).sum(-1)

    def exact(n: int, tau: float) -> Tensor:
        # exp(Q/tau) is N(0, tau * cov) restricted to the box: rejection sampling
        out: list[Tensor] = []
        while sum(len(x) for x in out) < n:
            x = (torch.randn(2 * n, 6) @ chol.T) * math.sqrt(tau)
            out.append(x[(x.abs() < 1).all(dim=1)])
        return torch.cat(out)[:n]

    return Target("gauss6d", 6, q, torch.zeros(1, 6), exact)


def gaussian_mixture(name: str, centers: Tensor, stds: Tensor | float, weights: Tensor | None = None) -> Target:
    """exp(Q) = sum_k w_k N(a; mu_k, sigma_k^2 I) on the box (normalised components, so ``w`` is
    each mode's share of the mass before the box cuts it). Exact samples at tau = 1 by rejection
    (the mixture's draws that land in the box); at other temperatures the workbench's importance
    sampling stands in."""
    m, d = centers.shape
    stds_t = torch.as_tensor(stds, dtype=torch.float32).expand(m).clone()
    w = torch.full((m,), 1.0 / m) if weights is None else weights / weights.sum()
    log_norm = torch.log(w) - d * torch.log(stds_t * math.sqrt(2 * math.pi))

    def q(a: Tensor) -> Tensor:
        d2 = (a.unsqueeze(1) - centers.to(a)).square().sum(-1)  # [n, m]
        return torch.logsumexp(log_norm.to(a) - 0.5 * d2 / stds_t.to(a).square(), dim=1)

    def exact(n: int, tau: float) -> Tensor | None:
        if tau != 1.0:
            return None
        out: list[Tensor] = []
        while sum(len(x) for x in out) < n:
            k = torch.multinomial(w, 2 * n, replacement=True)
            x = centers[k] + stds_t[k, None] * torch.randn(2 * n, d)
            out.append(x[(x.abs() < 1).all(dim=1)])
        return torch.cat(out)[:n]

    return Target(name, d, q, centers, exact if d > 2 else None)


def unequal3() -> Target:
    """Three separated modes with weights 0.5 / 0.3 / 0.2: does the sampler keep the light ones?"""
    centers = torch.tensor([[-0.5, -0.4], [0.5, -0.4], [0.0, 0.5]])
    return gaussian_mixture("unequal3", centers, 0.1, torch.tensor([0.5, 0.3, 0.2]))


def widths4() -> Target:
    """Four equal-weight modes of standard deviations 0.04, 0.08, 0.12 and 0.2."""
    centers = torch.tensor([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    return gaussian_mixture("widths4", centers, torch.tensor([0.04, 0.08, 0.12, 0.2]))


def edges3() -> Target:
    """Modes near the box's boundary (where tanh saturates), unequal weights and widths."""
    centers = torch.tensor([[0.88, 0.88], [-0.9, 0.1], [0.05, -0.9]])
    return gaussian_mixture("edges3", centers, torch.tensor([0.05, 0.04, 0.06]), torch.tensor([0.4, 0.35, 0.25]))


def grid16() -> Target:
    """Sixteen narrow modes on a 4 x 4 grid: many modes."""
    axis = torch.tensor([-0.72, -0.24, 0.24, 0.72])
    centers = torch.cartesian_prod(axis, axis)
    return gaussian_mixture("grid16", centers, 0.05)


def ring12() -> Target:
    """Twelve narrow modes on a circle: many modes, close neighbours."""
    angles = torch.arange(12) * (2 * math.pi / 12)
    return gaussian_mixture("ring12", 0.65 * torch.stack([angles.cos(), angles.sin()], dim=1), 0.05)


def ridge() -> Target:
    """A thin curved ridge: a circle of radius 0.6 and width 0.03 (no modes)."""

    def q(a: Tensor) -> Tensor:
        return -0.5 * ((a.norm(dim=-1) - 0.6) / 0.03).square()

    return Target("ridge", 2, q, None)


def funnel() -> Target:
    """Neal's funnel on the box: v = 3 a_1 ~ N(0, 1.5^2), x = 3 a_2 | v ~ N(0, e^v): a neck
    much thinner than its mouth."""

    def q(a: Tensor) -> Tensor:
        v, x = 3 * a[:, 0], 3 * a[:, 1]
        return -0.5 * (v / 1.5).square() - 0.5 * x.square() * torch.exp(-v) - 0.5 * v

    return Target("funnel", 2, q, None)


def mix3d() -> Target:
    """Four modes at the corners of a tetrahedron in 3-D."""
    centers = 0.5 * torch.tensor([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    return gaussian_mixture("mix3d", centers, 0.12)


def mix6d() -> Target:
    """Three modes in 6-D with weights 0.5 / 0.3 / 0.2."""
    centers = torch.zeros(3, 6)
    centers[0, :3], centers[1, 3:], centers[2] = 0.5, 0.5, -0.4
    return gaussian_mixture("mix6d", centers, 0.15, torch.tensor([0.5, 0.3, 0.2]))


BUILT_IN = (ring8, square4, banana, moons, gauss6d, cat5, cat64)
SUITE = (unequal3, widths4, edges3, grid16, ring12, ridge, funnel, mix3d, mix6d)  # what breaks samplers
TARGETS: Registry[Callable[[], Target]] = Registry("target")
for _factory in (*BUILT_IN, *SUITE):
    TARGETS.register(_factory.__name__, _factory)


def get_target(spec: str) -> Target:
    """A built-in target by name, or ``module:attr``: a callable ``[n, d] -> [n]`` with an
    integer attribute ``dim`` and an optional tensor attribute ``modes`` ``[m, d]``."""
    if spec in TARGETS:
        return TARGETS.get(spec)()
    if ":" not in spec:
        TARGETS.get(spec)  # raises the unknown-name error listing the built-ins
    fn = load_object(spec, "target")
    dim = getattr(fn, "dim", None)
    if not callable(fn) or not isinstance(dim, int) or dim < 1:
        raise UserError(f"target {spec!r} must be a callable with an integer attribute dim >= 1")
    modes = getattr(fn, "modes", None)
    if modes is not None and (not isinstance(modes, Tensor) or modes.shape[-1] != dim):
        raise UserError(f"target {spec!r}: modes must be a tensor [m, {dim}]")
    _check_output(spec, fn, dim)

    def guarded(actions: Tensor) -> Tensor:  # a later failure of the user's code: one line too
        try:
            return fn(actions)
        except Exception as exc:
            raise UserError(f"target {spec!r} failed during the fit: {described(exc)}") from None

    return Target(spec, dim, guarded, modes)


def _check_output(spec: str, fn: Callable[[Tensor], Tensor], dim: int) -> None:
    """Call a user target once on a few actions: it must return one finite Q per action,
    differentiable in the actions (every fit follows grad_a Q: reparameterised draws, Stein, the
    guide)."""
    n = 5
    probe = torch.rand(n, dim, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8
    probe.requires_grad_()
    expected = f"a tensor of shape [{n}] for actions of shape [{n}, {dim}]"
    try:
        with torch.enable_grad():
            out = fn(probe)
    except Exception as exc:  # a user's function: any failure is reported in one line
        raise UserError(f"target {spec!r} failed on actions of shape [{n}, {dim}]: {described(exc)}") from None
    if not isinstance(out, Tensor):
        raise UserError(f"target {spec!r} must return {expected}, got a {type(out).__name__}")
    if tuple(out.shape) != (n,):
        raise UserError(f"target {spec!r} must return {expected}, got shape {list(out.shape)}")
    if not out.dtype.is_floating_point:
        raise UserError(f"target {spec!r} must return floating-point Q values, got {out.dtype}")
    if not bool(torch.isfinite(out).all()):
        bad = [float(v) for v in out.detach() if not math.isfinite(float(v))]
        raise UserError(f"target {spec!r} must return finite Q values, got {bad[0]} at {len(bad)} of {n} actions")
    if not out.requires_grad or torch.autograd.grad(out.sum(), probe, allow_unused=True)[0] is None:
        raise UserError(
            f"target {spec!r} is not differentiable in the actions: compute Q with torch operations "
            "on the actions it is given (no .detach(), numpy or torch.no_grad())"
        )
