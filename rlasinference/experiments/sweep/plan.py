"""A sweep's plan: every trial of its spec resolved and checked before anything runs, and what
its directory holds (finished, to resume, new, running elsewhere)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from rlasinference.core.errors import UserError
from rlasinference.core.yaml_text import read_yaml
from rlasinference.experiments.grid import Trial, expand
from rlasinference.experiments.peers import PEERS, peer_config
from rlasinference.training.build import build_agent, resolve_device
from rlasinference.training.config import RUN_KEYS, Config, resolve
from rlasinference.training.lock import holder, owner
from rlasinference.training.metrics import eval_rows, last_eval_step
from rlasinference.training.run_dir import CONFIG, read_config
from rlasinference.training.runner import checkpoint_step

SPEC_FILE = "sweep.yaml"


@dataclass
class Planned:
    """A trial with its resolved config (flat keys) and what the sweep will do with it."""

    trial: Trial
    config: dict[str, Any]
    action: str  # "done", "resume", "new", or "running" (a dry run's look at a live trial)
    step: int = 0  # of the last checkpoint
    owner: str = ""  # of a running trial: the process that holds it
    where: Path | None = None  # the directory that holds it, when not the sweep's (kept)


def _differs(stored: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """The first config key (other than ``steps``) where a trial directory's run is not the trial."""
    for key in sorted(set(stored) | set(wanted)):
        if key not in ("steps", "device") and stored.get(key) != wanted.get(key):
            return f"{key}: {stored.get(key)!r} there, {wanted.get(key)!r} in the sweep"
    return None


def _check_buildable(config: Config, flat: dict[str, Any], checked: set[str]) -> None:
    """Build the env and agent of each distinct (algo, sampler, options, env) once, on the CPU, so
    that an unknown env or an invalid combination stops the sweep before Ray starts."""
    key = repr(sorted((k, str(v)) for k, v in flat.items() if k not in RUN_KEYS - {"algo", "env"}))
    if key in checked:
        return
    _, env, _ = build_agent(config, torch.device("cpu"))
    env.close()
    checked.add(key)


def trial_step(run_dir: Path, algo: str, steps: int) -> int | None:
    """How far a trial's directory got: its last checkpoint's step (a peer's: its last
    evaluation's); ``None`` when it holds no run or none of that. A finished run kept without
    its checkpoints (config and metrics only, as benchmarks/results/ holds them) counts as
    finished: its last evaluation reached ``steps``."""
    if not (run_dir / CONFIG).exists():
        return None
    if algo in PEERS:
        return last_eval_step(run_dir)
    step = checkpoint_step(run_dir)
    if step is None and (last := last_eval_step(run_dir)) is not None and last >= steps:
        return last
    return step


def unfinished(planned: list[Planned], sweep_dir: Path) -> set[str]:
    """The trials whose directory has not reached their steps (after a sweep: interrupted or failed)."""
    steps = {p.trial.name: trial_step(_where(p, sweep_dir), p.config["algo"], p.config["steps"]) for p in planned}
    return {p.trial.name for p in planned if (steps[p.trial.name] or 0) < p.config["steps"]}


def _where(p: Planned, sweep_dir: Path) -> Path:
    return p.where if p.where is not None else sweep_dir / p.trial.name


def plan(
    spec: dict[str, Any],
    sweep_dir: Path,
    threads: int,
    look: bool = False,
    keep: Path | None = None,
    local: bool = True,
) -> list[Planned]:
    """Resolve every trial (a bad key or value fails here, before anything runs) and look at its
    directory: finished, resumable or new (peer baselines cannot resume: they start over), or
    finished in ``keep``. A trial another process is running stops the plan with one line naming
    it, or, with ``look`` (a dry run, which runs nothing), is listed as running. ``local``: the
    trials run on this machine, so their devices must exist here."""
    planned: list[Planned] = []
    checked: set[str] = set()
    for trial in expand(spec):
        overrides = {**trial.overrides, "threads": trial.overrides.get("threads", threads)}
        run_dir = sweep_dir / trial.name
        live = holder(run_dir)
        if live is not None and not look:
            raise UserError(live)
        if overrides.get("algo") in PEERS:
            config = peer_config(overrides)
        else:
            resolved = resolve(overrides)
            config = resolved.flat()
            _check_buildable(resolved, config, checked)
        if local and str(config.get("device", "cpu")) not in checked:
            resolve_device(str(config.get("device", "cpu")))
            checked.add(str(config.get("device", "cpu")))
        step = trial_step(run_dir, config["algo"], config["steps"])
        where = None
        if keep is not None and live is None and (step or 0) < config["steps"]:
            kept = trial_step(keep / trial.name, config["algo"], config["steps"])
            if kept is not None and kept >= config["steps"]:
                run_dir = where = keep / trial.name
                step = kept
        different = None
        if step is not None:
            peer = config["algo"] in PEERS
            # a peer's stored config read through today's defaults, as ours is: a key added since
            # (at its default) is no difference
            stored = peer_config(read_yaml(run_dir / CONFIG)) if peer else read_config(run_dir).flat()
            different = _differs(stored, config)
        if different is not None:
            raise UserError(
                f"{str(run_dir)!r} holds a different run ({different}); to continue it, set the sweep's value to the "
                "run's; else move it or choose another --out"
            )
        if live is not None:
            planned.append(Planned(trial, config, "running", step or 0, owner(run_dir)))
        elif step is None:
            planned.append(Planned(trial, config, "new"))
        elif step >= config["steps"]:
            planned.append(Planned(trial, config, "done", step, where=where))
        else:
            planned.append(Planned(trial, config, "new" if config["algo"] in PEERS else "resume", step))
    return planned


def check_resources(cpus_per_trial: float, gpus_per_trial: float, max_concurrent: int | None, local: bool) -> None:
    """One line for resources no trial could ever get (Ray would wait for them forever)."""
    if not math.isfinite(cpus_per_trial) or cpus_per_trial <= 0:
        raise UserError(f"--cpus-per-trial must be > 0, got {cpus_per_trial:g}")
    if not math.isfinite(gpus_per_trial) or gpus_per_trial < 0:
        raise UserError(f"--gpus-per-trial must be >= 0, got {gpus_per_trial:g}")
    if max_concurrent is not None and max_concurrent < 1:
        raise UserError(f"--max-concurrent must be >= 1, got {max_concurrent}")
    if not local:
        return
    cpus, gpus = os.cpu_count() or 1, torch.cuda.device_count()
    if cpus_per_trial > cpus:
        raise UserError(f"--cpus-per-trial {cpus_per_trial:g} is more than this machine's {cpus} CPUs")
    if gpus_per_trial > gpus:
        raise UserError(f"--gpus-per-trial {gpus_per_trial:g} is more than this machine's {gpus} GPUs")


def final_returns(sweep_dir: Path, planned: list[Planned]) -> dict[str, float | None]:
    """The last ``eval_return`` in each trial's metrics.csv (``None`` when it has none)."""
    out: dict[str, float | None] = {}
    for p in planned:
        rows = eval_rows(_where(p, sweep_dir))
        out[p.trial.name] = float(rows[-1]["eval_return"]) if rows else None
    return out


def write_spec(spec: dict[str, Any], sweep_dir: Path) -> None:
    """``sweep_dir/sweep.yaml``; in a folder that already holds another sweep's spec (a kept folder
    several sweeps share), ``sweep-<name>.yaml`` beside it, so that each sweep's spec is kept."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    path = sweep_dir / SPEC_FILE
    try:
        there = yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        there = None
    if isinstance(there, dict) and there.get("name") not in (None, spec.get("name")):
        path = sweep_dir / f"sweep-{spec.get('name')}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
