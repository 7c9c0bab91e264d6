"""Run configuration: one flat mapping of keys, the same for ``--set``, ``--config`` and
``config.yaml``. Keys are the run fields, the preset's fields and ``sampler.<option>``."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlasinference.algorithms import PRESETS, Preset
from rlasinference.core.checks import AT_LEAST_ONE, NON_NEGATIVE, Range, check_config, check_options, ranged, shown
from rlasinference.core.errors import UserError, first_line
from rlasinference.core.precision import PRECISIONS
from rlasinference.core.yaml_text import load_yaml, read_yaml
from rlasinference.critics import get_critic_class
from rlasinference.samplers import get_sampler_class

RUN_SEEDS = Range(0, 2**32 - 1)  # numpy's seed range
COMPILE = ("auto", "always", "never")
COMPILE_MIN_UPDATES = 20_000  # compiling costs ~30 s; a compiled flow update saves ~3.5 ms


@dataclass
class RunConfig:
    """Fields of a run that are not the algorithm's.

    :param algo: preset name (``rlai list``).
    :param env: gymnasium env id, or ``module:EnvId``.
    :param steps: total env steps.
    :param seed: seed of torch, numpy and the envs.
    :param device: torch device (``cpu``, ``cuda``, ``cuda:1``, ...).
    :param eval_every: env steps between deterministic evaluations.
    :param eval_episodes: episodes per evaluation.
    :param log_every: env steps between training rows in ``metrics.csv``.
    :param save_buffer: put the replay buffer in ``checkpoints/last.pt`` (needed for an exact resume).
    :param threads: torch CPU threads (0: torch's default).
    :param precision: of the networks' matrix products: ``fp32``, ``bf16`` (bfloat16 autocast
        with float32 weights, losses, targets and log-densities) or ``auto`` (bf16 only on a CPU
        with AMX-BF16, where it is faster; docs/performance.md).
    :param compile: ``torch.compile`` the sampler's ``sample``: ``always``, ``never`` or ``auto`` (yes
        for samplers measured faster compiled, e.g. ``flow``, in runs of at least
        ``COMPILE_MIN_UPDATES`` updates, where the half minute of compilation pays back).
    :param checkpoint_every_s: also write ``checkpoints/last.pt`` after this many seconds of
        training without one (0: only at evaluations), so that a long run that dies between
        evaluations loses at most this much work.
    """

    algo: str = "sac"
    env: str = "Pendulum-v1"
    steps: int = ranged(15000, AT_LEAST_ONE)
    seed: int = ranged(0, RUN_SEEDS)
    device: str = "cpu"
    eval_every: int = ranged(5000, AT_LEAST_ONE)
    eval_episodes: int = ranged(10, AT_LEAST_ONE)
    log_every: int = ranged(1000, AT_LEAST_ONE)
    save_buffer: bool = True
    threads: int = ranged(0, Range(0, 4096))
    precision: str = "auto"
    compile: str = "auto"
    checkpoint_every_s: float = ranged(300.0, NON_NEGATIVE)


#: the run's own keys (``RunConfig``'s fields): how a run is run, evaluated and named, beside
#: what its algorithm learns; what ``rlai compare`` and the sweep read as such
RUN_KEYS = frozenset(f.name for f in dataclasses.fields(RunConfig))


@dataclass
class Config:
    """A resolved configuration: run fields, the preset's config, the sampler's and the critic's options."""

    run: RunConfig
    algo: Any
    sampler_options: dict[str, Any]
    critic_options: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def preset(self) -> Preset:
        return PRESETS.get(self.run.algo)

    def flat(self) -> dict[str, Any]:
        """The flat mapping written to ``config.yaml`` (and accepted by ``--config``)."""
        out = dataclasses.asdict(self.run)
        out.update(dataclasses.asdict(self.algo))
        out.update({f"sampler.{k}": v for k, v in self.sampler_options.items()})
        out.update({f"critic.{k}": v for k, v in self.critic_options.items()})
        return out


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


def resolve(overrides: dict[str, Any]) -> Config:
    """Preset defaults, then ``overrides`` (config file < flags < ``--set``, merged by the caller)."""
    run_fields = {f.name for f in dataclasses.fields(RunConfig)}
    algo_name = overrides.get("algo", RunConfig.algo)
    if not isinstance(algo_name, str):
        raise UserError(f"algo must be a name, got {algo_name!r}")
    preset = PRESETS.get(algo_name)
    if not isinstance(preset, Preset):
        raise UserError(f"algorithm {algo_name!r} is not a Preset (see rlasinference.algorithms.preset.Preset)")
    if preset.env_defaults is not None:
        env_defaults = preset.env_defaults(str(overrides.get("env", RunConfig.env)))
        if overrides.get("sampler", preset.config_cls().sampler) != preset.config_cls().sampler:
            # like the preset's sampler options, its per-env ones are for its own sampler
            env_defaults = {k: v for k, v in env_defaults.items() if not k.startswith("sampler.")}
        overrides = {**env_defaults, **overrides}
    algo_fields = {f.name for f in dataclasses.fields(preset.config_cls)}
    sampler_name = overrides.get("sampler", preset.config_cls().sampler)
    if not isinstance(sampler_name, str):
        raise UserError(f"sampler must be a name, got {sampler_name!r}")
    sampler_cls = get_sampler_class(sampler_name)
    options = preset.default_sampler_options(sampler_name)
    critic_name = overrides.get("critic", getattr(preset.config_cls(), "critic", None))
    if critic_name is not None and not isinstance(critic_name, str):
        raise UserError(f"critic must be a name, got {critic_name!r}")
    critic_cls = get_critic_class(critic_name) if critic_name is not None else None
    critic_defaults = preset.default_critic_options(critic_name)

    valid = sorted(run_fields | algo_fields) + [f"sampler.{k}" for k in options]
    valid += [f"critic.{k}" for k in critic_defaults]
    unknown = [k for k in overrides if k not in run_fields and k not in algo_fields and k not in valid]
    if unknown:
        raise UserError(f"unknown config key {unknown[0]!r}; valid keys: {', '.join(valid)}")

    run_kw = {k: _coerce(k, v, RunConfig) for k, v in overrides.items() if k in run_fields}
    algo_kw = {k: _coerce(k, v, preset.config_cls) for k, v in overrides.items() if k in algo_fields}
    options = set_sampler_options(options, {k: v for k, v in overrides.items() if k.startswith("sampler.")})
    check_sampler_options(sampler_cls, options)
    critic = set_options(critic_defaults, {k: v for k, v in overrides.items() if k.startswith("critic.")}, "critic")
    if critic_cls is not None:
        check_options(critic, critic_cls.option_ranges, critic_cls.ordered_options, "critic.")
    config = Config(RunConfig(**run_kw), preset.config_cls(**algo_kw), options, critic)
    check_config(config.run)
    if config.run.precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {config.run.precision!r}")
    if config.run.compile not in COMPILE:
        raise UserError(f"compile must be one of {', '.join(COMPILE)}, got {config.run.compile!r}")
    check_config(config.algo)
    return config


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


def _coerce(key: str, value: Any, cls: type) -> Any:
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
