"""The progress bar of a training run (a silent stand-in when ``quiet``)."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn


class _NullProgress:
    console = Console(quiet=True)

    def __enter__(self) -> _NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None


def progress_bar(quiet: bool) -> Any:
    """A ``rich`` progress bar with the run's speed and last evaluation, or nothing if ``quiet``."""
    if quiet:
        return _NullProgress()
    return Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[sps]} steps/s"),
        TextColumn("last eval {task.fields[last_eval]}"),
        TextColumn("eta {task.fields[eta]}"),
    )


class Clock:
    """What the progress bar shows, from where the time goes: the speed of the steps that learn
    (after the warm-up, evaluations and checkpoints left out) and the remaining time as those
    steps at that speed plus the evaluations still due at their measured cost. During the
    warm-up (uniform random actions, many times faster than learning) there is no estimate."""

    def __init__(self, total: int, warmup: int, eval_every: int) -> None:
        self.total, self.warmup, self.eval_every = total, warmup, eval_every
        self.learn_steps, self.learn_time = 0, 0.0
        self.evals, self.eval_time = 0, 0.0
        self.recent_steps, self.recent_time = 0, 0.0

    def stepped(self, before: int, after: int, seconds: float) -> None:
        """Steps ``before`` to ``after`` of collecting and learning took ``seconds``."""
        self.recent_steps, self.recent_time = self.recent_steps + after - before, self.recent_time + seconds
        if before >= self.warmup:
            self.learn_steps, self.learn_time = self.learn_steps + after - before, self.learn_time + seconds

    def evaluated(self, seconds: float) -> None:
        self.evals, self.eval_time = self.evals + 1, self.eval_time + seconds

    def speed(self) -> str:
        """Env steps per second since the last call, without evaluations and checkpoints."""
        sps = self.recent_steps / self.recent_time if self.recent_time > 0 else math.nan
        self.recent_steps, self.recent_time = 0, 0.0
        return "-" if math.isnan(sps) else f"{sps:.0f}"

    def remaining(self, step: int) -> float | None:
        """Seconds left at ``step``; ``None`` before a learning step was timed."""
        if self.learn_steps == 0 or self.learn_time <= 0:
            return None
        learn = max(self.total - step, 0) * self.learn_time / self.learn_steps
        evals_left = self.total // self.eval_every - step // self.eval_every + (self.total % self.eval_every != 0)
        per_eval = self.eval_time / self.evals if self.evals else 0.0
        return learn + max(evals_left, 0) * per_eval

    def eta(self, step: int) -> str:
        seconds = self.remaining(step)
        if seconds is None:
            return "after the warm-up" if step < self.warmup else "-"
        minutes, secs = divmod(round(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}"
