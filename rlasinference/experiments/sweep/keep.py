"""``--keep``: finished trials copied without their checkpoints (small enough to commit), and
counted as finished on any machine."""

from __future__ import annotations

import shutil
from pathlib import Path

from rlasinference.core.errors import UserError
from rlasinference.experiments.sweep.plan import Planned
from rlasinference.training.run_dir import CONFIG

KEPT_FILES = (CONFIG, "versions.yaml", "command.txt", "metrics.csv")


def keep_run(run_dir: Path, dest: Path) -> None:
    """Copy a finished run's ``KEPT_FILES`` to ``dest`` (replacing what is there): the run
    without its checkpoints and TensorBoard files, which ``rlai compare`` reads like the run. The
    copy is made in ``.partial/`` beside ``dest``, where neither the sweep nor ``rlai compare``
    looks, and renamed into place, so a copy cut short is never taken for the run."""
    partial = dest.parent / ".partial" / dest.name
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in KEPT_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, partial / name)
    if dest.exists():
        shutil.rmtree(dest)
    partial.rename(dest)


def check_keep(keep: Path, sweep_dir: Path) -> None:
    """A ``--keep`` directory must be a directory other than the sweep's (copying a trial onto
    itself would drop its checkpoints)."""
    if keep.exists() and not keep.is_dir():
        raise UserError(f"--keep {str(keep)!r} exists and is not a directory")
    if keep.resolve() == sweep_dir.resolve():
        raise UserError(f"--keep {str(keep)!r} is the sweep directory itself; give another directory")


def keep_finished(planned: list[Planned], sweep_dir: Path, keep: Path) -> None:
    """Copy to ``keep`` the trials the sweep directory holds finished that ``keep`` does not."""
    for p in planned:
        if p.action == "done" and p.where is None:
            keep_run(sweep_dir / p.trial.name, keep / p.trial.name)
