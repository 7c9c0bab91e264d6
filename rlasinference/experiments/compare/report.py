"""What ``rlai compare`` shows: the tables (markdown and CSV), the learning curves and the
performance profiles."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from rlasinference.core.files import save_figure
from rlasinference.experiments.compare.stats import FEW_RUNS, METRICS, load_rliable, per_algorithm


def _number(x: float) -> str:
    """Returns in plain digits (-1834.2, 3021), normalised scores to three significant ones."""
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.3g}"


def _duration(seconds: float) -> str:
    """A run's median training time: ``-`` unknown, ``42 s``, ``12.5 min``."""
    return "-" if math.isnan(seconds) else f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.1f} min"


def _fmt(row: dict[str, Any], name: str) -> str:
    return f"{_number(row[name])} [{_number(row[f'{name}_low'])}, {_number(row[f'{name}_high'])}]"


def _fmt3(row: dict[str, Any], name: str) -> str:
    return f"{row[name]:.2f} [{row[f'{name}_low']:.2f}, {row[f'{name}_high']:.2f}]"


def verdict(row: dict[str, Any]) -> str:
    """*better* where the whole 95% interval of P(improvement) lies above 0.5, *worse* where it
    lies below, *undecided* where it holds 0.5; *too few runs* with fewer than ``FEW_RUNS`` on
    either side: runs that all end above the other side's are then no evidence (the bootstrap's
    interval of 1 run against 1 is a point; a rank test of 2 runs against 2 cannot reach 5%, of 3
    against 3 it can)."""
    if min(row["runs"], row.get("baseline_runs", row["runs"])) < FEW_RUNS:
        return "too few runs"
    if row["P(improvement)_low"] > 0.5:
        return "better"
    return "worse" if row["P(improvement)_high"] < 0.5 else "undecided"


def write_tables(
    env_rows: list[dict[str, Any]],
    agg_rows: list[dict[str, Any]],
    out: Path,
    reps: int,
    improvement: list[tuple[str, list[dict[str, Any]]]] | None = None,
    policy: str = "deterministic",
) -> str:
    """table.csv and table.md in ``out``; returns the markdown. ``improvement``: for each
    baseline, its name and the rows of :func:`improvement_table`; ``policy``: how the runs'
    evaluations acted (``deterministic``, ``stochastic``, or both, run by run)."""
    with open(out / "table.csv", "w", newline="") as f:
        fields = ["scope", "env", "algorithm", "runs", "baseline_runs", "seconds"] + [
            f"{m}{s}" for m in (*METRICS, "optimality gap", "P(improvement)") for s in ("", "_low", "_high")
        ]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows([{"scope": "env", **r} for r in env_rows])
        writer.writerows([{"scope": "aggregate", "env": "all (normalised)", **r} for r in agg_rows])
        for baseline, rows in improvement or []:
            writer.writerows([{"scope": f"against {baseline}", **r} for r in rows])
    lines = [
        f"Final {policy} evaluation return per env: point estimate [95% stratified-bootstrap CI, {reps} reps];",
        "time per run: the median wall-clock time of a run (its last time_s in metrics.csv).",
        "",
        "| env | algorithm | runs | IQM | mean | median | time per run |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['env']} | {r['algorithm']} | {r['runs']} | {_fmt(r, 'IQM')} | {_fmt(r, 'mean')} | {_fmt(r, 'median')} | "
        f"{_duration(r['seconds'])} |"
        if r["runs"]
        else f"| {r['env']} | {r['algorithm']} | mean only | - | {_number(r['mean'])} | - | - |"  # a published mean
        for r in env_rows
    ]
    if agg_rows:
        lines += [
            "",
            "Aggregate over envs, returns normalised per env by the lowest and highest final return of any run",
            "(1 = the best run seen; the optimality gap is to that run):",
            "",
            "| algorithm | runs x envs | IQM | mean | median | optimality gap |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['algorithm']} | {r['runs']} x {r['envs']} | {_fmt(r, 'IQM')} | {_fmt(r, 'mean')} | "
            f"{_fmt(r, 'median')} | {_fmt(r, 'optimality gap')} |"
            for r in agg_rows
        ]
    for baseline, rows in improvement or []:
        lines += [
            "",
            f"Against {baseline}: the probability that a run of the algorithm ends above a run of {baseline}",
            "(0.5: no difference; above 0.5 with the whole interval above it: better; all: the mean over the",
            f"envs where both ran; no verdict with fewer than {FEW_RUNS} runs on either side):",
            "",
            f"| env | algorithm | runs | P(improvement over {baseline}) | verdict |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['env']} | {r['algorithm']} | {r['runs']} | {_fmt3(r, 'P(improvement)')} | {verdict(r)} |"
            for r in rows
        ]
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


def _colour_key(label: str) -> str:
    """A curve's label without the task version a published label may carry."""
    return re.sub(r", v\d+\)$", ")", label)


def palette(labels: Iterable[str]) -> dict[str, Any]:
    """One colour per algorithm, keyed by ``_colour_key``: a published label names the task version
    only where it differs from the panel's ("sac (published, v4)" beside v5, "sac (published)" on
    v4). Made once from every label of a comparison, so the curves and the profile agree. tab10's
    ten colours first, then tab20's lighter shades of them: twenty algorithms before two share one."""
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    keys = sorted({_colour_key(label) for label in labels})
    return {key: cmap((2 * i + i // 10) % 20) for i, key in enumerate(keys)}


def plot_curves(
    data: dict[str, dict[str, tuple[np.ndarray, ...]]],
    path: Path,
    colours: dict[str, Any] | None = None,
    means: Iterable[Any] = (),
) -> None:
    """One panel per env: each algorithm's IQM curve with its 95% band (published seeds: their
    mean, dashed), and each published mean (``PublishedMean``) as a star at its step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(data)
    cols = min(3, len(envs))
    rows = math.ceil(len(envs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), dpi=110, squeeze=False)
    # one colour per algorithm across panels
    means = list(means)
    colours = colours or palette([label for by in data.values() for label in by] + [m.label for m in means])
    handles: dict[str, Any] = {}
    runs_of: dict[str, set[int]] = {}
    for ax, env in zip(axes.flat, envs, strict=False):
        for m in (m for m in means if m.env == env):
            key = _colour_key(m.label)
            (point,) = ax.plot([m.step], [m.mean], ls="none", marker="*", ms=11, color=colours[key], zorder=3)
            handles.setdefault(key, (point, m.label))
            runs_of.setdefault(key, set())
        for label, (steps, iqm, low, high, runs) in data[env].items():
            style = {"ls": "--", "marker": "o", "ms": 3} if "(published" in label else {}
            key = _colour_key(label)
            (line,) = ax.plot(steps, iqm, lw=1.6, color=colours[key], **style)
            ax.fill_between(steps, low, high, color=colours[key], alpha=0.2, lw=0)
            handles.setdefault(key, (line, label))
            runs_of.setdefault(key, set()).add(int(runs))
        ax.set_title(env)
        ax.set_xlabel("env steps")
        published = any("(published" in label for label in data[env]) or any(m.env == env for m in means)
        ax.set_ylabel("eval return (IQM" + ("; published: mean" if published else "") + "; 95% CI)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(envs) :]:
        ax.set_visible(False)
    # one legend under the panels (a colour is one algorithm in every panel): a legend inside a
    # panel hides the curves it names once there are a dozen of them
    labels = [f"{label} ({_runs_text(runs_of[key])})" if runs_of[key] else label for key, (_, label) in handles.items()]
    fig.tight_layout()
    fig.legend(
        [line for line, _ in handles.values()],
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(cols, 3),
        fontsize=8,
        frameon=False,
    )
    save_figure(fig, path, bbox_inches="tight")


def _runs_text(runs: set[int]) -> str:
    """``3 runs``, or ``3-5 runs`` where the panels differ."""
    low, high = min(runs), max(runs)
    count = f"{low}" if low == high else f"{low}-{high}"
    return f"{count} run" + ("s" if high != 1 else "")


def plot_profiles(scores: dict[str, np.ndarray], path: Path, reps: int, colours: dict[str, Any] | None = None) -> None:
    """Performance profiles: the fraction of runs (over envs) with normalised score above x,
    each algorithm in its colour of ``colours`` (``palette`` of a set of labels holding these)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    library, _ = load_rliable()
    taus = np.linspace(0.0, 1.0, 51)
    profiles, cis = per_algorithm(partial(library.create_performance_profile, tau_list=taus, reps=reps), scores, 0)
    colours = colours or palette(scores)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for label in scores:
        colour = colours[_colour_key(label)]
        ax.plot(taus, profiles[label], lw=1.6, label=label, color=colour)
        ax.fill_between(taus, cis[label][0], cis[label][1], color=colour, alpha=0.2, lw=0)
    ax.set_xlabel("normalised score x (per env: 0 the lowest, 1 the highest final return seen)")
    ax.set_ylabel("fraction of runs with score > x")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
