"""One owner per run directory: an ``flock`` on ``RUN_DIR/.lock``.

The operating system releases the lock when its process ends, however it ends (SIGKILL and a
power loss included), so a lock left by a dead process is taken over without a word, while a
second ``rlai train``, ``rlai resume`` or sweep trial on a live run stops with one line naming
the process that holds it. The file holds the owner's pid and command line, for that message.
It is opened without following a symbolic link (``O_NOFOLLOW``): a ``.lock`` that points
elsewhere is refused, not written through.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys
from pathlib import Path

from rlasinference.core.errors import UserError

LOCK = ".lock"


class RunLock:
    """Held from ``acquire`` until ``release`` (or the process's end)."""

    def __init__(self, run_dir: Path, what: str = "run") -> None:
        self.path = run_dir / LOCK
        self.what = what  # "run", or "sweep" for a sweep's directory
        self._fd: int | None = None

    def acquire(self, command: str | None = None) -> RunLock:
        """Take the lock, or raise a ``UserError`` naming the live owner."""
        if command is None:
            command = " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as exc:
                raise UserError(_open_error(self.path, exc)) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 4096).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise UserError(
                    f"{self.what} {str(self.path.parent)!r} is in use by {owner.splitlines()[0]}; "
                    "wait for it to finish or stop it first"
                ) from None
            try:
                # the file may have been removed (a discarded run) between our open and our lock
                if os.path.exists(self.path) and os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"process {os.getpid()} ({command})\n".encode(), 0)
                    self._fd = fd
                    return self
            except OSError as exc:
                os.close(fd)
                raise UserError(f"cannot write to run directory {str(self.path.parent)!r}: {exc.strerror}") from None
            os.close(fd)

    def release(self) -> None:
        """Remove the lock file (while still holding it: a process that opened it meanwhile finds
        it gone and opens a new one, ``acquire``'s inode check) and drop the lock."""
        if self._fd is not None:
            try:
                if os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(self._fd).st_ino:
                    self.path.unlink()
            except OSError:
                pass  # (gone already, or a read-only directory: the lock is dropped all the same)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _open_error(path: Path, exc: OSError) -> str:
    if path.is_symlink():
        return f"{str(path)!r} is a symbolic link: a run's lock file must be a plain file (remove the link)"
    return f"cannot write to run directory {str(path.parent)!r}: {exc.strerror}"


def holder(run_dir: Path) -> str | None:
    """Who holds ``run_dir``'s lock now, as the one-line error a second owner gets (``None``:
    nobody, or no lock file). Looks without writing anything: the file is opened read-only, not
    created, and not followed if it is a link (a ``UserError``, the one a run would get)."""
    path = run_dir / LOCK
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(_open_error(path, exc)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 4096).decode(errors="replace").strip() or "another process"
        return f"run {str(run_dir)!r} is in use by {owner.splitlines()[0]}; wait for it to finish or stop it first"
    finally:
        os.close(fd)  # (closing drops a lock this look took)
    return None


def owner(run_dir: Path) -> str:
    """The holder's line in ``run_dir``'s lock file (``process PID (command)``), as written when
    it took the lock."""
    try:
        fd = os.open(run_dir / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            text = os.read(fd, 4096).decode(errors="replace").strip()
        finally:
            os.close(fd)
    except OSError:
        text = ""
    return text.splitlines()[0] if text else "another process"
