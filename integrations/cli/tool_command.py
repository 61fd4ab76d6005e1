"""Placeholder: this module's commands are being written (see the issue that owns it)."""

import typer


def register(app: typer.Typer) -> None:
    pass
