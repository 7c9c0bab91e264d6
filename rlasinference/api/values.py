"""Arguments of the API functions that take one value or several."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rlasinference.core.errors import UserError


def as_list(value: Any) -> list[Any]:
    """One value as a list of it; ``None`` as none; numpy scalars as Python's (a sweep's spec is
    written as YAML)."""
    if value is None:
        return []
    one = isinstance(value, str | bytes | Mapping) or getattr(value, "ndim", None) == 0
    values = list(value) if isinstance(value, Iterable) and not one else [value]
    return [v.item() if hasattr(v, "item") and not isinstance(v, dict) else v for v in values]


def check_env_id(env: Any) -> None:
    """An env object where an env id belongs: one line that asks for its id (a run makes its env
    again to evaluate, resume and compare)."""
    if env is not None and not isinstance(env, str) and hasattr(env, "step"):
        made = getattr(getattr(env, "spec", None), "id", None)
        raise UserError(
            "env must be a gymnasium env id (module:EnvId, or EnvId(key=value, ...) for gymnasium.make's "
            "keywords), not an env object: a run makes its env again to evaluate, resume and compare"
            + (f" (this one's id is {made!r})" if made else "; register yours with gymnasium.register")
        )
