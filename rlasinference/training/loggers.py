"""Where a run's metrics go beside ``metrics.csv`` (the run's own record, kept by the trainer):
callbacks (``rlasinference.api.callbacks``) that receive every row, chosen by the run's ``log``
setting. TensorBoard is the default; Weights & Biases is optional (``pip install
'rlasinference[wandb]'``). A new logger is a class here and its name in ``LOGGERS``.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import secrets
import threading
from pathlib import Path
from typing import Any

from rlasinference.core.errors import UserError, first_line


def _scalars(values: dict[str, Any]) -> dict[str, float]:
    """The row's finite numbers, named ``train/<key>`` or ``eval/<key>`` (wall time left out)."""
    return {
        f"{'eval' if key.startswith('eval_') else 'train'}/{key}": float(value)
        for key, value in values.items()
        if key != "time_s" and isinstance(value, float | int) and math.isfinite(value)
    }


class TensorBoardLogger:
    """Every row as TensorBoard scalars in ``RUN_DIR/tb``; a resumed run drops the events a
    killed process wrote after its checkpoint (``purge_step``)."""

    def __init__(self) -> None:
        self._writer: Any = None

    def on_start(self, run_dir: Path, step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        quiet_tensorboard_thread()
        self._writer = SummaryWriter(str(run_dir / "tb"), purge_step=step)

    def on_log(self, step: int, values: dict[str, Any]) -> None:
        for tag, value in _scalars(values).items():
            self._writer.add_scalar(tag, value, step)

    def on_close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class WandbLogger:
    """Every row to a Weights & Biases run named after the run directory, with the run's
    config; files in ``RUN_DIR/wandb``. The W&B run's id is kept in ``RUN_DIR/wandb-id``, so
    ``rlai resume`` continues the same W&B run (W&B keeps steps increasing: the rows a killed
    process logged after its checkpoint keep their first values there). Online or offline as W&B's
    own settings say (``WANDB_MODE=offline`` needs no network; ``wandb sync`` uploads later)."""

    def __init__(self) -> None:
        self._run: Any = None

    def on_start(self, run_dir: Path, step: int) -> None:
        try:
            import wandb
        except ImportError:
            raise UserError("log=wandb needs the wandb package: pip install 'rlasinference[wandb]'") from None
        import yaml

        id_file = run_dir / "wandb-id"
        run_id = id_file.read_text().strip() if id_file.exists() else secrets.token_hex(4)
        id_file.write_text(run_id + "\n")
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) if (run_dir / "config.yaml").exists() else {}
        try:
            self._run = wandb.init(
                project="rlasinference", name=run_dir.name, id=run_id, resume="allow", dir=str(run_dir), config=config
            )
        except Exception as exc:  # no API key without a terminal, no network online, ...: one line
            raise UserError(
                f"wandb could not start ({first_line(exc)}); "
                "log in with `wandb login`, or run offline with WANDB_MODE=offline"
            ) from None

    def on_log(self, step: int, values: dict[str, Any]) -> None:
        self._run.log(_scalars(values), step=step)

    def on_close(self) -> None:
        if self._run is not None:
            self._run.finish()


#: the loggers a run's ``log`` setting may name (beside ``none``)
LOGGERS: dict[str, type] = {"tensorboard": TensorBoardLogger, "wandb": WandbLogger}


def logger_names(setting: str) -> list[str]:
    """The loggers of a ``log`` setting (``tensorboard``, ``wandb``, comma-separated, or ``none``)."""
    names = [name.strip() for name in setting.split(",") if name.strip()]
    if names == ["none"]:
        return []
    unknown = [name for name in names if name not in LOGGERS]
    if unknown or not names:
        choices = ", ".join([*LOGGERS, "none"])
        raise UserError(f"log must name loggers among {choices} (comma-separated), got {setting!r}")
    if "wandb" in names and importlib.util.find_spec("wandb") is None:
        raise UserError("log=wandb needs the wandb package: pip install 'rlasinference[wandb]'")
    return list(dict.fromkeys(names))


def make_loggers(setting: str) -> list[Any]:
    return [LOGGERS[name]() for name in logger_names(setting)]


@functools.cache
def quiet_tensorboard_thread() -> None:
    """TensorBoard writes its event files from a thread of its own; when that fails (a full disk)
    the thread keeps the error, which the writer raises at our next write or close (and the run
    reports in one line), and also re-raises it, which Python prints as a traceback. That second
    report is dropped; any other thread's errors print as before. Once per process."""
    from tensorboard.summary.writer.event_file_writer import _AsyncWriterThread

    previous = threading.excepthook

    def hook(args: Any) -> None:
        if isinstance(args.thread, _AsyncWriterThread) and isinstance(args.exc_value, OSError):
            return
        previous(args)

    threading.excepthook = hook
