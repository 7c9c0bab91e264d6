"""Sweeps from Python: ``sweep`` (``rlai sweep``)."""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlasinference.api.values import as_list
from rlasinference.core.errors import UserError


@dataclass
class SweepTrial:
    """One trial of a sweep: its run directory's name, what the sweep did with it (``status``:
    ``finished``, ``skipped`` (finished before), ``failed`` or ``unfinished``; in a dry run what
    it would do: ``done``, ``resume``, ``new`` or ``running``), the step its checkpoint had
    reached when planned, its last evaluation return, the process running it (a dry run's look at
    a live trial) and where it was found finished when not in the sweep's directory (``keep``)."""

    name: str
    status: str
    step: int = 0
    final_return: float | None = None
    owner: str = ""
    kept: Path | None = None


@dataclass
class SweepResult:
    """What :func:`sweep` planned and ran: ``dir`` (the sweep directory), its ``name``, the
    ``trials`` in the sweep's order and one line per failed trial (``failures``). ``ok``: every
    trial finished (a failed or interrupted one is worth running again: the same call resumes);
    always true for a dry run, which runs nothing."""

    dir: Path
    name: str
    trials: list[SweepTrial] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.dry_run or all(t.status in ("finished", "skipped") for t in self.trials)


def sweep_spec(
    spec: str | Path | Mapping[str, Any] | None = None,
    algo: str | Iterable[str] = (),
    sampler: str | Iterable[str] = (),
    env: str | Iterable[str] = (),
    seeds: int | None = None,
    config: Mapping[str, Any] | None = None,
    grid: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The sweep spec (the YAML file's mapping: name, seeds, set, runs) from a file or mapping
    and/or the axes: ``algo``, ``sampler``, ``env`` and ``grid`` (key -> a value or values) make
    one entry when no spec is given; ``seeds`` (0..N-1) and ``config`` (keys for every trial) win
    over the spec's ``seeds`` and ``set`` at every level (an entry's grid or axes still vary the
    keys they name)."""
    from rlasinference.experiments.grid import check_name, load_spec

    axes = {k: v for k, v in (("algo", as_list(algo)), ("sampler", as_list(sampler)), ("env", as_list(env))) if v}
    grid_values = {key: as_list(values) for key, values in (grid or {}).items()}
    if spec is not None:
        if isinstance(spec, Mapping):
            out = copy.deepcopy(dict(spec))
            out.setdefault("name", "sweep")
            check_name(out["name"])
        else:
            out = load_spec(Path(spec))
        if axes or grid_values:
            raise UserError("give the grid either in the sweep file or by --algo/--sampler/--env/--grid, not both")
    else:
        if not axes and not grid_values:
            raise UserError("give a sweep file, or at least one of --algo, --sampler, --env, --grid")
        name = "-".join("_".join(v) for v in axes.values()) or "grid"
        out = {"name": re.sub(r"[^A-Za-z0-9_.=-]+", "_", name), "runs": [{**axes, "grid": grid_values}]}
    if seeds is not None:
        out["seeds"] = seeds
        for entry in out.get("runs") or []:
            if isinstance(entry, dict):
                entry.pop("seeds", None)
    if config:  # the caller's keys win over the file's set, at every level
        config = {
            key: as_list(value)[0] if getattr(value, "ndim", None) == 0 else value for key, value in config.items()
        }
        out["set"] = {**(out.get("set") or {}), **config}
        for entry in out.get("runs") or []:
            if isinstance(entry, dict) and isinstance(entry.get("set"), dict):
                entry["set"] = {**entry["set"], **config}
    return out


def sweep(
    spec: str | Path | Mapping[str, Any] | None = None,
    algo: str | Iterable[str] = (),
    sampler: str | Iterable[str] = (),
    env: str | Iterable[str] = (),
    seeds: int | None = None,
    config: Mapping[str, Any] | None = None,
    grid: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    keep: str | Path | None = None,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    max_concurrent: int | None = None,
    address: str | None = None,
    dry_run: bool = False,
    log: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run a grid of presets x samplers x envs x seeds x config values on Ray Tune, each trial a
    run directory under ``out`` (default ``runs/sweep-<name>``). Calling it again skips the
    finished trials and resumes the interrupted ones from their checkpoints.

    :param spec: a sweep YAML file or its mapping (name, seeds, set, runs: docs/experiments.md);
        or none, and ``algo`` / ``sampler`` / ``env`` / ``grid`` give one entry.
    :param seeds: seeds 0..N-1 of every entry (over the spec's).
    :param config: config keys for every trial (over the spec's), e.g. ``{"steps": 20000}``.
    :param grid: config key -> values (a list, or one value), crossed with the rest.
    :param keep: also copy each finished trial there without its checkpoints; a trial finished
        there is skipped.
    :param cpus_per_trial: CPUs per trial, also its torch threads.
    :param address: a Ray cluster's address (e.g. ``auto``); default, a local Ray.
    :param dry_run: plan only: each trial's status is what the sweep would do; nothing is written.
    :param log: called with the plan's line before the trials start.
    """
    from rlasinference.experiments.sweep import (
        check_keep,
        check_resources,
        execute,
        final_returns,
        keep_finished,
        plan,
        unfinished,
        write_spec,
    )
    from rlasinference.training.lock import RunLock
    from rlasinference.training.run_dir import make_dir

    say = log or (lambda line: None)
    spec_dict = sweep_spec(spec, algo, sampler, env, seeds, config, grid)
    try:  # written to the sweep directory as YAML once it runs: checked before anything is made
        yaml.safe_dump(spec_dict)
    except yaml.YAMLError as exc:
        raise UserError(f"a sweep's spec holds plain values (numbers, strings, lists, mappings): {exc}") from None
    if out is not None and not str(out).strip():
        raise UserError("--out must name a directory, got an empty path")
    sweep_dir = Path(out) if out is not None else Path("runs") / f"sweep-{spec_dict['name']}"
    keep_dir = Path(keep) if keep is not None else None
    if keep_dir is not None:
        check_keep(keep_dir, sweep_dir)
    local = address is None
    check_resources(cpus_per_trial, gpus_per_trial, max_concurrent, local)
    with contextlib.ExitStack() as stack:
        if not dry_run:  # one sweep per directory: a second one on it stops here (a dry run writes nothing)
            make_dir(sweep_dir, "sweep directory")
            stack.enter_context(RunLock(sweep_dir, "sweep").acquire())
        threads = max(1, int(cpus_per_trial))
        planned = plan(spec_dict, sweep_dir, threads=threads, look=dry_run, keep=keep_dir, local=local)
        counts = {a: sum(p.action == a for p in planned) for a in ("done", "resume", "new", "running")}
        running = f", {counts['running']} running now" if counts["running"] else ""
        say(
            f"{len(planned)} trials in {sweep_dir}: {counts['done']} finished (skipped), "
            f"{counts['resume']} to resume, {counts['new']} new{running}"
        )
        result = SweepResult(sweep_dir, str(spec_dict["name"]), dry_run=dry_run)
        if dry_run:
            result.trials = [SweepTrial(p.trial.name, p.action, p.step, None, p.owner, p.where) for p in planned]
            return result
        write_spec(spec_dict, sweep_dir)
        if keep_dir is not None:
            write_spec(spec_dict, keep_dir)
            keep_finished(planned, sweep_dir, keep_dir)
        result.failures = execute(planned, sweep_dir, cpus_per_trial, gpus_per_trial, max_concurrent, address, keep_dir)
        left = unfinished(planned, sweep_dir)
    finals = final_returns(sweep_dir, planned)
    failed = {line.split(":", 1)[0] for line in result.failures}
    for p in planned:
        name = p.trial.name
        if name in failed:
            status = "failed"
        elif name in left:
            status = "unfinished"
        else:
            status = "skipped" if p.action == "done" else "finished"
        result.trials.append(SweepTrial(name, status, p.step, finals[name], p.owner, p.where))
    return result
