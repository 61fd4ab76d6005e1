"""Shared terminal output: one rich console, and how user-facing errors end a command."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a user-facing error (no traceback) and exit non-zero.

    The message is escaped: it often quotes what the user typed, and "[/x]" there is not rich markup
    (it would raise). One line, not wrapped to the terminal width, so scripts can grep it.
    """
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    # Plain print, not rich: JSON consumers must get exactly the bytes, with no wrapping or colour.
    print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
