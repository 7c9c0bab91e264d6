"""Built-in Boltzmann targets on the action box (-1, 1)^d, and user targets.

A target is a function ``Q: [n, d] -> [n]``; the density is exp(Q(a)/tau) on the box. ``modes``
(``[m, d]``) are the points mode coverage is measured at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import normflows as nf
import torch
from torch import Tensor

from rlasinference.core.errors import UserError
from rlasinference.core.registry import Registry, load_object


@dataclass(frozen=True)
class Target:
    """A toy Boltzmann target exp(Q(a)/tau) on (-1, 1)^d.

    :param name: the ``--target`` name.
    :param dim: d.
    :param q: ``a [n, d] -> Q(a) [n]``.
    :param modes: the target's modes ``[m, d]``, for mode coverage.
    :param exact_samples: optional ``(n, tau) -> [n, d]`` exact draws, for targets in more than
        two dimensions (1-2 D targets use a grid).
    """

    name: str
    dim: int
    q: Callable[[Tensor], Tensor]
    modes: Tensor | None = None
    exact_samples: Callable[[int, float], Tensor] | None = None


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


TARGETS: Registry[Callable[[], Target]] = Registry("target")
for _factory in (ring8, square4, banana, moons, gauss6d):
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
    return Target(spec, dim, fn, modes)


def _check_output(spec: str, fn: Callable[[Tensor], Tensor], dim: int) -> None:
    """Call a user target once on a few actions: it must return one finite Q per action."""
    n = 5
    probe = torch.rand(n, dim, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8
    expected = f"a tensor of shape [{n}] for actions of shape [{n}, {dim}]"
    try:
        out = fn(probe)
    except Exception as exc:  # a user's function: any failure is reported in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UserError(
            f"target {spec!r} failed on actions of shape [{n}, {dim}]: {type(exc).__name__}: {first}"
        ) from None
    if not isinstance(out, Tensor):
        raise UserError(f"target {spec!r} must return {expected}, got a {type(out).__name__}")
    if tuple(out.shape) != (n,):
        raise UserError(f"target {spec!r} must return {expected}, got shape {list(out.shape)}")
    if not out.dtype.is_floating_point:
        raise UserError(f"target {spec!r} must return floating-point Q values, got {out.dtype}")
