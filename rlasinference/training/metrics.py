"""metrics.csv: the training and evaluation rows of a run (its record; ``loggers.py`` mirrors them)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlasinference.core.files import atomic_path

BASE_COLUMNS = ("step", "time_s", "sps", "episode_return", "episode_length")
EVAL_COLUMNS = ("eval_return", "eval_return_std", "eval_length")


class MetricsWriter:
    """Appends rows to ``metrics.csv``.

    :param resume_step: the step the run starts from: rows written after it (by a run that
        stopped after its last checkpoint) are dropped, so the file holds each step once. Rows
        that cannot be read (a file cut or garbled by a crash) are dropped too, and ``repaired``
        says so in one line.
    :param env_eval_columns: the env's own evaluation metrics, written as ``eval_<name>``.
    """

    def __init__(
        self,
        run_dir: Path,
        algo_columns: Sequence[str],
        resume_step: int = 0,
        env_eval_columns: Sequence[str] = (),
    ) -> None:
        self.columns = [*BASE_COLUMNS, *algo_columns, *EVAL_COLUMNS, *(f"eval_{c}" for c in env_eval_columns)]
        self.path = run_dir / "metrics.csv"
        self.repaired: str | None = None
        kept: list[dict[str, str]] = []
        if resume_step > 0 and self.path.exists():
            rows, dropped = read_rows_leniently(self.path)
            kept = [r for r in rows if int(r["step"]) <= resume_step]
            if dropped:
                self.repaired = (
                    f"{self.path} was damaged: rebuilt from its {len(kept)} readable rows up to step {resume_step} "
                    f"({dropped} unreadable lines dropped)"
                )
        self._rewrite(kept)
        self._file = open(self.path, "a", newline="")  # noqa: SIM115 (closed by close())
        self._csv = csv.DictWriter(self._file, fieldnames=self.columns)

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        # through a temporary file: a kill here must not leave the run without its history
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())

    def write(self, step: int, values: dict[str, Any]) -> None:
        row = {"step": step, **{k: _fmt(v) for k, v in values.items()}}
        self._csv.writerow(row)
        self._file.flush()

    def sync(self) -> None:
        """Force the rows written so far onto the disk (before a checkpoint that counts on them)."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _fmt(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def read_metrics(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_rows_leniently(path: Path) -> tuple[list[dict[str, str]], int]:
    """The rows of a metrics file that read whole (every column there, an integer step, numbers
    or blanks in the rest), and the count of lines that did not: NUL bytes, a cut last line or
    garbage after a power loss are skipped, not fatal."""
    text = path.read_bytes().replace(b"\0", b"").decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not lines:
        return [], 0
    header = next(csv.reader([lines[0]]))
    if "step" not in header:
        return [], len(lines)
    rows, dropped = [], 0
    for line in lines[1:]:
        try:
            values = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            dropped += 1
            continue
        row = dict(zip(header, values))
        if len(values) != len(header) or not _readable(row):
            dropped += 1
            continue
        rows.append(row)
    return rows, dropped


def _readable(row: dict[str, str]) -> bool:
    try:
        int(row["step"])
        for value in row.values():
            if value:
                float(value)
    except ValueError:
        return False
    return True


def eval_rows(run_dir: Path) -> list[dict[str, str]]:
    """The evaluation rows of ``run_dir``'s metrics.csv (none when it has no such file)."""
    path = run_dir / "metrics.csv"
    return [r for r in read_metrics(path) if r.get("eval_return")] if path.exists() else []


def last_eval_step(run_dir: Path) -> int | None:
    """The step of the last evaluation in ``run_dir``'s metrics.csv, ``None`` when it has none."""
    rows = eval_rows(run_dir)
    return int(float(rows[-1]["step"])) if rows else None
