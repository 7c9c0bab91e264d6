"""Arguments of the API functions that take one value or several."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def as_list(value: Any) -> list[Any]:
    """One value as a list of it; ``None`` as none; numpy scalars as Python's (a sweep's spec is
    written as YAML)."""
    if value is None:
        return []
    one = isinstance(value, str | bytes | Mapping) or getattr(value, "ndim", None) == 0
    values = list(value) if isinstance(value, Iterable) and not one else [value]
    return [v.item() if hasattr(v, "item") and not isinstance(v, dict) else v for v in values]
