"""Errors that reach the user as one line and exit code 2."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


class UserError(Exception):
    """Bad input from the user (config, env id, run directory, ...): shown as one line, exit 2."""


class NonFiniteLossError(UserError):
    """A loss became NaN or infinite; training stops and keeps the last good checkpoint."""


@contextmanager
def allocating(what: str) -> Iterator[None]:
    """Building ``what`` (a network, named by the settings that size it): a failed allocation
    becomes one line naming it and the memory it asked for."""
    try:
        yield
    except (MemoryError, RuntimeError) as exc:
        text = str(exc)
        if not isinstance(exc, MemoryError) and "allocate" not in text:
            raise
        asked = re.search(r"allocate (\d+) bytes", text) or re.search(r"allocate ([\d.]+ [KMGT]iB)", text)
        if asked is None:
            need = "more memory than is free"
        elif asked.group(1).isdigit():
            need = f"{int(asked.group(1)) / 2**30:.1f} GiB for one of its tensors"
        else:
            need = f"{asked.group(1)} for one of its tensors"
        raise UserError(f"{what} is too large for this machine: it needs {need}") from None


def first_line(exc: BaseException, empty: str | None = None) -> str:
    """The first line of ``exc``'s message; ``empty`` when it has none (default: its type's name)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else (type(exc).__name__ if empty is None else empty)


def described(exc: BaseException) -> str:
    """``Type: first line``: how an exception from a user's code (an env, a sampler, a target)
    is named in a one-line error."""
    return f"{type(exc).__name__}: {first_line(exc, '')}".rstrip(": ")
