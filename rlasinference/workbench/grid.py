"""``rlai sample`` over a grid: samplers x targets x seeds, in parallel and resumable, then one
table of per-target medians with bootstrap confidence intervals and one image of every fit.

Each fit is an ordinary ``rlai sample`` output directory ``<grid>/<sampler>-<target>-s<seed>``;
one that holds ``metrics.json`` is done and skipped, so an interrupted grid is finished by
running the same command again.
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlasinference.core.errors import UserError, first_line
from rlasinference.core.files import atomic_path, save_figure
from rlasinference.workbench.run import FitSettings

METRICS = ("mode_coverage", "mass_coverage", "kl", "kl_bound", "mmd", "seconds")


@dataclass(frozen=True)
class Fit:
    sampler: str
    target: str
    seed: int

    @property
    def name(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{self.sampler}-{self.target}-s{self.seed}")


SPEC_KEYS = {
    "name", "samplers", "targets", "seeds", "tau", "steps", "batch", "lr", "anneal", "anneal_from", "objective", "set",
}  # fmt: skip


# the types of the spec's values that the flags' checks do not see (those check the numbers)
SCALARS: tuple[tuple[str, type, str], ...] = (
    ("name", str, "a name"),
    ("seeds", int, "an integer"),
    ("objective", str, "a name"),
)


def load_spec(path: Path) -> dict[str, Any]:
    """A grid spec from YAML (``benchmarks/workbench.yaml``): samplers, targets, seeds and the fit
    settings, with ``set`` a mapping of ``sampler.<option>`` values for every sampler."""
    from rlasinference.core.settings import load_yaml_config

    spec = load_yaml_config(path, "grid spec", "keys (" + ", ".join(sorted(SPEC_KEYS)) + ")")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise UserError(f"unknown grid key {sorted(unknown)[0]!r}; valid: {', '.join(sorted(SPEC_KEYS))}")
    for key in ("samplers", "targets"):
        if not isinstance(spec.get(key), list) or not spec[key] or not all(isinstance(v, str) for v in spec[key]):
            raise UserError(f"grid spec {str(path)!r}: {key} must be a non-empty list of names")
    if not isinstance(spec.get("set") or {}, dict):
        raise UserError(f"grid spec {str(path)!r}: set must be a mapping of sampler.<option> values")
    for key, kinds, what in SCALARS:
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise UserError(f"grid spec {str(path)!r}: {key} must be {what}, got {value!r}")
    if spec.get("seeds") is not None and spec["seeds"] < 1:
        raise UserError(f"grid spec {str(path)!r}: seeds must be >= 1, got {spec['seeds']}")
    spec.setdefault("name", path.stem)
    return spec


def plan(samplers: list[str], targets: list[str], seeds: int) -> list[Fit]:
    if seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {seeds}")
    return [Fit(s, t, k) for s, t, k in itertools.product(samplers, targets, range(seeds))]


def _one(fit: Fit, settings: FitSettings, set_items: list[str], out: str) -> str:
    """One fit in a worker process (one torch thread)."""
    from rlasinference.workbench.run import run_workbench

    run_workbench(fit.sampler, fit.target, settings, fit.seed, set_items, Path(out), threads=1)
    return fit.name


def run_grid(
    fits: list[Fit], root: Path, settings: FitSettings, set_items: list[str], workers: int, say: Any
) -> list[str]:
    """Run the fits not done yet, ``workers`` at a time, each with ``settings`` and the sampler
    options ``set_items``; returns one line per failed fit."""
    todo = [f for f in fits if not (root / f.name / "metrics.json").exists()]
    say(f"{len(fits)} fits in {root}: {len(fits) - len(todo)} done (skipped), {len(todo)} to run")
    failures: list[str] = []
    context = multiprocessing.get_context("spawn")  # torch's threads do not survive a fork
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
        jobs = {pool.submit(_one, f, settings, set_items, str(root / f.name)): f for f in todo}
        for done, job in enumerate(as_completed(jobs), 1):
            fit = jobs[job]
            try:
                job.result()
                say(f"  [{done}/{len(todo)}] {fit.name}")
            except Exception as exc:  # a fit's failure is reported, the others go on
                failures.append(f"{fit.name}: {first_line(exc)}")
    return failures


def _median_ci(values: list[float], reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Median and a 95% percentile-bootstrap interval over the seeds."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    boot = np.median(x[rng.integers(0, len(x), (reps, len(x)))], axis=1)
    return float(np.median(x)), float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))


def summarise(fits: list[Fit], root: Path) -> list[dict[str, Any]]:
    """Rows (sampler, target, fits, and median / CI of each metric) over the fits that finished."""
    import json

    rows = []
    for (sampler, target), group in itertools.groupby(fits, key=lambda f: (f.sampler, f.target)):
        results = []
        for f in group:
            path = root / f.name / "metrics.json"
            if path.exists():
                results.append(json.loads(path.read_text()))
        row: dict[str, Any] = {"sampler": sampler, "target": target, "fits": len(results)}
        for metric in METRICS:
            values = [r[metric] for r in results if r.get(metric) is not None]
            row[metric] = _median_ci(values) if values else None
        rows.append(row)
    return rows


def _cell(value: tuple[float, float, float] | None) -> str:
    if value is None:
        return "—"
    mid, lo, hi = value
    fmt = "{:.0f}" if abs(mid) >= 100 else "{:.3g}"
    return f"{fmt.format(mid)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def write_table(rows: list[dict[str, Any]], root: Path) -> str:
    """table.md and table.csv in ``root``; returns the markdown."""
    with atomic_path(root / "table.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sampler", "target", "fits"] + [f"{m}{s}" for m in METRICS for s in ("", "_low", "_high")])
        for r in rows:
            cells = [c for m in METRICS for c in (r[m] if r[m] is not None else ("", "", ""))]
            writer.writerow([r["sampler"], r["target"], r["fits"], *cells])
    lines = [
        "Median over seeds [95% bootstrap interval]; coverage with mode radii (docs/workbench.md).",
        "",
        "| sampler | target | fits | mode coverage | mass coverage | kl | kl_bound | mmd | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['sampler']} | {r['target']} | {r['fits']} | " + " | ".join(_cell(r[m]) for m in METRICS) + " |"
        for r in rows
    ]
    text = "\n".join(lines) + "\n"
    (root / "table.md").write_text(text)
    return text


def plot_grid(fits: list[Fit], root: Path, tau: float) -> Path | None:
    """samples.png of every (sampler, target), seed 0, in one image: rows samplers, columns targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    samplers = list(dict.fromkeys(f.sampler for f in fits))
    targets = list(dict.fromkeys(f.target for f in fits))
    lowest = min(f.seed for f in fits)
    first = {(f.sampler, f.target): root / f.name / "samples.png" for f in fits if f.seed == lowest}
    if not any(p.exists() for p in first.values()):
        return None
    rows, cols = len(samplers), len(targets)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 2.3 * rows + 0.3), dpi=90, squeeze=False)
    for (i, s), (j, t) in itertools.product(enumerate(samplers), enumerate(targets)):
        ax = axes[i][j]
        ax.axis("off")
        path = first.get((s, t))
        if path is not None and path.exists():
            ax.imshow(mpimg.imread(path))
    fig.suptitle(f"seed 0 of each fit, tau = {tau:g} (target left, samples right)")
    return save_figure(fig, root / "grid.png")


def default_root(samplers: list[str], targets: list[str]) -> Path:
    name = "_".join(samplers) + "-" + "_".join(targets)
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", name)[:80]
    return Path("runs") / f"sample-grid-{name}"
