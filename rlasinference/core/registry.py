"""A name -> object registry that reports the valid names when a lookup fails."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Generic, TypeVar

from rlasinference.core.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects; unknown names raise a ``UserError`` listing the valid ones.

    :param kind: what is registered ("sampler", "preset", ...), used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """Look up ``name``; a ``module:attr`` name imports a user-defined object instead."""
        if name in self._items:
            return self._items[name]
        if ":" in name:
            return load_object(name, self.kind)  # type: ignore[return-value]
        raise UserError(f"unknown {self.kind} {name!r}; valid: {', '.join(self._items)}")

    def get_subclass(self, name: str, base: type) -> T:
        """``get(name)``, which must be a subclass of ``base`` (a ``module:Class`` may be anything)."""
        found = self.get(name)
        if not (isinstance(found, type) and issubclass(found, base)):
            raise UserError(f"{name!r} is not a {base.__name__} subclass (see {base.__module__}.{base.__qualname__})")
        return found

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items


def import_user_module(module_name: str, kind: str, spec: str) -> ModuleType:
    """Import a user's module, the one loading rule of every ``module:attr`` name (samplers,
    presets, targets, envs): modules in the current directory are found too, as with
    ``python -m`` (the ``rlai`` script's own path is its venv's bin)."""
    if not all(part.isidentifier() for part in module_name.split(".")):  # empty, relative, a:b:c
        raise UserError(f"{kind} {spec!r}: {module_name!r} is not a module name (expected my_pkg.module:Name)")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import module {module_name!r} for {kind} {spec!r}: {exc}") from None


def load_object(spec: str, kind: str) -> object:
    """Import ``module:attr`` (e.g. ``my_pkg.samplers:MySampler``), by ``import_user_module``'s rule."""
    module_name, _, attr = spec.partition(":")
    if not attr.isidentifier():
        raise UserError(f"{kind} {spec!r}: {attr!r} is not an attribute name (expected module:Name)")
    module = import_user_module(module_name, kind, spec)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UserError(f"module {module_name!r} has no attribute {attr!r} ({kind} {spec!r})") from None


def constructor_options(cls: type, positional: int, kind: str) -> dict[str, Any]:
    """The keyword options of ``cls``'s constructor after its first ``positional`` arguments,
    with their defaults: a sampler's or critic's config fields (``<kind>.<name>``). Lists are
    copied from tuple defaults."""
    options: dict[str, Any] = {}
    for name, param in list(inspect.signature(cls).parameters.items())[positional:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is inspect.Parameter.empty:
            raise UserError(f"{kind} option {name!r} of {cls.__name__} needs a default value")
        options[name] = list(param.default) if isinstance(param.default, tuple) else param.default
    return options
