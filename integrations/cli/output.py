"""Shared terminal output: one rich console, and how user-facing errors end a command."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a user-facing error (no traceback) and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    # Plain print, not rich: JSON consumers must get exactly the bytes, with no wrapping or colour.
    print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
