"""metrics.csv (training and evaluation rows) mirrored to TensorBoard."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter

BASE_COLUMNS = ("step", "time_s", "sps", "episode_return", "episode_length")
EVAL_COLUMNS = ("eval_return", "eval_return_std", "eval_length")


class MetricsWriter:
    """Appends rows to ``metrics.csv`` and scalars to TensorBoard.

    :param resume_step: on resume, rows written after this step (by a run that stopped
        after its last checkpoint) are dropped, so the file holds each step once.
    :param env_eval_columns: the env's own evaluation metrics, written as ``eval_<name>``.
    """

    def __init__(
        self,
        run_dir: Path,
        algo_columns: Sequence[str],
        resume_step: int | None = None,
        env_eval_columns: Sequence[str] = (),
    ) -> None:
        self.columns = [*BASE_COLUMNS, *algo_columns, *EVAL_COLUMNS, *(f"eval_{c}" for c in env_eval_columns)]
        self.path = run_dir / "metrics.csv"
        kept: list[dict[str, str]] = []
        if resume_step is not None and self.path.exists():
            kept = [r for r in read_metrics(self.path) if int(float(r["step"])) <= resume_step]
        self._rewrite(kept)
        self._file = open(self.path, "a", newline="")  # noqa: SIM115 (closed by close())
        self._csv = csv.DictWriter(self._file, fieldnames=self.columns)
        self._tb = SummaryWriter(str(run_dir / "tb"), purge_step=resume_step)

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def write(self, step: int, values: dict[str, Any]) -> None:
        row = {"step": step, **{k: _fmt(v) for k, v in values.items()}}
        self._csv.writerow(row)
        self._file.flush()
        for key, value in values.items():
            if key != "time_s" and isinstance(value, float | int) and math.isfinite(value):
                group = "eval" if key.startswith("eval_") else "train"
                self._tb.add_scalar(f"{group}/{key}", value, step)

    def close(self) -> None:
        self._file.close()
        self._tb.close()


def _fmt(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def read_metrics(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def eval_rows(run_dir: Path) -> list[dict[str, str]]:
    """The evaluation rows of ``run_dir``'s metrics.csv (none when it has no such file)."""
    path = run_dir / "metrics.csv"
    return [r for r in read_metrics(path) if r.get("eval_return")] if path.exists() else []
