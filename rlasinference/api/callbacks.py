"""Callbacks: objects a run calls at its events, as Stable-Baselines3's callbacks are.

A callback is any object with some of these methods (all optional)::

    on_step(step: int) -> bool | None              after every env step (on-policy: every
                                                    vector step of num_envs envs)
    on_eval(step: int, metrics: dict) -> bool | None
                                                    after every evaluation; ``metrics`` holds
                                                    ``eval_return`` and the env's own metrics
    on_checkpoint(path: Path) -> None               after every ``last.pt`` written
    on_start(run_dir: Path, step: int) -> None      when the run (or its resumption at ``step``) begins
    on_log(step: int, values: dict) -> None         after every row of ``metrics.csv`` (training
                                                    rows and evaluation rows)
    on_close() -> None                              when this process's part of the run ends

The loggers (``rlasinference.training.loggers``: TensorBoard, Weights & Biases) are callbacks of
this kind, chosen by the run's ``log`` setting. Any of these returning ``False`` (in practice
``on_step`` or ``on_eval``) stops the run as Ctrl-C does: it saves a
checkpoint, and ``rlasinference.resume(run_dir)`` (or ``rlai resume RUN_DIR``) continues it
exactly where it stopped. Callbacks are not saved in the checkpoint: pass them again when you
resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Callback(Protocol):
    """The shape of a callback (every method optional; this protocol is for type checkers)."""

    def on_step(self, step: int) -> bool | None: ...

    def on_eval(self, step: int, metrics: dict[str, Any]) -> bool | None: ...

    def on_checkpoint(self, path: Path) -> None: ...

    def on_start(self, run_dir: Path, step: int) -> None: ...

    def on_log(self, step: int, values: dict[str, Any]) -> None: ...

    def on_close(self) -> None: ...


class StopAtReturn:
    """Stops the run at the first evaluation whose return reaches ``threshold`` (SB3's
    ``StopTrainingOnRewardThreshold``)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def on_eval(self, step: int, metrics: dict[str, Any]) -> bool:
        return not metrics["eval_return"] >= self.threshold
