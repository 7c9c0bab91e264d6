"""``rlai compare``'s runs: one ``Run`` per run directory (its evaluation returns), found under
the given paths and told apart where their configs differ."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rlasinference.core.errors import UserError, first_line
from rlasinference.core.yaml_text import read_yaml
from rlasinference.envs.make import canonical_env
from rlasinference.training.config import RUN_KEYS
from rlasinference.training.metrics import eval_rows, read_metrics


@dataclass
class Run:
    """One run directory's evaluation curve."""

    path: Path
    label: str  # the algorithm: preset, plus the sampler where it is not the preset's own
    env: str
    seed: int
    steps: np.ndarray
    returns: np.ndarray
    target_steps: int
    seconds: float  # training wall-clock time (the last time_s written; NaN when none was)
    published: bool = False  # a seed of a reference CSV, not one of our runs
    config: dict[str, Any] | None = None  # its config.yaml (our runs)


def _label(config: dict[str, Any]) -> str:
    from rlasinference.algorithms import PRESETS

    algo, sampler = str(config.get("algo")), config.get("sampler")
    # a run of an algorithm this install does not know (a peer library, a user's module:Preset,
    # which compare does not import) keeps its sampler name as it is
    default = PRESETS.get(algo).config_cls().sampler if algo in PRESETS else None
    return algo if sampler in (None, default) else f"{algo}+{sampler}"


def load_run(path: Path) -> Run | None:
    """The run in ``path``, or ``None`` when it has no evaluation yet."""
    config = read_yaml(path / "config.yaml") or {}
    if not isinstance(config, dict):
        raise TypeError("config.yaml is not a mapping")
    if not isinstance(config.get("algo"), str) or not isinstance(config.get("env"), str):
        raise ValueError("config.yaml names no algo and env")
    rows = eval_rows(path)
    if not rows:
        return None
    times = [float(r["time_s"]) for r in read_metrics(path / "metrics.csv") if r.get("time_s")]
    returns = np.array([float(r["eval_return"]) for r in rows])
    if not np.isfinite(returns).all():
        raise ValueError("an evaluation return is not finite")
    return Run(
        path=path,
        label=_label(config),
        env=canonical_env(str(config.get("env"))),  # (a run made before ids had one spelling)
        seed=int(config.get("seed", 0)),
        steps=np.array([int(float(r["step"])) for r in rows]),
        returns=returns,
        target_steps=int(config.get("steps", 0)),
        seconds=times[-1] if times else math.nan,
        config=config,
    )


# keys that name a run or change how it is run or evaluated, not what its algorithm learns: the
# run's own (RunConfig's fields) and the sampler, which is already in the label


_BOOKKEEPING = RUN_KEYS | {"sampler"}


def _preset_defaults(algo: str, env: str, sampler: Any) -> dict[str, Any]:
    from rlasinference.training.config import resolve

    try:
        overrides = {"algo": algo, "env": env, **({"sampler": sampler} if sampler else {})}
        return resolve(overrides).flat()
    except UserError:  # an algorithm this install does not know (a peer): no defaults to name
        return {}


def split_variants(runs: list[Run]) -> None:
    """Runs of one algorithm in one env that differ in a config key (a sweep's ``grid``, a
    learning rate tried beside the preset's) are told apart: a run whose value of such a key is
    not the preset's default gets ``key=value`` in its label, so it is not pooled with the others."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for r in runs:
        if r.config is not None:
            groups[(r.label, r.env)].append(r)
    for (_, env), group in groups.items():
        keys = {k for r in group for k in r.config or {}} - _BOOKKEEPING
        varying = sorted(k for k in keys if len({repr((r.config or {}).get(k)) for r in group}) > 1)
        if not varying:
            continue
        first = group[0].config or {}
        defaults = _preset_defaults(str(first.get("algo")), env, first.get("sampler"))
        for r in group:
            config = r.config or {}
            # a key a run's config lacks (written before the key existed) is at its default
            own = [
                f"{k}={config[k]}" for k in varying if k in config and (k not in defaults or config[k] != defaults[k])
            ]
            if own:
                r.label = f"{r.label} {' '.join(own)}"


def find_runs(paths: list[Path]) -> tuple[list[Run], list[str]]:
    """Runs under ``paths`` (run directories, or directories holding them, e.g. a sweep), and a
    note per directory left out."""
    runs, notes = [], []
    seen: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            raise UserError(f"{str(path)!r} is not a directory")
        dirs = [path] if (path / "config.yaml").exists() else sorted(p.parent for p in path.glob("*/config.yaml"))
        if not dirs:
            raise UserError(f"{str(path)!r} holds no run directories (no config.yaml in it or one level down)")
        for d in dirs:
            if d.resolve() in seen:  # a link to a run, or a path given twice: one run
                continue
            seen.add(d.resolve())
            try:
                run = load_run(d)
            except (OSError, ValueError, KeyError, TypeError, csv.Error, yaml.YAMLError) as exc:
                notes.append(
                    f"warning: {d} is damaged, skipped ({type(exc).__name__}: {first_line(exc, 'unreadable')})"
                )
                continue
            if run is None:
                notes.append(f"{d}: no evaluation yet, left out")
            else:
                runs.append(run)
    split_variants(runs)
    return runs, notes


def finished_runs(runs: list[Run]) -> tuple[list[Run], list[str]]:
    """The runs that reached their configured steps, and a note per run that did not."""
    kept, notes = [], []
    for r in runs:
        if r.steps[-1] < r.target_steps:
            notes.append(f"{r.path}: stopped at step {r.steps[-1]} of {r.target_steps}, left out of the final scores")
        else:
            kept.append(r)
    return kept, notes


def on_envs(runs: list[Run], envs: list[str]) -> list[Run]:
    """The runs on ``envs``; an env no run is on is a one-line ``UserError`` naming those found."""
    found = sorted({r.env for r in runs})
    envs = [canonical_env(e) for e in envs]
    missing = [e for e in dict.fromkeys(envs) if e not in found]
    if missing:
        raise UserError(f"--env {missing[0]!r}: no run on it; the runs are on {', '.join(found) or 'no env'}")
    return [r for r in runs if r.env in envs]
