"""Checkpoints: written atomically, read with ``weights_only=True`` (no code runs on load)."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from rlasinference.core.errors import UserError, first_line
from rlasinference.core.files import atomic_path

FORMAT = 2  # 2: critics from the critic registry (module names critic.q, critic.target, ...)


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` to ``path`` through a temporary file and a rename, so that a crash or
    Ctrl-C during the write leaves the previous checkpoint intact."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
    except (OSError, RuntimeError) as exc:  # torch.save reports a failed write as a RuntimeError
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).strip().splitlines()[0]
        raise UserError(f"cannot write checkpoint {str(path)!r}: {reason}; the previous one is untouched") from None


def load_checkpoint(path: Path, mmap: bool = False, any_format: bool = False) -> dict[str, Any]:
    """Load a checkpoint on the CPU; a missing, corrupt or foreign file is a ``UserError``.
    ``mmap``: map the file instead of reading it, so that tensors not touched (a replay buffer)
    are never read. ``any_format``: accept an earlier format too (only to read its step: a
    finished run stays finished when the format moves on)."""
    if not path.is_file():
        raise UserError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UserError(f"checkpoint {str(path)!r} is corrupt or unsafe to load: {first_line(exc)}") from None
    old = isinstance(state, dict) and isinstance(state.get("format"), int) and 0 < state["format"] < FORMAT
    if old and not any_format:
        raise UserError(
            f"checkpoint {str(path)!r} was written by an earlier rlasinference (format {state['format']}); "
            f"this version reads format {FORMAT}: train the run again, or use the version that made it"
        )
    if not old and (not isinstance(state, dict) or state.get("format") != FORMAT):
        raise UserError(f"{str(path)!r} is not an rlasinference checkpoint (format {FORMAT})")
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0 or not isinstance(state.get("agent"), dict):
        raise UserError(f"checkpoint {str(path)!r} is incomplete (no step or no agent state)")
    return state


def owned(state: Any) -> Any:
    """``state`` with every tensor copied into the process's own memory: a tensor of a mapped
    checkpoint (``load_checkpoint(mmap=True)``) that a run keeps, such as an optimizer's moment
    (``Optimizer.load_state_dict`` keeps a CPU tensor as it is), would keep the whole file mapped,
    and its disk space taken after the file is replaced, for the rest of the run."""
    if isinstance(state, torch.Tensor):
        return state.clone()
    if isinstance(state, dict):
        return {key: owned(value) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(owned(value) for value in state)
    return state
