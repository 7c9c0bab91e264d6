"""Start or continue the training of one run directory (``rlai train``, ``resume`` and ``sweep``).

The process that trains a run directory holds its lock (``training.lock``) from before it looks
at the directory until it stops. A directory whose run never reached its first checkpoint (it
was killed or crashed before) is started over from step 0, by ``resume`` as by ``train``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlasinference.core.errors import UserError
from rlasinference.training.build import LAST, print_note
from rlasinference.training.checkpoint import load_checkpoint
from rlasinference.training.config import Config
from rlasinference.training.lock import RunLock
from rlasinference.training.metrics import last_eval_step
from rlasinference.training.plot import PLOT
from rlasinference.training.run_dir import (
    CONFIG,
    MARKER,
    claim_run_dir,
    create_run_dir,
    discard_run_dir,
    is_ours,
    os_error_line,
    read_config,
    record_command,
    write_config,
)
from rlasinference.training.trainer import Trainer


def checkpoint_step(run_dir: Path) -> int | None:
    """The env step of ``run_dir``'s last checkpoint, ``None`` without one. Memory-mapped, so the
    replay buffer inside is not read; a checkpoint of an earlier format still gives its step
    (resuming it is what fails, with one line)."""
    path = run_dir / "checkpoints" / LAST
    return int(load_checkpoint(path, mmap=True, any_format=True)["step"]) if path.is_file() else None


def run_training(
    cfg: Config,
    run_dir: Path,
    *,
    new: bool,
    quiet: bool = False,
    on_eval: Callable[[int, float], None] | None = None,
    command: str | None = None,
    note: Callable[[str], None] = print_note,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Train a new run in ``run_dir`` (``new``) or continue it from its last checkpoint; returns
    the trainer's summary. ``on_eval(step, eval_return)`` is called after every evaluation;
    ``command`` goes to command.txt (default: this process's command line); ``note`` prints
    one-line notes (a run started over, a repaired metrics file); ``callbacks`` are the
    ``rlasinference.callbacks`` objects of the run. A filesystem error is a one-line
    ``UserError`` naming the path."""
    try:
        return _run(cfg, run_dir, new, quiet, on_eval, command, note, callbacks)
    except OSError as exc:
        raise UserError(os_error_line(exc, run_dir)) from None


def _run(
    cfg: Config,
    run_dir: Path,
    new: bool,
    quiet: bool,
    on_eval: Callable[[int, float], None] | None,
    command: str | None,
    note: Callable[[str], None],
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    created = marked = False
    if new:
        created, marked = claim_run_dir(run_dir)
    elif not (run_dir / CONFIG).is_file():
        raise UserError(f"{str(run_dir)!r} is not a run directory (no {CONFIG})")
    elif not is_ours(run_dir) and not (run_dir / "checkpoints" / LAST).is_file():  # (not even a lock file)
        raise UserError(
            f"{str(run_dir)!r} holds no checkpoint and no {MARKER}: it is not a run of this project to resume"
        )
    lock = RunLock(run_dir).acquire(command)
    try:
        done = checkpoint_step(run_dir) if (run_dir / CONFIG).exists() else None
        kept = last_eval_step(run_dir) if done is None and (run_dir / CONFIG).exists() else None
        if kept is not None and kept >= read_config(run_dir).run.steps:
            # a finished run kept without its checkpoints: starting over would erase its results
            raise UserError(
                f"{str(run_dir)!r} holds a finished run's results (evaluated at step {kept}) without its "
                "checkpoints: nothing to resume from; choose another --out"
            )
        if new and (run_dir / CONFIG).exists():
            if done is not None:
                raise UserError(
                    f"{str(run_dir)!r} already holds a run; use `rlai resume {run_dir}` or choose another --out"
                )
            note(f"{run_dir} holds a run that never reached its first checkpoint: starting it over")
        if not new and done is None and not is_ours(run_dir):
            raise UserError(
                f"{str(run_dir)!r} holds no checkpoint and no {MARKER}: it is not a run of this project to start over"
            )
        if not new and done is None:
            note(f"no checkpoint in {run_dir} (the run stopped before its first one): starting it over from step 0")
        finishing = not new and done is not None and done >= cfg.run.steps and not (run_dir / PLOT).exists()
        if finishing:  # killed after its last checkpoint, before its learning curve: finish that
            note(f"{run_dir} reached step {done} but not its learning curve: finishing its outputs")
        elif done is not None and done >= cfg.run.steps:
            raise UserError(
                f"run {str(run_dir)!r} already reached step {done}; to extend it give more steps than that "
                "(rlai resume --steps N, or rlasinference.resume(run_dir, steps=N))"
            )
        fresh = done is None
        if fresh:  # a best.pt without a last.pt belongs to an attempt that is started over
            (run_dir / "checkpoints" / "best.pt").unlink(missing_ok=True)
        if new:
            create_run_dir(run_dir, cfg, command, replace=True)
        try:
            trainer = Trainer(
                cfg, run_dir, quiet=quiet, resume=not fresh, on_eval=on_eval, note=note, callbacks=callbacks
            )
        except UserError:
            if new:  # the env or agent could not be built: leave no half-made run behind (lock held)
                discard_run_dir(run_dir, created, marked)
            raise
        if not new:
            write_config(run_dir, cfg)
            record_command(run_dir, command)
        return trainer.train()
    finally:
        lock.release()
