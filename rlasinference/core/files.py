"""Files written whole or not at all: a temporary name beside the target, then a rename."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlasinference.core.errors import UserError


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path (same folder and suffix, so writers infer the format) to write
    instead of ``path``; it replaces ``path`` when the block ends and is removed if it raises
    (a full disk leaves neither a partial file nor a temporary one, and the old file intact)."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    # made anew by us: whatever has that name (a file cut by a kill, a link planted to redirect
    # the write) is removed, not written through
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_figure(fig: Any, path: Path, **savefig: Any) -> Path:
    """Lay out a matplotlib figure, write it to ``path`` whole (``atomic_path``) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, **savefig)
    finally:
        plt.close(fig)
    return path


def claim_output_dir(out: Path, outputs: Sequence[str], what: str) -> None:
    """Make ``out`` for a command's ``outputs`` (file names): a folder holding anything else (the
    user's own files), or one of those names as a link, is refused in one line, never written
    into or through."""
    try:
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {str(out)!r} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        other = sorted(p.name for p in out.iterdir() if p.name not in outputs or p.is_symlink())
    except OSError as exc:
        raise UserError(f"cannot create output directory {str(out)!r}: {exc.strerror}") from None
    if other:
        raise UserError(f"{str(out)!r} holds files that are not {what} ({other[0]}): choose another --out")
