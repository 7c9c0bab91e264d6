"""What every ``rlai`` command prints: plain lines, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from rlasinference.core.errors import UserError

console = Console()
err_console = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def out_path(value: str | None) -> Path | None:
    """An ``--out`` value as a path; an empty one is refused (it would mean the current folder)."""
    if value is None:
        return None
    if not value.strip():
        raise UserError("--out must name a directory, got an empty path")
    return Path(value)


def say(text: str, err: bool = False, label: str | None = None) -> None:
    """Print one plain line (no wrapping, no highlighting: scripts grep these), after ``label``
    in bold red where given. ``text`` is printed as it is, never read as Rich markup: paths and
    names the user chose may hold square brackets."""
    line = Text(text) if label is None else Text.assemble((label, "bold red"), " ", text)
    (err_console if err else console).print(line, highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit (code 2)."""
    say(message, err=True, label="error:")
    return typer.Exit(EXIT_BAD_INPUT)
