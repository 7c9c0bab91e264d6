"""The progress bar of a training run (a silent stand-in when ``quiet``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


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
        TimeRemainingColumn(),
    )
