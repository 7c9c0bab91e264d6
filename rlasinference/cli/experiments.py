"""``rlai sweep`` and ``rlai compare``: many runs at once, and honest statistics over them."""

from __future__ import annotations

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
    from rlasinference.api.sweep import sweep as run_sweep
    from rlasinference.core.settings import parse_set

    try:
        result = run_sweep(
            spec_file,
            algo=algo or (),
            sampler=sampler or (),
            env=env or (),
            seeds=seeds,
            config=parse_set(set_ or []),
            grid=_grid(grid or []),
            out=out_path(out),
            keep=keep,
            cpus_per_trial=cpus_per_trial,
            gpus_per_trial=gpus_per_trial,
            max_concurrent=max_concurrent,
            address=address,
            dry_run=dry_run,
            log=say,
        )
    except UserError as exc:
        raise fail(str(exc)) from None
    if dry_run:
        for t in result.trials:
            # a running trial with no checkpoint yet has no step to show
            step = f" (at step {t.step})" if t.status != "new" and (t.step or t.status != "running") else ""
            owner = f" by {t.owner}" if t.owner else ""
            kept = f" in {t.kept}" if t.kept is not None else ""
            say(f"  {t.status:<7} {t.name}{step}{owner}{kept}")
        return
    table = Table(title=f"sweep {escape(result.name)}", title_justify="left")
    for col in ("run", "status", "final eval return"):
        table.add_column(col)
    for t in result.trials:
        value = "-" if t.final_return is None else f"{t.final_return:.2f}"
        table.add_row(escape(t.name), t.status, value)
    console.print(table)
    for line in result.failures:
        say(line, err=True, label="failed:")
    interrupted = sum(t.status == "unfinished" for t in result.trials)
    if interrupted:
        say(f"{interrupted} trials unfinished (interrupted?): run the same command again to continue them", err=True)
    say(f"compare with: rlai compare {keep if keep is not None else result.dir}")
    if not result.ok:
        raise typer.Exit(1)


def _grid(items: list[str]) -> dict[str, list[Any]]:
    """``--grid key=v1,v2,...`` items as key -> values (each value YAML)."""
    from rlasinference.core.settings import parse_set

    grid_values: dict[str, list[Any]] = {}
    for item in items:
        key, _, values = item.partition("=")
        if not key or not values:
            raise UserError(f"--grid takes key=v1,v2,..., got {item!r}")
        try:
            grid_values[key] = [parse_set([f"{key}={v}"])[key] for v in split_values(values)]
        except UserError:
            raise UserError(
                f"malformed --grid {item!r}: each value must be valid YAML, e.g. key=[16,16],[32,32]"
            ) from None
    return grid_values


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
        typer.Option(
            help="Published results shown beside ours: per seed (CSV: algo, env, seed, step, eval_return) "
            "or means only (CSV: algo, env, step, mean_return)."
        ),
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
