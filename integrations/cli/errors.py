"""Turn errors meant for users into one clean line and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys

import typer


def run_cli(app: typer.Typer) -> None:
    from storage.errors import StorageError

    try:
        # Without standalone mode click *returns* the code of a typer.Exit raised in a command.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except StorageError as exc:
        _die(str(exc))
    except KeyboardInterrupt:
        _die("interrupted")
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the terminal
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        message = _known_message(exc)
        if message is None:
            raise
        _die(message)


def _known_message(exc: Exception) -> str | None:
    from sqlalchemy.exc import OperationalError

    try:
        from tools.errors import ToolError
    except ImportError:  # pragma: no cover
        ToolError = ()  # type: ignore[assignment]  # noqa: N806
    if isinstance(exc, ToolError):
        return str(exc)
    if isinstance(exc, OperationalError):
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"the database is unavailable: {detail}"
    return None


def _die(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)
