"""``rlai sweep`` and ``rlai compare``: many runs at once, and honest statistics over them."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from rlasinference.cli.output import console, err_console, fail, out_path, say
from rlasinference.core.errors import UserError


def sweep(
    spec_file: Annotated[
        Path | None, typer.Argument(help="Sweep YAML (name, seeds, set, runs); or give the grid by flags.")
    ] = None,
    algo: Annotated[list[str] | None, typer.Option(help="Preset; repeat for several.")] = None,
    sampler: Annotated[list[str] | None, typer.Option(help="Sampler; repeat for several.")] = None,
    env: Annotated[list[str] | None, typer.Option(help="Env id; repeat for several.")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds 0..N-1 of every entry (overrides the file's).")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Config key=value for every trial, repeatable.")
    ] = None,
    grid: Annotated[
        list[str] | None, typer.Option(help="Config key=v1,v2,... crossed with the rest, repeatable.")
    ] = None,
    out: Annotated[str | None, typer.Option(help="Sweep directory. \\[default: runs/sweep-<name>]")] = None,
    cpus_per_trial: Annotated[float, typer.Option(help="CPUs per trial (also its torch threads).")] = 1.0,
    gpus_per_trial: Annotated[float, typer.Option(help="GPUs per trial (with --set device=cuda).")] = 0.0,
    max_concurrent: Annotated[int | None, typer.Option(help="At most this many trials at once.")] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (e.g. auto); default: a local Ray on this machine.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the trials and what would run; run nothing.")
    ] = False,
    keep: Annotated[
        Path | None,
        typer.Option(
            help="Also copy each finished trial here without its checkpoints (small enough to commit); "
            "a trial finished here is skipped."
        ),
    ] = None,
) -> None:
    """Run a grid of presets x samplers x envs x seeds x config values on Ray.

    Every trial is a run directory under the sweep directory; running the same sweep again skips
    finished trials and resumes interrupted ones from their checkpoints."""
    from rlasinference.core.settings import parse_set
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

    stack = contextlib.ExitStack()
    try:
        spec = _spec(spec_file, algo, sampler, env, seeds, parse_set(set_ or []), grid or [])
        sweep_dir = out_path(out) or Path("runs") / f"sweep-{spec['name']}"
        if keep is not None:
            check_keep(keep, sweep_dir)
        local = address is None
        check_resources(cpus_per_trial, gpus_per_trial, max_concurrent, local)
        if not dry_run:  # one sweep per directory: a second one on it stops here (a dry run writes nothing)
            make_dir(sweep_dir, "sweep directory")
            stack.enter_context(RunLock(sweep_dir, "sweep").acquire())
        planned = plan(spec, sweep_dir, threads=max(1, int(cpus_per_trial)), look=dry_run, keep=keep, local=local)
        counts = {a: sum(p.action == a for p in planned) for a in ("done", "resume", "new", "running")}
        running = f", {counts['running']} running now" if counts["running"] else ""
        say(
            f"{len(planned)} trials in {sweep_dir}: {counts['done']} finished (skipped), "
            f"{counts['resume']} to resume, {counts['new']} new{running}"
        )
        if dry_run:
            for p in planned:
                # a running trial with no checkpoint yet has no step to show
                step = f" (at step {p.step})" if p.action != "new" and (p.step or p.action != "running") else ""
                owner = f" by {p.owner}" if p.owner else ""
                kept = f" in {p.where}" if p.where is not None else ""
                say(f"  {p.action:<7} {p.trial.name}{step}{owner}{kept}")
            return
        write_spec(spec, sweep_dir)
        if keep is not None:
            write_spec(spec, keep)
            keep_finished(planned, sweep_dir, keep)
        failures = execute(planned, sweep_dir, cpus_per_trial, gpus_per_trial, max_concurrent, address, keep)
        left = unfinished(planned, sweep_dir)
    except UserError as exc:
        raise fail(str(exc)) from None
    finally:
        stack.close()
    finals = final_returns(sweep_dir, planned)
    failed = {line.split(":", 1)[0] for line in failures}
    table = Table(title=f"sweep {escape(str(spec['name']))}", title_justify="left")
    for col in ("run", "status", "final eval return"):
        table.add_column(col)
    for p in planned:
        value = finals[p.trial.name]
        if p.trial.name in failed:
            status = "failed"
        elif p.trial.name in left:
            status = "unfinished"
        else:
            status = "skipped" if p.action == "done" else "finished"
        table.add_row(escape(p.trial.name), status, "-" if value is None else f"{value:.2f}")
    console.print(table)
    for line in failures:
        say(line, err=True, label="failed:")
    interrupted = len(left - failed)
    if interrupted:
        say(f"{interrupted} trials unfinished (interrupted?): run the same command again to continue them", err=True)
    say(f"compare with: rlai compare {keep if keep is not None else sweep_dir}")
    if failures or interrupted:
        raise typer.Exit(1)


def _spec(
    spec_file: Path | None,
    algo: list[str] | None,
    sampler: list[str] | None,
    env: list[str] | None,
    seeds: int | None,
    sets: dict[str, Any],
    grid: list[str],
) -> dict[str, Any]:
    """The sweep spec from the file and/or the flags (flags add to every entry of a file)."""
    from rlasinference.core.settings import parse_set
    from rlasinference.experiments.grid import load_spec

    axes = {k: v for k, v in (("algo", algo), ("sampler", sampler), ("env", env)) if v}
    grid_values: dict[str, list[Any]] = {}
    for item in grid:
        key, _, values = item.partition("=")
        if not key or not values:
            raise UserError(f"--grid takes key=v1,v2,..., got {item!r}")
        try:
            grid_values[key] = [parse_set([f"{key}={v}"])[key] for v in split_values(values)]
        except UserError:
            raise UserError(
                f"malformed --grid {item!r}: each value must be valid YAML, e.g. key=[16,16],[32,32]"
            ) from None
    if spec_file is not None:
        spec = load_spec(spec_file)
        if axes or grid_values:
            raise UserError("give the grid either in the sweep file or by --algo/--sampler/--env/--grid, not both")
    else:
        if not axes and not grid_values:
            raise UserError("give a sweep file, or at least one of --algo, --sampler, --env, --grid")
        name = "-".join("_".join(v) for v in axes.values()) or "grid"
        spec = {"name": re.sub(r"[^A-Za-z0-9_.=-]+", "_", name), "runs": [{**axes, "grid": grid_values}]}
    if seeds is not None:
        spec["seeds"] = seeds
        for entry in spec.get("runs") or []:
            if isinstance(entry, dict):
                entry.pop("seeds", None)
    if sets:  # flags win over the file, at every level
        spec["set"] = {**(spec.get("set") or {}), **sets}
        for entry in spec.get("runs") or []:
            if isinstance(entry, dict) and isinstance(entry.get("set"), dict):
                entry["set"] = {**entry["set"], **sets}
    return spec


def split_values(text: str) -> list[str]:
    """``--grid``'s ``v1,v2,...`` split at the commas outside brackets: ``[16,16],[32,32]`` is two
    lists."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[{("
        depth -= ch in "]})"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def compare(
    paths: Annotated[list[Path], typer.Argument(help="Run directories and/or directories of runs (a sweep).")],
    out: Annotated[
        str | None, typer.Option(help="Output directory. \\[default: <sweep>/compare, or runs/compare]")
    ] = None,
    reps: Annotated[int, typer.Option(help="Bootstrap resamples for the confidence intervals.")] = 5000,
    reference: Annotated[
        list[Path] | None,
        typer.Option(help="Published per-seed results (CSV: algo, env, seed, step, eval_return), shown beside ours."),
    ] = None,
    reference_algo: Annotated[
        list[str] | None, typer.Option(help="Only these algorithms of --reference (repeatable).")
    ] = None,
    export: Annotated[
        Path | None, typer.Option(help="Also write our runs' per-seed results to this CSV (the --reference format).")
    ] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            help="Also give each algorithm's probability of ending above this one (e.g. sac), with CIs; repeatable."
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(help="Only the runs on these envs (repeatable); the aggregate and profiles are over them."),
    ] = None,
) -> None:
    """Statistics over runs: IQM, mean, median, optimality gap with 95% CIs, curves, profiles.

    rliable's stratified bootstrap; writes table.md, table.csv, curves.png and profiles.png.
    --reference adds published results (e.g. benchmarks/reference/mujoco_published.csv) to the
    table and the curves, matched by env name (or by name without version: Hopper-v4 for
    Hopper-v5, labelled so); --export writes ours in the same format. The aggregate and the
    profiles take the algorithms that ran on every env compared, leaving out an env that fewer
    than half of them ran on; --env names the envs (e.g. those a partial sweep has reached for
    every algorithm)."""
    from rlasinference.api.compare import compare as run_compare

    # the bar starts with the bootstrap, after the lines that come before it
    bar = Progress(TextColumn("curves"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True)
    task = bar.add_task("curves")

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started and done < total:
            bar.start()
        bar.update(task, completed=done, total=total)
        if done >= total and bar.live.is_started:  # the tables' bootstrap follows, without a bar
            bar.stop()

    try:
        result = run_compare(
            paths,
            out=out_path(out),
            reps=reps,
            reference=reference or (),
            reference_algo=reference_algo or (),
            baseline=baseline or (),
            env=env or (),
            export=export,
            log=lambda line: say(line, err=True),
            progress=advance,
        )
    except UserError as exc:
        raise fail(str(exc)) from None
    finally:
        if bar.live.is_started:
            bar.stop()
    if result.table or result.summary:
        say(result.table or result.summary)
    for note in result.notes:
        say(f"note: {note}", err=True)
    shown_export = f"; per-seed results to {export}" if export is not None else ""
    say(f"wrote {', '.join(result.written)} to {result.out}{shown_export}")
