"""Start or continue the training of one run directory (``rlai train``, ``resume`` and ``sweep``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlasinference.core.errors import UserError
from rlasinference.training.checkpoint import load_checkpoint
from rlasinference.training.config import Config
from rlasinference.training.loop import LAST, Trainer
from rlasinference.training.run_dir import create_run_dir, discard_run_dir, record_command, write_config


def checkpoint_step(run_dir: Path) -> int | None:
    """The env step of ``run_dir``'s last checkpoint, ``None`` without one. Memory-mapped, so the
    replay buffer inside is not read."""
    path = run_dir / "checkpoints" / LAST
    return int(load_checkpoint(path, mmap=True)["step"]) if path.is_file() else None


def run_training(
    cfg: Config,
    run_dir: Path,
    *,
    new: bool,
    quiet: bool = False,
    on_eval: Callable[[int, float], None] | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Train a new run in ``run_dir`` (``new``) or continue it from its last checkpoint; returns
    the trainer's summary. ``on_eval(step, eval_return)`` is called after every evaluation;
    ``command`` goes to command.txt (default: this process's command line)."""
    if new:
        created = not run_dir.exists()
        create_run_dir(run_dir, cfg, command)
    else:
        done = checkpoint_step(run_dir)
        if done is None:
            raise UserError(f"no checkpoint in {str(run_dir)!r} to resume from")
        if done >= cfg.run.steps:
            raise UserError(f"run {str(run_dir)!r} already reached step {done}; pass --steps N (> {done}) to extend it")
    try:
        trainer = Trainer(cfg, run_dir, quiet=quiet, resume=not new, on_eval=on_eval)
    except UserError:
        if new:  # the env or agent could not be built: leave no half-made run behind
            discard_run_dir(run_dir, created)
        raise
    if not new:
        write_config(run_dir, cfg)
        record_command(run_dir, command)
    return trainer.train()
