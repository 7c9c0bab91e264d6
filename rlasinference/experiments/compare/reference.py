"""Published results as runs of their own, matched to our envs: per-seed results in long CSV
format (algo, env, seed, step, eval_return), or published means alone (algo, env, step,
mean_return: what papers without per-seed results give); our runs exported in the first format."""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlasinference.core.errors import UserError
from rlasinference.core.files import atomic_path
from rlasinference.experiments.compare.runs import Run
from rlasinference.experiments.compare.stats import METRICS

REFERENCE_COLUMNS = ("algo", "env", "seed", "step", "eval_return")
MEAN_COLUMNS = ("algo", "env", "step", "mean_return")


@dataclass
class PublishedMean:
    """A published mean return at one step, without its seeds: shown beside our runs' statistics,
    never bootstrapped (one number is no sample)."""

    label: str  # "algo (published mean)", with ", v4" where matched to our env by name alone
    env: str  # our env it is shown beside
    step: int
    mean: float


def env_base(env: str) -> str:
    """An env id without its namespace and version: ``Hopper-v5`` -> ``Hopper``."""
    return re.sub(r"-v\d+$", "", env.split(":")[-1].split("/")[-1])


def read_long_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a results CSV, checked (one line per problem): per seed (``REFERENCE_COLUMNS``) or
    published means (``MEAN_COLUMNS``: their rows have ``seed`` -1 and the mean as ``eval_return``)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # (-sig: a spreadsheet's byte-order mark)
            reader = csv.DictReader(f)
            columns = set(reader.fieldnames or [])
            means = "mean_return" in columns and "seed" not in columns
            wanted = MEAN_COLUMNS if means else REFERENCE_COLUMNS
            missing = [c for c in wanted if c not in columns]
            if missing:
                need = f"{', '.join(REFERENCE_COLUMNS)} (per seed) or {', '.join(MEAN_COLUMNS)} (published means)"
                raise UserError(f"reference {str(path)!r} has no column {missing[0]!r}; it needs {need}")
            return [_parse(row, means, f"reference {str(path)!r}, line {i}") for i, row in enumerate(reader, start=2)]
    except OSError as exc:
        raise UserError(f"cannot read reference {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"reference {str(path)!r} is not a UTF-8 text file") from None
    except csv.Error as exc:
        raise UserError(f"reference {str(path)!r} is not a CSV file: {exc}") from None


def _parse(row: dict[str, str | None], means: bool, where: str) -> dict[str, Any]:
    if any(row.get(c) is None for c in (MEAN_COLUMNS if means else REFERENCE_COLUMNS)):
        raise UserError(f"{where}: fewer values than the header has columns")
    name = "mean_return" if means else "eval_return"
    try:
        seed, step, value = -1 if means else int(str(row["seed"])), int(float(str(row["step"]))), float(str(row[name]))
    except (TypeError, ValueError, OverflowError):
        seed, step, value = -2, -1, math.nan
    if seed < -1 or (seed == -1 and not means) or step < 0 or not math.isfinite(value):
        need = ("step" if means else "seed and step") + f" must be non-negative integers, {name} a finite number"
        raise UserError(f"{where}: {need}")
    return {"algo": row["algo"], "env": row["env"], "seed": seed, "step": step, "eval_return": value}


def reference_runs(
    path: Path, runs: list[Run], algos: list[str] | None = None
) -> tuple[list[Run], list[PublishedMean], list[str]]:
    """The published results of ``path`` on the envs of ``runs``, at the step those runs end:
    per-seed results cut there (one ``Run`` per seed, ``published``) or published means at that
    step; and notes on what had no match."""
    rows = read_long_csv(path)
    if algos:
        unknown = sorted(set(algos) - {r["algo"] for r in rows})
        if unknown:
            raise UserError(f"reference {str(path)!r} has no algorithm {unknown[0]!r}")
        rows = [r for r in rows if r["algo"] in algos]
    out, means, notes = [], [], []
    for env in sorted({r.env for r in runs if not r.published}):
        end = max(r.target_steps for r in runs if r.env == env)
        exact = [r for r in rows if r["env"] == env]
        matched = exact or [r for r in rows if env_base(r["env"]) == env_base(env)]
        if not matched:
            notes.append(f"{path}: no published results for {env}")
            continue
        by_seed: dict[tuple[str, str, int], dict[int, float]] = defaultdict(dict)
        for r in matched:
            if r["step"] <= end:
                by_seed[(r["algo"], r["env"], r["seed"])][r["step"]] = r["eval_return"]
        for (algo, their_env, seed), points in sorted(by_seed.items()):
            if end not in points:
                notes.append(f"{path}: {algo} on {their_env} has no result at step {end}, left out")
                continue
            version = "" if exact else f", {their_env.rsplit('-', 1)[-1]}"
            if seed < 0:  # a published mean: one number at the step our runs end
                means.append(PublishedMean(f"{algo} (published mean{version})", env, end, points[end]))
                continue
            steps = np.array(sorted(points))
            out.append(
                Run(path=path, label=f"{algo} (published{version})", env=env, seed=seed, steps=steps,
                    returns=np.array([points[s] for s in steps]), target_steps=end, seconds=math.nan, published=True)
            )  # fmt: skip
    return out, means, sorted(set(notes))


def with_means(env_rows: list[dict[str, Any]], means: list[PublishedMean]) -> list[dict[str, Any]]:
    """``env_rows`` with a row for each published mean after its env's rows: ``runs`` 0, the mean,
    every other statistic NaN."""
    rows = list(env_rows)
    for m in means:
        at = max((i + 1 for i, r in enumerate(rows) if r["env"] == m.env), default=len(rows))
        row = {"env": m.env, "algorithm": m.label, "runs": 0, "seconds": math.nan}
        row |= {f"{name}{end}": math.nan for name in METRICS for end in ("", "_low", "_high")}
        rows.insert(at, row | {"mean": m.mean})
    return rows


def export_long_csv(runs: list[Run], path: Path) -> None:
    """Our runs' evaluation returns, one row per (algorithm, env, seed, step): the long format
    that ``--reference`` reads."""
    try:
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(REFERENCE_COLUMNS)
            for r in sorted((r for r in runs if not r.published), key=lambda r: (r.label, r.env, r.seed)):
                points = zip(r.steps, r.returns, strict=True)
                writer.writerows([r.label, r.env, r.seed, int(s), f"{x:.6g}"] for s, x in points)
    except OSError as exc:
        raise UserError(f"cannot write {str(path)!r}: {exc.strerror}") from None
