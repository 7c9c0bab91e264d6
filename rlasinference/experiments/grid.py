"""Sweep specifications: a grid of presets x samplers x envs x seeds x config values -> trials.

A spec is a YAML file (or the same built from ``rlai sweep`` flags)::

    name: quick                 # the sweep directory defaults to runs/sweep-<name>
    seeds: 3                    # 0, 1, 2 (or a list); an entry may give its own
    set: {eval_episodes: 10}    # config keys for every trial
    runs:                       # each entry is crossed over its lists, then over the seeds
      - algo: [sac, meow]       # algo, sampler, env: a value or a list
        env: Pendulum-v1
        set: {steps: 15000}     # config keys of this entry (any value, lists included)
        grid: {lr_policy: [1e-4, 3e-4]}   # config keys crossed, one list of values each

A trial is one ordinary run directory, named from its algo, sampler (when given), env, seed and
grid values; ``rlai train --config`` could produce the same run.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlasinference.core.checks import shown
from rlasinference.core.errors import UserError
from rlasinference.core.settings import load_yaml_config

AXES = ("algo", "sampler", "env")
ENTRY_KEYS = {*AXES, "seeds", "set", "grid"}
SPEC_KEYS = {"name", "seeds", "set", "runs"}


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its directory name and the config keys it trains with."""

    name: str
    overrides: dict[str, Any]


#: a sweep plans at most this many trials (a typo such as seeds: 1000000000 is refused at once)
MAX_TRIALS = 10_000
MAX_SEED = 2**32 - 1  # numpy's seed range, as a run's seed


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _seeds(value: Any, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_TRIALS:
            raise UserError(f"{where} must be a count in [1, {MAX_TRIALS}] or a list of seeds, got {shown(value)}")
        return list(range(value))
    if (
        isinstance(value, list)
        and 0 < len(value) <= MAX_TRIALS
        and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in value)
    ):
        return list(value)
    raise UserError(
        f"{where} must be a count or a list of at most {MAX_TRIALS} integers in [0, {MAX_SEED}], got {shown(value)}"
    )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where} must be a mapping of config keys")
    return dict(value)


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(value)).strip("_")


def expand(spec: dict[str, Any]) -> list[Trial]:
    """All trials of a spec, in order; a malformed spec or two trials with one name is a
    ``UserError``."""
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise UserError(f"unknown sweep key {sorted(unknown)[0]!r}; valid: {', '.join(sorted(SPEC_KEYS))}")
    runs = spec.get("runs")
    if not isinstance(runs, list) or not runs:
        raise UserError("a sweep needs `runs`: a list of entries (algo, sampler, env, seeds, set, grid)")
    common = _mapping(spec.get("set"), "set")
    default_seeds = _seeds(spec.get("seeds", 1), "seeds")
    trials: dict[str, Trial] = {}
    for i, entry in enumerate(runs):
        where = f"runs[{i}]"
        if not isinstance(entry, dict):
            raise UserError(f"{where} must be a mapping (algo, sampler, env, seeds, set, grid)")
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise UserError(f"{where}: unknown key {sorted(unknown)[0]!r}; valid: {', '.join(sorted(ENTRY_KEYS))}")
        fixed = {**common, **_mapping(entry.get("set"), f"{where}.set")}
        grid = _mapping(entry.get("grid"), f"{where}.grid")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise UserError(f"{where}.grid.{key} must be a non-empty list of values")
        axes = {k: _as_list(entry[k]) for k in AXES if k in entry}
        seeds = _seeds(entry["seeds"], f"{where}.seeds") if "seeds" in entry else default_seeds
        names = [*axes, *grid]
        for combo in itertools.product(*axes.values(), *grid.values()):
            values = dict(zip(names, combo, strict=True))
            for seed in seeds:
                overrides = {**fixed, **values, "seed": seed}
                parts = [str(values.get("algo", fixed.get("algo", "sac")))]
                if "sampler" in values or "sampler" in fixed:
                    parts.append(str(values.get("sampler", fixed.get("sampler"))))
                parts.append(str(values.get("env", fixed.get("env", "Pendulum-v1"))))
                parts += [f"{k}={values[k]}" for k in grid]
                name = "-".join(_slug(p) for p in parts) + f"-s{seed}"
                if name in trials and trials[name].overrides != overrides:
                    raise UserError(f"two trials of the sweep would share the directory {name!r}")
                trials[name] = Trial(name, overrides)
                if len(trials) > MAX_TRIALS:
                    raise UserError(f"the sweep has more than {MAX_TRIALS} trials; split it into several sweeps")
    return list(trials.values())


def load_spec(path: Path) -> dict[str, Any]:
    """A sweep spec from YAML, or a one-line ``UserError``."""
    data = load_yaml_config(path, "sweep file", "sweep keys (name, seeds, set, runs)")
    data.setdefault("name", path.stem)
    check_name(data["name"])
    return data


def check_name(name: Any) -> None:
    """A sweep's name becomes a directory name under runs/: letters, digits, ``_ . = -`` only."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.=-]+", name) or set(name) == {"."}:
        raise UserError(f"sweep name must be a plain directory name (letters, digits, _ . = -), got {name!r}")
