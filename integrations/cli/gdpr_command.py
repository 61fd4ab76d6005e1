"""`crm gdpr export CUSTOMER [--out FILE]` and `crm gdpr erase CUSTOMER [--yes]`.

CUSTOMER is an id, an external id or the exact name; a name several customers share is
refused with the candidates listed. Both commands run as the local operator (admin) unless
``--as EMAIL`` names a staff user, who must then be an admin. What erase keeps, deletes and
blanks is described in ``storage/gdpr.py``; the preview lists it before the prompt.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from integrations.cli.output import console, err_console, fail, print_json

gdpr_app = typer.Typer(help="GDPR: export everything held about a customer, or erase (anonymise) them.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(gdpr_app, name="gdpr")


@gdpr_app.command("export")
def export(
    customer: str = typer.Argument(..., help="Customer id, external id or exact name."),
    out: Path | None = typer.Option(None, "--out", "-o", help="The JSON file to write "
                                    "(default: ./gdpr-export-customer-ID-TIME.json)."),
    as_email: str | None = typer.Option(None, "--as", help="Run as this staff user (must be an admin)."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Write one JSON file of everything held about a customer (rows, mentions, vectors); audited."""
    from tools.gdpr import customer_id_of, export_customer

    ctx = _context(as_email)
    with _tool_errors():
        cid = customer_id_of(ctx, customer=customer)
        path = out or Path(f"gdpr-export-customer-{cid}-{datetime.now():%Y%m%dT%H%M%S}.json")
        if path.is_dir():
            fail(f"{path} is a directory; give a file name")
        with console.status("collecting everything held about the customer…"):
            result = export_customer(ctx, customer=cid, out=path)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    for line in result.lines():
        console.print(line, highlight=False, markup=False)


@gdpr_app.command("erase")
def erase(
    customer: str = typer.Argument(..., help="Customer id, external id or exact name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Erase without asking."),
    purge_index: bool = typer.Option(False, "--purge-index", help="Then rebuild and vacuum the vector store, so "
                                     "Chroma's files keep no deleted text (re-embeds everything; slow)."),
    as_email: str | None = typer.Option(None, "--as", help="Run as this staff user (must be an admin)."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Anonymise a customer: personal fields, notes, tags, mentions and vectors; figures stay. Audited."""
    from tools.gdpr import erase_customer

    ctx = _context(as_email)
    with _tool_errors():
        target: str | int = customer
        if not yes:
            with console.status("checking what would be erased…"):
                preview = erase_customer(ctx, customer=customer, dry_run=True)
            # By id from here on: exactly the customer the preview showed, even if a name changes meanwhile.
            target = preview.customer_id
            if not preview.already_erased:
                if not as_json:
                    _print(preview.lines())
                _confirm(preview.customer_id)
        with console.status("erasing…"):
            result = erase_customer(ctx, customer=target, forget=_forget)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        _print(result.lines())
    if not result.complete:
        raise typer.Exit(1)
    if purge_index:
        _purge(ctx, as_json=as_json)


@gdpr_app.command("purge-index")
def purge_index_command(
    as_email: str | None = typer.Option(None, "--as", help="Run as this staff user (must be an admin)."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Rebuild the vector store from the database and vacuum it: no erased text stays in Chroma's files."""
    _purge(_context(as_email), as_json=as_json)


def _purge(ctx, *, as_json: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tools.gdpr_vectors import purge_vector_store

    with _tool_errors(), Progress(TextColumn("re-embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                  console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("embed", total=None)
        result = purge_vector_store(ctx, progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        _print(result.lines())
    if not result.vacuumed:
        raise typer.Exit(1)


def _interactive() -> bool:
    from integrations.cli.confirm import stdin_is_tty

    return stdin_is_tty()


def _confirm(customer_id: int) -> None:
    if not _interactive():
        fail("erasing cannot be undone: add --yes to erase without a prompt", code=2)
    if not typer.confirm(f"Erase customer #{customer_id}? This cannot be undone", default=False):
        err_console.print("cancelled; nothing was changed")
        raise typer.Exit(1)


def _forget(values) -> int:
    from assistant.gdpr_memory import forget_customer

    return forget_customer(values)


def _print(lines: list[str]) -> None:
    for line in lines:
        console.print(line, highlight=False, markup=False)


def _context(as_email: str | None):
    from sqlalchemy import inspect

    from storage.db import get_engine
    from tools.context import ToolContext

    if not inspect(get_engine()).has_table("customer"):
        fail("there is no CRM database yet; run `crm demo` (sample data) or `crm db upgrade`")
    if not as_email:
        return ToolContext.system()
    try:
        return ToolContext.for_email(as_email)
    except LookupError as exc:
        fail(str(exc))


class _tool_errors:  # noqa: N801 - used as a statement: `with _tool_errors():`
    """Tool and storage errors become one clean line (with the candidates of an ambiguous name)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, _tb) -> bool:
        from integrations.cli.tool_command import _print_error
        from storage.errors import StorageError
        from tools.errors import ToolError

        if exc is None or not isinstance(exc, ToolError | StorageError):
            return False
        _print_error(exc, as_json=False)  # raises typer.Exit(1)
