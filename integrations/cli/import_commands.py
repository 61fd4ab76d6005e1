"""`crm import online-retail | cdnow | csv`: bring outside data into the CRM, with a readable report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from integrations.cli.output import console, err_console, fail, print_json

if TYPE_CHECKING:
    from storage.importers import ImportReport, ProgressFn

import_app = typer.Typer(
    help="Import data: UCI Online Retail, CDNOW, or any entity from a CSV file.", no_args_is_help=True
)

ENTITIES = "customers, products, orders, order-lines, interactions"

_JSON = typer.Option(False, "--json", help="Print the full report as JSON instead of tables.")
_ERRORS_OUT = typer.Option(None, "--errors-out", help="Write every rejected row (line, kind, column, reason) to this CSV.")
_SHOW = typer.Option(20, "--show-errors", min=0, help="How many rejected rows to list on screen.")
_STRICT = typer.Option(False, "--strict", help="Exit with status 2 when any row was rejected.")


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("online-retail")
def online_retail(
    path: Path = typer.Argument(..., help="online_retail.csv or .csv.gz (UCI Online Retail columns)."),
    as_json: bool = _JSON,
    errors_out: Path | None = _ERRORS_OUT,
    show_errors: int = _SHOW,
    strict: bool = _STRICT,
) -> None:
    """Import UCI Online Retail: customers, products, invoices (C-invoices as returns) and their lines."""
    from storage.importers import import_online_retail

    # The on-screen list is capped for a 541,909-line file; --errors-out gets every skipped line.
    cap = None if errors_out else 1_000
    _run(lambda progress: import_online_retail(path, progress=progress, max_errors=cap),
         as_json=as_json, errors_out=errors_out, show_errors=show_errors, strict=strict)


@import_app.command("cdnow")
def cdnow(
    path: Path = typer.Argument(..., help="CDNOW_master.txt or CDNOW_sample.txt."),
    as_json: bool = _JSON,
    errors_out: Path | None = _ERRORS_OUT,
    show_errors: int = _SHOW,
    strict: bool = _STRICT,
) -> None:
    """Import CDNOW transactions: one order (one 'CD' line) per row, amounts and dates exact."""
    from storage.importers import import_cdnow

    cap = None if errors_out else 1_000
    _run(lambda progress: import_cdnow(path, progress=progress, max_errors=cap),
         as_json=as_json, errors_out=errors_out, show_errors=show_errors, strict=strict)


@import_app.command("csv")
def csv_command(
    path: Path = typer.Argument(..., help="The CSV file (.csv or .csv.gz) with a header line."),
    entity: str = typer.Option(..., "--entity", "-e", help=f"What the rows are: {ENTITIES}."),
    mapping: Path | None = typer.Option(
        None, "--mapping", "-m", help="YAML or JSON file mapping our field names to the file's column names."
    ),
    batch_size: int = typer.Option(5_000, "--batch-size", min=1, help="Rows committed per transaction."),
    encoding: str = typer.Option("utf-8", "--encoding", help="The file's text encoding."),
    as_json: bool = _JSON,
    errors_out: Path | None = _ERRORS_OUT,
    show_errors: int = _SHOW,
    strict: bool = _STRICT,
) -> None:
    """Import customers, products, orders, order lines or interactions from CSV.

    Rows are validated one by one; bad rows are reported with their line number and skipped. Good rows are upserted by external id (sku for products) in batches, so running the same file again changes nothing.
    """
    from storage.importers import import_csv

    _run(
        lambda progress: import_csv(
            path, entity=entity, mapping=mapping, batch_size=batch_size, encoding=encoding, progress=progress
        ),
        as_json=as_json,
        errors_out=errors_out,
        show_errors=show_errors,
        strict=strict,
    )


def _run(
    work: Callable[[ProgressFn], ImportReport],
    *,
    as_json: bool,
    errors_out: Path | None,
    show_errors: int,
    strict: bool,
) -> None:
    from sqlalchemy.exc import OperationalError

    from storage.errors import StorageError

    try:
        with _progress() as progress:
            report = work(progress)
    except StorageError as exc:
        fail(str(exc))
    except OperationalError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        fail(f"the database is unavailable: {detail}")
    if errors_out:
        _write_errors(report, errors_out)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        _render(report, show_errors=show_errors, errors_out=errors_out)
    if strict and report.skipped:
        raise typer.Exit(2)


@contextmanager
def _progress() -> Iterator[ProgressFn]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    task = bar.add_task("starting", total=None)

    def update(stage: str, done: int, total: int) -> None:
        bar.update(task, description=stage, completed=done, total=total or None)

    with bar:
        yield update


def _write_errors(report: ImportReport, path: Path) -> None:
    import csv

    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["line", "kind", "column", "reason"])
            for err in report.errors:
                writer.writerow([err.line, err.kind, err.column or "", err.reason])
    except OSError as exc:
        fail(f"cannot write {path}: {exc}")


def _render(report: ImportReport, *, show_errors: int, errors_out: Path | None) -> None:
    from rich.table import Table

    console.print(f"[bold]import {report.entity}[/] from {report.source}")
    summary = Table(show_header=False)
    summary.add_column("what")
    summary.add_column("rows", justify="right")
    for label, value in (
        ("read", report.rows_read),
        ("inserted", report.inserted),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("skipped", report.skipped),
    ):
        style = "yellow" if label == "skipped" and value else None
        summary.add_row(label, f"{value:,}", style=style)
    summary.add_row("seconds", f"{report.seconds:.1f}")
    console.print(summary)

    if len(report.per_table) > 1:
        tables = Table(title="per table", title_justify="left")
        for name in ("table", "inserted", "updated", "unchanged"):
            tables.add_column(name, justify="left" if name == "table" else "right")
        for name, counts in report.per_table.items():
            tables.add_row(name, f"{counts.inserted:,}", f"{counts.updated:,}", f"{counts.unchanged:,}")
        console.print(tables)

    if report.reasons or report.notes:
        reasons = Table(title="skipped rows by reason" if report.reasons else "notes", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for kind, n in report.reasons.items():
            reasons.add_row(kind, f"{n:,}")
        for kind, n in report.notes.items():
            reasons.add_row(f"{kind} (kept)", f"{n:,}", style="dim")
        console.print(reasons)

    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")

    listed = report.errors[:show_errors]
    if listed:
        errors = Table(title=f"first {len(listed)} of {report.skipped:,} rejected rows", title_justify="left")
        errors.add_column("line", justify="right")
        errors.add_column("column")
        errors.add_column("reason", overflow="fold")
        for err in listed:
            errors.add_row(str(err.line), err.column or "", err.reason)
        console.print(errors)
    if errors_out:
        console.print(f"all {len(report.errors):,} rejected rows written to [bold]{errors_out}[/]")
    elif report.skipped > len(listed):
        console.print("use --errors-out FILE to save every rejected row")
