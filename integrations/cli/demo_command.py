"""`crm demo`: fill the database with a deterministic demo CRM (with planted, recorded truths)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import typer

from integrations.cli.output import console, fail


class DemoLocale(StrEnum):
    en_US = "en_US"
    zh_CN = "zh_CN"
    mixed = "mixed"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    customers: int = typer.Option(5000, "--customers", min=50, help="How many customers to generate."),
    locale: DemoLocale = typer.Option(DemoLocale.mixed, "--locale", help="Customer languages: en_US, zh_CN or mixed."),
    seed: int = typer.Option(42, "--seed", help="Random seed: the same seed and --today give identical data."),
    today: str | None = typer.Option(None, "--today", help="Pin 'today' (YYYY-MM-DD); default: the real date."),
    reset: bool = typer.Option(False, "--reset", help="Empty every CRM table first (required on a non-empty DB)."),
) -> None:
    """Generate demo customers, orders, campaigns, interactions and pipeline into the configured database."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy.exc import OperationalError

    from storage.demo import DemoRefused, generate

    try:
        pinned = date.fromisoformat(today) if today else date.today()
    except ValueError:
        fail(f"--today must be a date like 2026-11-22, got {today!r}")

    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=max(total, 1))
            bar.update(tasks[phase], completed=done, total=max(total, 1))

        try:
            summary = generate(customers=customers, locale=locale.value, seed=seed, today=pinned, reset=reset,
                               progress=progress)
        except DemoRefused as err:
            bar.stop()
            fail(str(err))
        except OperationalError as err:
            bar.stop()
            fail(f"cannot use the database: {err.orig}")
    _report(summary)


def _report(summary) -> None:
    from rich.table import Table

    console.print(f"[bold]Demo data in[/] {summary.database}")
    rows = Table(show_edge=False)
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for name, count in sorted(summary.counts.items()):
        rows.add_row(name, f"{count:,}")
    console.print(rows)
    planted = ", ".join(f"{kind} {count:,}" for kind, count in summary.truth.items())
    console.print(f"[bold]planted truths[/] (demo_truth): {planted}")
    console.print(f"texts: {summary.text_source}")
    console.print(f"{summary.customers:,} customers, locale {summary.locale}, seed {summary.seed}, "
                  f"today {summary.today.isoformat()}, {summary.seconds:.1f} s")
