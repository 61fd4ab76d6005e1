"""Turn errors meant for users into one clean line and a non-zero exit, never a traceback.

A locked or unreachable database prints its safe message plus the driver's first line
(the terminal belongs to an operator, who needs the host and port); everything else a
user can cause (a tool error, a file that is not UTF-8) prints its message alone.
"""

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
        _die(_storage_message(exc))
    except KeyboardInterrupt:
        _die("interrupted")
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the terminal
        import click

        # Typer 0.2x ships its own copy of click: its usage errors are TyperExceptions, not click's.
        if isinstance(exc, (click.ClickException, typer.TyperException)) and hasattr(exc, "show"):
            exc.show()
            sys.exit(getattr(exc, "exit_code", 2))
        message = known_message(exc)
        if message is None:
            raise
        _die(message)


def known_message(exc: BaseException) -> str | None:
    """The one line to print for an error a user can cause, or None for a bug (which keeps its traceback)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from storage.errors import StorageError
    from storage.retry import as_unavailable, driver_detail

    try:
        from tools.errors import ToolError
    except ImportError:  # pragma: no cover
        ToolError = ()  # type: ignore[assignment]  # noqa: N806
    if isinstance(exc, StorageError):
        return _storage_message(exc)
    if isinstance(exc, ToolError):
        return str(exc)
    unavailable = as_unavailable(exc)
    if unavailable is not None:
        return _storage_message(unavailable)
    if isinstance(exc, DBAPIError):
        return f"database error: {driver_detail(exc)}"
    if isinstance(exc, ValidationError):
        # A command built a params model from what the user typed; name the field and the rule, not the value
        # (which may be 100,000 characters long).
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        return f"invalid input for {exc.title}: {problems}"
    if isinstance(exc, UnicodeDecodeError):
        return f"the input is not valid UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8"
    return None


def _storage_message(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None)
    return f"{exc} ({detail})" if detail else str(exc)


def _die(message: str) -> None:
    # One line, whatever the driver put in its message.
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(1)
