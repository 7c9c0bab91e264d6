"""A check that a sampler class keeps the contract of ``rlasinference.samplers.base.Sampler``,
for users writing their own (the package's tests run it on every registered sampler)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rlasinference.core.errors import UserError, described
from rlasinference.samplers.base import DENSITY_KINDS, PathDensity, Sampler


class ContractError(AssertionError):
    """A sampler breaks the contract; the message says where."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractError(message)


def check_sampler(
    cls: type[Sampler], context_dims: tuple[int, ...] = (0, 5), action_dim: int = 3, **options: Any
) -> None:
    """Build ``cls`` and check the contract on random contexts; raises ``ContractError``.

    Checked for each context size (0: a toy target without state): ``sample(context [4, C], 7)``
    returns actions ``[4, 7, A]`` inside (-1, 1) (``A = action_dim``); ``log_density`` is ``[4, 7]`` and finite
    unless the density is ``none``; gradients of the actions reach the parameters
    (reparameterised); ``mode`` is ``None`` or ``[4, 3]`` inside (-1, 1); for ``exact``
    samplers ``log_prob`` of the drawn actions equals their ``log_density``; ``draw`` gives
    ``sample``'s action for the same random state; for a sampler with a ``path_log_prob`` (the
    chain's), its bound log_joint - log_back of each drawn path equals the ``log_density`` ``sample`` returned. A
    sampler that ``follows_guide`` is checked again with a guide set (the score of a Gaussian at
    the box's centre). ``options`` go to the constructor.
    """
    name = cls.__name__
    _require(isinstance(cls, type) and issubclass(cls, Sampler), f"{name} is not a Sampler subclass")
    _require(getattr(cls, "density", None) in DENSITY_KINDS, f"{name}.density must be one of {DENSITY_KINDS}")
    for context_dim in context_dims:
        sampler = cls(context_dim, action_dim, **options)
        _check_draws(sampler, torch.randn(4, context_dim), f"{name} (context_dim {context_dim})")
        if sampler.follows_guide:
            sampler.zero_grad()
            sampler.guide = lambda context, actions: -4.0 * actions
            _check_draws(sampler, torch.randn(4, context_dim), f"{name} (context_dim {context_dim}, guided)")


def _check_draws(sampler: Sampler, context: Tensor, where: str) -> None:
    """The checks of ``check_sampler`` on one built sampler."""
    if sampler.space == "discrete":
        _check_discrete_draws(sampler, context, where)
        return
    cls, dim = type(sampler), sampler.action_dim
    out = sampler.sample(context, 7)
    _require(hasattr(out, "actions") and hasattr(out, "log_density"), f"{where}: sample must return Samples")
    shape = tuple(out.actions.shape)
    _require(shape == (4, 7, dim), f"{where}: actions {shape}, not (4, 7, {dim})")
    _require(bool(out.actions.abs().max() < 1.0), f"{where}: actions outside (-1, 1)")
    if cls.density == "none":
        _require(out.log_density is None, f"{where}: density 'none' but a log_density was returned")
    else:
        _require(out.log_density is not None, f"{where}: density {cls.density!r} needs log_density")
        assert out.log_density is not None
        shape = tuple(out.log_density.shape)
        _require(shape == (4, 7), f"{where}: log_density {shape}, not (4, 7)")
        _require(bool(torch.isfinite(out.log_density).all()), f"{where}: log_density is not finite")
    out.actions.square().sum().backward()
    grads = [p.grad for p in sampler.parameters()]
    _require(
        any(g is not None and bool(g.abs().sum() > 0) for g in grads),
        f"{where}: no gradient reaches the parameters from the actions (sample with rsample)",
    )
    mode = sampler.mode(context)
    if mode is not None:
        _require(tuple(mode.shape) == (4, dim), f"{where}: mode {tuple(mode.shape)}, not (4, {dim})")
        _require(bool(mode.abs().max() < 1.0), f"{where}: mode outside (-1, 1)")
    with torch.no_grad():
        state = torch.get_rng_state()
        drawn = sampler.draw(context)
        torch.set_rng_state(state)
        sampled = sampler.sample(context, 1).actions[:, 0]
    _require(tuple(drawn.shape) == (4, dim), f"{where}: draw {tuple(drawn.shape)}, not (4, {dim})")
    _require(bool(torch.allclose(drawn, sampled, atol=1e-6)), f"{where}: draw differs from sample's action")
    if isinstance(sampler, PathDensity) and "path" in out.extras:
        with torch.no_grad():
            out = sampler.sample(context, 7)
            flat = out.extras["path"].reshape(context.shape[0] * 7, -1)
            log_joint, log_back = sampler.path_log_prob(context.repeat_interleave(7, dim=0), flat)
            bound = log_joint - log_back
        assert out.log_density is not None
        gap = (bound.reshape(-1, 7) - out.log_density).abs().max().item()
        scale = 1 + out.log_density.abs().max().item()
        _require(gap < 1e-3 * scale, f"{where}: path_log_prob's bound differs from log_density by {gap:.3g}")
    if cls.density == "exact":
        with torch.no_grad():
            out = sampler.sample(context, 7)
            again = sampler.log_prob(context, out.actions)
        assert out.log_density is not None
        gap = (again - out.log_density).abs().max().item()
        _require(gap < 1e-3 * (1 + out.log_density.abs().max().item()), f"{where}: log_prob differs by {gap:.3g}")


def _check_discrete_draws(sampler: Sampler, context: Tensor, where: str) -> None:
    """A ``discrete`` sampler's contract: ``sample(context [4, C], 7)`` returns one-hot actions
    ``[4, 7, K]`` and an exact, finite ``log_density [4, 7]`` through which gradients reach the
    parameters (a score-function or exact-expectation objective differentiates it); its
    ``log_probs [4, K]`` are a distribution, ``log_prob`` of the drawn actions equals their
    ``log_density``, ``mode`` is one-hot and ``draw`` gives ``sample``'s action."""
    dim = sampler.action_dim
    _require(type(sampler).density == "exact", f"{where}: a discrete sampler's density must be exact")
    out = sampler.sample(context, 7)
    shape = tuple(out.actions.shape)
    _require(shape == (4, 7, dim), f"{where}: actions {shape}, not (4, 7, {dim})")
    _require(bool(((out.actions == 0) | (out.actions == 1)).all() and (out.actions.sum(-1) == 1).all()),
             f"{where}: actions are not one-hot")  # fmt: skip
    _require(out.log_density is not None and tuple(out.log_density.shape) == (4, 7), f"{where}: log_density not [4, 7]")
    assert out.log_density is not None
    _require(bool(torch.isfinite(out.log_density).all()), f"{where}: log_density is not finite")
    out.log_density.sum().backward()
    _require(
        any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in sampler.parameters()),
        f"{where}: no gradient reaches the parameters from log_density",
    )
    with torch.no_grad():
        log_probs = sampler.log_probs(context)
        _require(tuple(log_probs.shape) == (4, dim), f"{where}: log_probs {tuple(log_probs.shape)}, not (4, {dim})")
        total = log_probs.exp().sum(-1)
        _require(bool(torch.allclose(total, torch.ones_like(total), atol=1e-5)), f"{where}: log_probs do not sum to 1")
        again = sampler.log_prob(context, out.actions)
        _require(bool(torch.allclose(again, out.log_density, atol=1e-5)), f"{where}: log_prob differs from log_density")
        mode = sampler.mode(context)
        _require(mode is not None and tuple(mode.shape) == (4, dim) and bool((mode.sum(-1) == 1).all()),
                 f"{where}: mode is not one-hot [4, {dim}]")  # fmt: skip
        state = torch.get_rng_state()
        drawn = sampler.draw(context)
        torch.set_rng_state(state)
        sampled = sampler.sample(context, 1).actions[:, 0]
    _require(bool(torch.equal(drawn, sampled)), f"{where}: draw differs from sample's action")


def check_user_sampler(spec: str, cls: type[Sampler], context_dim: int, action_dim: int, options: Any) -> None:
    """``check_sampler`` on a user's ``module:Class`` sampler at the sizes a run will use, before
    it trains: a broken contract, or any error the sampler's own code raises, is one line
    (``UserError``) instead of a traceback from deep inside a run. The global random state is
    left as it was, so the run draws what it would have drawn without the check."""
    with torch.random.fork_rng():
        try:
            check_sampler(cls, (context_dim,), action_dim, **options)
        except ContractError as exc:
            raise UserError(f"sampler {spec!r} breaks the sampler contract: {exc}") from None
        except Exception as exc:  # the user's code: whatever it raises is reported, in one line
            raise UserError(f"sampler {spec!r} failed its contract check: {described(exc)}") from None
