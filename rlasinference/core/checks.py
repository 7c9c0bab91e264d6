"""Valid ranges of config fields and sampler options, declared where the field is.

A config dataclass declares a field's range with ``ranged``::

    gamma: float = ranged(0.99, Range(0, 1, high_open=False))

and pairs of fields that must be strictly increasing in ``ORDERED``. ``check_config`` checks a
config instance (a subclass that only changes a default keeps its parent's range); a sampler
declares the same for its options in ``option_ranges`` / ``ordered_options`` and
``check_options`` checks a mapping of them. Every violation is one ``UserError`` naming the
field, the value and the valid range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlasinference.core.errors import UserError


@dataclass(frozen=True)
class Range:
    """A closed or open interval of finite numbers; a list value needs every element inside it
    and at least ``min_len`` elements. ``None`` values are allowed only with ``optional``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    min_len: int = 0
    optional: bool = False

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            lo, hi = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {lo}{_num(self.low)}, {_num(self.high)}{hi}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {_num(self.low)}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {_num(self.high)}"
        return "finite"

    def contains(self, x: Any) -> bool:
        if isinstance(x, bool) or not isinstance(x, int | float):
            return False
        try:
            if not math.isfinite(x):  # (an int beyond float's range overflows here)
                return False
        except OverflowError:
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return not (self.high is not None and (x >= self.high if self.high_open else x > self.high))

    def check(self, name: str, value: Any) -> None:
        if value is None and self.optional:
            return
        if isinstance(value, list | tuple):
            if len(value) < self.min_len or not all(self.contains(v) for v in value):
                need = "a non-empty list of numbers" if self.min_len == 1 else "a list of numbers"
                if self.min_len > 1:
                    need = f"a list of at least {self.min_len} numbers"
                raise UserError(f"{name} must be {need} {self}, got {shown(list(value))}")
        elif not self.contains(value):
            large = isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000
            raise UserError(f"{name} must be {self}, got {shown(value)}" + (": too large for a float" if large else ""))


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 400-digit number stays on one short line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} characters)"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


POSITIVE = Range(0, low_open=True)
#: a step size: positive, and a float32 (the parameters' type; Adam cannot hold a larger one)
STEP_SIZE = Range(0, 3.0e38, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
UNIT = Range(0, 1)  # [0, 1]
FINITE = Range()
RUN_SEEDS = Range(0, 2**32 - 1)  # numpy's seed range: a run's, an evaluation's, a fit's
LAYERS = Range(1, min_len=1)  # hidden layer sizes: at least one layer, each of at least one unit


def ranged(default: Any, valid: Range) -> Any:
    """A dataclass field with ``default`` (lists are copied per instance) and its valid range."""
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"valid": valid})
    return dataclasses.field(default=default, metadata={"valid": valid})


def field_range(cls: type, name: str) -> Range | None:
    """The range declared for ``name`` by ``cls`` or the nearest base class that declares one."""
    for klass in cls.__mro__:
        f = getattr(klass, "__dataclass_fields__", {}).get(name)
        if f is not None and "valid" in f.metadata:
            return f.metadata["valid"]
    return None


def check_config(config: Any, prefix: str = "") -> None:
    """Check every ranged field of a config dataclass instance, then its ``ORDERED`` pairs."""
    cls = type(config)
    for f in dataclasses.fields(config):
        valid = field_range(cls, f.name)
        if valid is not None:
            valid.check(prefix + f.name, getattr(config, f.name))
    check_ordered({f.name: getattr(config, f.name) for f in dataclasses.fields(config)}, _ordered(cls), prefix)


def check_options(options: Mapping[str, Any], ranges: Mapping[str, Range], ordered: Any, prefix: str) -> None:
    """Check a mapping of options (a sampler's) against declared ranges and ordered pairs."""
    for name, valid in ranges.items():
        if name in options:
            valid.check(prefix + name, options[name])
    check_ordered(options, ordered, prefix)


def check_ordered(values: Mapping[str, Any], ordered: Any, prefix: str) -> None:
    for low, high in ordered:
        a, b = values.get(low), values.get(high)
        if a is not None and b is not None and not a < b:
            raise UserError(f"{prefix}{low} must be less than {prefix}{high}, got {a!r} and {b!r}")


def _ordered(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple(getattr(cls, "ORDERED", ()))
