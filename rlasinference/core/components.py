"""A named, pure-function component (policy objective, value estimator) and the density
kinds of sampler it can work with."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlasinference.core.errors import UserError


@dataclass(frozen=True)
class Component:
    """A policy objective or value estimator: a pure function and what it works with.

    :param name: registry name.
    :param accepts: density kinds it works with.
    :param fn: the pure function.
    :param summary: one line for ``rlai list`` and the docs.
    :param options: config fields passed to ``fn`` as keyword arguments of the same name.
    :param metrics: extra scalars ``fn`` returns for logging, beside its loss.
    :param log_density: ``fn`` returns ``log_density`` (the entropy estimate a learned temperature needs).
    :param trains_sampler: ``fn`` gives a loss that fits the sampler by itself (a policy objective
        whose sampler is trained through the critic, like MEow's, does not).
    :param spaces: the action spaces of the samplers it works with (``box``, ``discrete``).
    :param bound_needs_path: a ``bound`` sampler must also give its paths' exact density
        (``path_log_prob``, the diffusion chain's): ``fn`` works on the path."""

    name: str
    accepts: tuple[str, ...]
    fn: Callable[..., Any]
    summary: str
    options: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    log_density: bool = False
    trains_sampler: bool = True
    spaces: tuple[str, ...] = ("box",)
    bound_needs_path: bool = False

    def fits(self, sampler_cls: type) -> bool:
        """Whether a sampler of this class can be used with the component."""
        density = getattr(sampler_cls, "density", None)
        if density not in self.accepts or getattr(sampler_cls, "space", "box") not in self.spaces:
            return False
        return not (self.bound_needs_path and density == "bound" and not hasattr(sampler_cls, "path_log_prob"))

    def bind(self, config: Any) -> Callable[..., Any]:
        """``fn`` with its options taken from ``config``."""
        kwargs = {name: getattr(config, name) for name in self.options}
        return functools.partial(self.fn, **kwargs) if kwargs else self.fn

    def check(self, role: str, sampler_name: str, sampler_cls: type, valid_samplers: list[str]) -> None:
        """Fail with one line when a sampler of this class cannot be used with this component."""
        density, space = getattr(sampler_cls, "density", None), getattr(sampler_cls, "space", "box")
        if space not in self.spaces:
            raise UserError(
                f"{role} {self.name!r} works on {' or '.join(self.spaces)} actions, but sampler {sampler_name!r} "
                f"draws {space} actions; valid samplers: {', '.join(valid_samplers) or 'none registered'}"
            )
        if density not in self.accepts:
            raise UserError(
                f"{role} {self.name!r} needs a sampler with density {' or '.join(self.accepts)}, "
                f"but sampler {sampler_name!r} has density {density!r}; "
                f"valid samplers: {', '.join(valid_samplers) or 'none registered'}"
            )
        if not self.fits(sampler_cls):
            raise UserError(
                f"{role} {self.name!r} works on a bound sampler's paths, but sampler {sampler_name!r} has no "
                f"path_log_prob; valid samplers: {', '.join(valid_samplers) or 'none registered'}"
            )
