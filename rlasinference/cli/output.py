"""What every ``rlai`` command prints: plain lines, one-line errors, exit codes."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def say(text: str, err: bool = False) -> None:
    """Print one plain line (no wrapping, no highlighting: scripts grep these)."""
    (err_console if err else console).print(text, highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit (code 2)."""
    say(f"[bold red]error:[/] {escape(message)}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)
