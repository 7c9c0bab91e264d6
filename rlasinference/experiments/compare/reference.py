"""Published results in long CSV format (algo, env, seed, step, eval_return) as runs of their
own, matched to our envs; our runs exported in the same format."""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from rlasinference.core.errors import UserError
from rlasinference.core.files import atomic_path
from rlasinference.experiments.compare.runs import Run

REFERENCE_COLUMNS = ("algo", "env", "seed", "step", "eval_return")


def env_base(env: str) -> str:
    """An env id without its namespace and version: ``Hopper-v5`` -> ``Hopper``."""
    return re.sub(r"-v\d+$", "", env.split(":")[-1].split("/")[-1])


def read_long_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a long-format results CSV (``REFERENCE_COLUMNS``), checked: one line per problem."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # (-sig: a spreadsheet's byte-order mark)
            reader = csv.DictReader(f)
            missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                need = ", ".join(REFERENCE_COLUMNS)
                raise UserError(f"reference {str(path)!r} has no column {missing[0]!r}; it needs {need}")
            rows = []
            for i, row in enumerate(reader, start=2):
                if any(row.get(c) is None for c in REFERENCE_COLUMNS):
                    raise UserError(f"reference {str(path)!r}, line {i}: fewer values than the header has columns")
                try:
                    seed, step, value = int(row["seed"]), int(float(row["step"])), float(row["eval_return"])
                except (TypeError, ValueError, OverflowError):
                    seed, step, value = -1, -1, math.nan
                if seed < 0 or step < 0 or not math.isfinite(value):
                    where = f"reference {str(path)!r}, line {i}"
                    need = "seed and step must be non-negative integers, eval_return a finite number"
                    raise UserError(f"{where}: {need}")
                rows.append({"algo": row["algo"], "env": row["env"], "seed": seed, "step": step, "eval_return": value})
    except OSError as exc:
        raise UserError(f"cannot read reference {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"reference {str(path)!r} is not a UTF-8 text file") from None
    except csv.Error as exc:
        raise UserError(f"reference {str(path)!r} is not a CSV file: {exc}") from None
    return rows


def reference_runs(path: Path, runs: list[Run], algos: list[str] | None = None) -> tuple[list[Run], list[str]]:
    """The published seeds of ``path`` on the envs of ``runs``, each cut at the step those runs
    end (as one ``Run`` per seed, ``published``), and notes on what had no match."""
    rows = read_long_csv(path)
    if algos:
        unknown = sorted(set(algos) - {r["algo"] for r in rows})
        if unknown:
            raise UserError(f"reference {str(path)!r} has no algorithm {unknown[0]!r}")
        rows = [r for r in rows if r["algo"] in algos]
    out, notes = [], []
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
            steps = np.array(sorted(points))
            out.append(
                Run(path=path, label=f"{algo} (published{version})", env=env, seed=seed, steps=steps,
                    returns=np.array([points[s] for s in steps]), target_steps=end, seconds=math.nan, published=True)
            )  # fmt: skip
    return out, sorted(set(notes))


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
