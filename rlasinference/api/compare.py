"""Comparing runs from Python: ``compare`` (``rlai compare``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlasinference.api.values import as_list
from rlasinference.core.checks import shown
from rlasinference.core.errors import UserError


@dataclass
class Comparison:
    """What :func:`compare` computed and wrote.

    ``table``: the markdown of table.md, written when at least two runs (finished ones, and
    published ones from ``reference``) are compared, else empty; ``env_rows``,
    ``aggregate_rows`` and ``improvement`` (baseline name -> rows): the rows of table.csv as
    dicts; ``written``: the files written to ``out``; ``notes``: what the statistics leave out
    or cannot say (few runs, unfinished runs, an env left out of the aggregate); ``summary``:
    the one line that stands for the table when a single run and no reference are compared."""

    out: Path
    runs: int
    table: str = ""
    env_rows: list[dict[str, Any]] = field(default_factory=list)
    aggregate_rows: list[dict[str, Any]] = field(default_factory=list)
    improvement: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: str = ""


def compare(
    paths: str | Path | Iterable[str | Path],
    out: str | Path | None = None,
    reps: int = 5000,
    reference: str | Path | Iterable[str | Path] = (),
    reference_algo: str | Iterable[str] = (),
    baseline: str | Iterable[str] = (),
    env: str | Iterable[str] = (),
    export: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """IQM, mean and median of the final evaluation returns with 95% stratified-bootstrap CIs
    (rliable), the normalised aggregate, learning curves and performance profiles of the runs
    under ``paths`` (run directories and directories of runs, such as a sweep), written to
    ``out`` (table.md, table.csv, curves.png, profiles.png; default ``<path>/compare`` for one
    path, else ``runs/compare``).

    Each of ``paths``, ``reference``, ``reference_algo``, ``baseline`` and ``env`` is one value
    or a list of them. Bad input raises :class:`UserError` before anything is written.

    :param reference: published per-seed results (CSV: algo, env, seed, step, eval_return),
        joined to the table and the curves as algorithms of their own; or published means
        (CSV: algo, env, step, mean_return), shown as a row of the table and a point on the
        curves, outside the statistics (one number has no interval).
    :param reference_algo: only these algorithms of ``reference``.
    :param baseline: for each, every algorithm's probability of ending above it, with its CI.
    :param env: only the runs on these envs (the aggregate and profiles are over them).
    :param export: also write our runs' per-seed results there (the ``reference`` format).
    :param log: called with warnings and a line when the bootstrap starts (long work).
    :param progress: called with (done, total) as the curves are bootstrapped.
    """
    from rlasinference.experiments import compare as cmp
    from rlasinference.training.run_dir import make_dir

    dirs: list[Path] = [Path(p) for p in as_list(paths)]
    references: list[Path] = [Path(p) for p in as_list(reference)]
    algos: list[str] = as_list(reference_algo)
    envs: list[str] = as_list(env)
    say = log or (lambda line: None)
    if not 100 <= reps <= 1_000_000:
        raise UserError(f"--reps must be in [100, 1000000], got {shown(reps)}")
    if not dirs:
        raise UserError("give at least one run directory or directory of runs")
    if out is not None and not str(out).strip():
        raise UserError("--out must name a directory, got an empty path")
    if algos and not references:
        raise UserError("--reference-algo needs --reference CSV")
    began = time.perf_counter()
    runs, notes = cmp.find_runs(dirs)
    if envs:
        runs = cmp.on_envs(runs, envs)
    for line in (n for n in notes if n.startswith("warning:")):
        say(line)
    notes = [n for n in notes if not n.startswith("warning:")]
    if not runs:
        raise UserError("no run with an evaluation to compare")
    out_dir = Path(out) if out is not None else dirs[0] / "compare" if len(dirs) == 1 else Path("runs") / "compare"
    finished, unfinished = cmp.finished_runs(runs)
    notes += unfinished
    published: list[cmp.Run] = []
    means: list[cmp.PublishedMean] = []
    for path in dict.fromkeys(references):  # each file once, matched to our runs only
        found, found_means, ref_notes = cmp.reference_runs(path, finished or runs, algos or None)
        notes += ref_notes
        published += found
        means += found_means
    notes += [f"{label}: a published mean, no seeds: in the table and the curves only" for label in
              dict.fromkeys(m.label for m in means)]  # fmt: skip
    baselines: list[str] = list(dict.fromkeys(as_list(baseline)))  # each once, in the order given
    for name in baselines:
        if any(m.label == name for m in means):
            raise UserError(f"--baseline {name!r} is a published mean: the probability of ending above it needs seeds")
        if finished and all(r.label != name for r in finished + published):
            raise UserError(f"--baseline {name!r} is not among the compared algorithms")
    # the inputs are good: from here on, files are written and the bootstrap runs
    make_dir(out_dir, "output directory")
    if export is not None:
        cmp.export_long_csv(runs, Path(export))
    say(f"compare: {len(runs)} runs read in {time.perf_counter() - began:.1f} s; bootstrapping ({reps} samples)")
    result = Comparison(out=out_dir, runs=len(runs))
    curves = cmp.curves((finished or runs) + published, reps, progress=progress)
    labels = [label for by in curves.values() for label in by] + [m.label for m in means]
    colours = cmp.palette(labels)  # the same in every figure
    cmp.plot_curves(curves, out_dir / "curves.png", colours, means)
    result.written.append("curves.png")
    notes += cmp.few_runs_notes(finished) + cmp.budget_notes(finished)
    if finished and len(finished) + len(published) + len(means) > 1:
        scores, _, agg_notes = cmp.normalised_scores(finished + published, every_env=bool(envs))
        notes += agg_notes
        result.env_rows = cmp.with_means(cmp.per_env_table(finished + published, reps), means)
        result.aggregate_rows = cmp.aggregate_table(scores, reps) if scores else []
        result.improvement = {b: cmp.improvement_table(finished + published, b, reps) for b in baselines}
        policies = {"stochastic" if (r.config or {}).get("eval_stochastic") else "deterministic" for r in finished}
        policy = policies.pop() if len(policies) == 1 else "deterministic or stochastic (each run's eval_stochastic)"
        result.table = cmp.write_tables(
            result.env_rows, result.aggregate_rows, out_dir, reps, list(result.improvement.items()), policy
        )
        result.written += ["table.md", "table.csv"]
        if scores:
            cmp.plot_profiles(scores, out_dir / "profiles.png", reps, colours)
            result.written.append("profiles.png")
    elif len(runs) == 1:
        r = runs[0]
        result.summary = f"{r.label} on {r.env}, seed {r.seed}: eval return {r.returns[-1]:.2f} at step {r.steps[-1]}"
    result.notes = notes
    return result
