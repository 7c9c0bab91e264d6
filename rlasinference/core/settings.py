"""Settings as the user writes them (``--set key=value``, a YAML file, a sampler's or critic's
options) read into typed values: YAML parsing without aliases, coercion to a field's declared
type, and the declared ranges checked. Used by run configs, sweeps and the workbench alike."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import yaml

from rlasinference.core.checks import check_options, shown
from rlasinference.core.errors import UserError, first_line
from rlasinference.core.yaml_text import load_yaml, read_yaml


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> dict; values are parsed as YAML (``1e-3``, ``[64, 64]``, ``true``)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"malformed --set {item!r}: expected key=value")
        try:
            out[key.strip()] = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError:
            raise UserError(f"malformed --set {item!r}: the value is not valid YAML") from None
    return out


def load_yaml_config(path: Path, what: str = "config file", holds: str = "config keys") -> dict[str, Any]:
    """A YAML mapping from ``path`` (a ``--config`` file by default); every way it can be wrong is
    a one-line ``UserError`` naming ``what`` it is."""
    try:
        data = read_yaml(path)
    except OSError as exc:
        raise UserError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{what} {str(path)!r} is not a UTF-8 text file") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{what} {str(path)!r} is not valid YAML: {first_line(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{what} {str(path)!r} must hold a mapping of {holds}")
    return data


def set_sampler_options(options: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``options`` with ``{"sampler.<name>": value}`` applied, each value coerced to its default's type."""
    return set_options(options, overrides, "sampler")


def set_options(options: dict[str, Any], overrides: dict[str, Any], kind: str) -> dict[str, Any]:
    """``options`` with ``{"<kind>.<name>": value}`` applied, each value coerced to its default's type."""
    out = dict(options)
    for key, value in overrides.items():
        name = key.removeprefix(f"{kind}.")
        if name not in out:
            valid = ", ".join(f"{kind}.{k}" for k in out) or "none"
            raise UserError(f"unknown {kind} option {key!r}; valid: {valid}")
        out[name] = _coerce_like(key, value, out[name])
    return out


def check_sampler_options(cls: type, options: dict[str, Any]) -> None:
    """The ranges a sampler class declares for its options (``option_ranges``, ``ordered_options``)."""
    ranges = getattr(cls, "option_ranges", {})
    check_options(options, ranges, getattr(cls, "ordered_options", ()), "sampler.")


def coerce_field(key: str, value: Any, cls: type) -> Any:
    hint = typing.get_type_hints(cls)[key]
    return _coerce_hint(key, value, hint)


def _coerce_hint(key: str, value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce_hint(key, value, arg)
            except UserError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is list:
        if not isinstance(value, list | tuple):
            raise UserError(f"config key {key!r} expects a list like [256, 256], got {value!r}")
        return [_coerce_hint(key, v, args[0]) for v in value]
    return _coerce_scalar(key, value, hint)


def _coerce_like(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, list):
        elem = type(default[0]) if default else float
        return _coerce_hint(key, value, list[elem])  # type: ignore[valid-type]
    if default is None:
        return value
    return _coerce_scalar(key, value, type(default))


def _coerce_scalar(key: str, value: Any, typ: type) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
    elif typ is int:
        if isinstance(value, str):
            value = _number(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif typ is float:
        if isinstance(value, str):
            value = _number(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:
                raise UserError(f"config key {key!r} expects a float, got {shown(value)}: too large") from None
    elif typ is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise UserError(f"config key {key!r} expects {typ.__name__}, got {shown(value)}")


def _number(text: str) -> Any:
    # YAML 1.1 reads "1e6" (no dot) as a string; accept it as a number where one is expected
    try:
        return float(text)
    except ValueError:
        return text
