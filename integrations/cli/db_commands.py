"""`crm db upgrade`, `crm stats`, `crm backup`, `crm restore`."""

from __future__ import annotations

from pathlib import Path

import typer

from integrations.cli.output import console, fail, print_json

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision (default: latest).")) -> None:
    """Apply schema migrations to the configured database (SQLite under CRM_HOME, or CRM_DATABASE_URL)."""
    from storage.migrate import current_revision, upgrade
    from storage.settings import get_settings

    url = get_settings().url
    upgrade(url, revision)
    console.print(f"database at [bold]{_safe(url)}[/] is at revision [bold]{current_revision(url)}[/]")


def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Row counts per table."""
    from rich.table import Table

    from storage.settings import get_settings
    from storage.stats import table_counts

    counts = table_counts(get_settings().url)
    if not counts:
        fail("the database has no CRM tables yet; run `crm db upgrade` or `crm demo`")
    if as_json:
        print_json(counts)
        return
    table = Table(title="CRM database", caption=_safe(get_settings().url))
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


def backup(path: Path = typer.Argument(..., help="File to write (SQLite copy, or pg_dump custom format).")) -> None:
    """Back up the whole database to PATH, consistently, while it stays in use."""
    from storage.backup import backup as do_backup

    written = do_backup(path)
    console.print(f"backup written to [bold]{written}[/] ({written.stat().st_size:,} bytes)")


def restore(
    path: Path = typer.Argument(..., help="A file written by `crm backup`."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Replace the database's contents with a backup. The backup is verified before anything is overwritten."""
    from storage.backup import restore as do_restore

    if not yes and not typer.confirm(f"Replace the current database with {path}?", default=False):
        fail("restore cancelled; nothing was changed")
    do_restore(path)
    console.print(f"restored from [bold]{path}[/]")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.command("stats")(stats)
    app.command("backup")(backup)
    app.command("restore")(restore)
