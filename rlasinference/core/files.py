"""Files written whole or not at all: a temporary name beside the target, then a rename."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
