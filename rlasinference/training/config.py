"""Run configuration: one flat mapping of keys, the same for ``--set``, ``--config`` and
``config.yaml``. Keys are the run fields, the preset's fields and ``sampler.<option>``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rlasinference.algorithms import PRESETS, Preset
from rlasinference.core.checks import AT_LEAST_ONE, NON_NEGATIVE, RUN_SEEDS, Range, check_config, check_options, ranged
from rlasinference.core.errors import UserError
from rlasinference.core.precision import PRECISIONS
from rlasinference.core.settings import (
    check_sampler_options,
    coerce_field,
    set_options,
    set_sampler_options,
)
from rlasinference.critics import get_critic_class
from rlasinference.samplers import get_sampler_class
from rlasinference.training.loggers import logger_names

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
    :param eval_stochastic: evaluate the policy's draws instead of its deterministic action
        (Atari, where an argmax policy can stand still forever: the literature's Atari-100k
        figures are of the stochastic policy).
    :param log_every: env steps between training rows in ``metrics.csv``.
    :param save_buffer: put the replay buffer in ``checkpoints/last.pt`` (needed for an exact resume).
    :param threads: torch CPU threads (0: every core, torch's default). One by default: the
        thread count changes floating-point reductions, so a fixed count gives the same results
        on every machine, and runs side by side do not slow each other down many times over as
        runs that each take every core do (docs/performance.md).
    :param precision: of the networks' matrix products: ``fp32`` (the default: the same numbers
        on every CPU), ``bf16`` (bfloat16 autocast with float32 weights, losses, targets and
        log-densities) or ``auto`` (bf16 on a CPU with AMX-BF16; docs/performance.md).
    :param compile: ``torch.compile`` the sampler's ``sample``: ``always``, ``never`` or ``auto`` (yes
        for samplers measured faster compiled, e.g. ``flow``, in runs of at least
        ``COMPILE_MIN_UPDATES`` updates, where the half minute of compilation pays back).
    :param checkpoint_every_s: also write ``checkpoints/last.pt`` after this many seconds of
        training without one (0: only at evaluations), so that a long run that dies between
        evaluations loses at most this much work.
    :param log: where the metrics go beside ``metrics.csv``: ``tensorboard`` (``RUN_DIR/tb``),
        ``wandb`` (Weights & Biases, an extra), both comma-separated, or ``none``.
    """

    algo: str = "sac"
    env: str = "Pendulum-v1"
    steps: int = ranged(15000, AT_LEAST_ONE)
    seed: int = ranged(0, RUN_SEEDS)
    device: str = "cpu"
    eval_every: int = ranged(5000, AT_LEAST_ONE)
    eval_episodes: int = ranged(10, AT_LEAST_ONE)
    eval_stochastic: bool = False
    log_every: int = ranged(1000, AT_LEAST_ONE)
    save_buffer: bool = True
    threads: int = ranged(1, Range(0, 4096))
    precision: str = "fp32"
    compile: str = "auto"
    checkpoint_every_s: float = ranged(300.0, NON_NEGATIVE)
    log: str = "tensorboard"


#: the run's own keys (``RunConfig``'s fields): how a run is run, evaluated and named, beside
#: what its algorithm learns; what ``rlai compare`` and the sweep read as such
RUN_KEYS = frozenset(f.name for f in dataclasses.fields(RunConfig))


class AlgoConfig(Protocol):
    """What every preset's config dataclass has (``Preset.config_cls``); the rest is the
    recipe's own (``ActorCriticConfig``, ``OnPolicyConfig``), read by the parts it builds."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    sampler: str


@dataclass
class Config:
    """A resolved configuration: run fields, the preset's config, the sampler's and the critic's options."""

    run: RunConfig
    algo: AlgoConfig
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


def for_algo(keys: dict[str, Any], algo: str) -> tuple[dict[str, Any], list[str]]:
    """A config file's ``keys`` (a run's ``config.yaml`` pins every key of its preset) used for
    another preset ``algo``: its run keys and what it sets away from its own preset's defaults are
    kept, its preset's defaults are left out (they would stand in for ``algo``'s); and the names
    of the keys left out. Unchanged when the file is of ``algo``, names no preset we know, or is
    not a whole run config (a file written by hand holds only what its writer chose)."""
    source = keys.get("algo")
    if not isinstance(source, str) or source == algo:
        return keys, []
    try:
        defaults = resolve({k: keys[k] for k in ("algo", "env") if k in keys}).flat()
    except UserError:
        return keys, []
    if not set(defaults) <= set(keys):
        return keys, []
    kept = {k: v for k, v in keys.items() if k in RUN_KEYS or k not in defaults or defaults[k] != v}
    return kept, sorted(set(keys) - set(kept))


def resolve(overrides: dict[str, Any]) -> Config:
    """Preset defaults, then ``overrides`` (config file < flags < ``--set``, merged by the caller)."""
    run_fields = {f.name for f in dataclasses.fields(RunConfig)}
    algo_name = overrides.get("algo", RunConfig.algo)
    if not isinstance(algo_name, str):
        raise UserError(f"algo must be a name, got {algo_name!r}")
    preset = PRESETS.get(algo_name)
    if not isinstance(preset, Preset):
        raise UserError(f"algorithm {algo_name!r} is not a Preset (see rlasinference.algorithms.preset.Preset)")
    env = overrides.get("env")
    if isinstance(env, str) and "(" in env:  # one spelling per keyword set: one task (gymnasium loads lazily)
        from rlasinference.envs.make import canonical_env

        overrides = {**overrides, "env": canonical_env(env)}
    if preset.env_defaults is not None:
        # per-env defaults follow the env's id, not the keywords it is made with (``env_call``)
        env_defaults = preset.env_defaults(str(overrides.get("env", RunConfig.env)).partition("(")[0])
        # like the preset's sampler and critic options, its per-env ones are for its own sampler and critic
        for part in ("sampler", "critic"):
            if overrides.get(part, getattr(preset.config_cls(), part, None)) != getattr(
                preset.config_cls(), part, None
            ):
                env_defaults = {k: v for k, v in env_defaults.items() if not k.startswith(f"{part}.")}
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

    run_kw = {k: coerce_field(k, v, RunConfig) for k, v in overrides.items() if k in run_fields}
    algo_kw = {k: coerce_field(k, v, preset.config_cls) for k, v in overrides.items() if k in algo_fields}
    options = set_sampler_options(options, {k: v for k, v in overrides.items() if k.startswith("sampler.")})
    check_sampler_options(sampler_cls, options)
    critic = set_options(critic_defaults, {k: v for k, v in overrides.items() if k.startswith("critic.")}, "critic")
    if critic_cls is not None:
        check_options(critic, critic_cls.option_ranges, critic_cls.ordered_options, "critic.")
    config = Config(RunConfig(**run_kw), preset.config_cls(**algo_kw), options, critic)
    check_config(config.run)
    if config.run.precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {config.run.precision!r}")
    logger_names(config.run.log)
    if config.run.compile not in COMPILE:
        raise UserError(f"compile must be one of {', '.join(COMPILE)}, got {config.run.compile!r}")
    check_config(config.algo)
    return config
