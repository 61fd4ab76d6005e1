"""`crm churn backtest | train-labelled`, `crm clv fit`, `crm rules`: the predictive models, checked on real data.

    crm churn backtest --cutoff 2011-09-10 --horizon 90 [--json]
    crm churn train-labelled telco.csv --label Churn [--json]
    crm clv fit --calibration-end 1997-09-30 --unit week [--json]
    crm rules --country France --min-support 0.07 [--json]

They read the CRM database (CRM_DATABASE_URL, else CRM_HOME's SQLite), so import
first: `crm import online-retail FILE` or `crm import cdnow FILE`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import typer

from integrations.cli.output import console, err_console, fail, print_json

churn_app = typer.Typer(help="Churn model: back-test on your history, or train from a labelled file.", no_args_is_help=True)
clv_app = typer.Typer(help="Customer lifetime value models (BG/NBD + Gamma-Gamma).", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print JSON (the documented contract) instead of tables.")


class TimeUnit(StrEnum):
    day = "day"
    week = "week"
    month = "month"


def register(app: typer.Typer) -> None:
    app.add_typer(churn_app, name="churn")
    app.add_typer(clv_app, name="clv")
    app.command("rules")(rules)


@contextmanager
def _friendly_errors() -> Iterator[None]:
    """Model and data problems end the command with one clear line, never a traceback."""
    from tools.churn_model import NotEnoughHistory
    from tools.clv_model import ModelFitError
    from tools.errors import ToolError

    try:
        yield
    except ToolError as exc:
        fail(str(exc))
    except (ModelFitError, NotEnoughHistory) as exc:
        fail(str(exc))


def _engine():
    from sqlalchemy import inspect

    from storage.db import get_engine

    engine = get_engine()
    if not inspect(engine).has_table("orders"):
        fail("the database has no CRM tables yet: run `crm db upgrade`, then import data (e.g. `crm import online-retail FILE`)")
    return engine


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date like 2011-09-10, not {text!r}")


@churn_app.command("backtest")
def backtest(
    cutoff: str = typer.Option(..., "--cutoff", help="Features from orders before this date; churn judged after it."),
    horizon: int = typer.Option(90, "--horizon", min=1, help="Churned = no purchase within this many days."),
    snapshots: int = typer.Option(4, "--snapshots", min=1, max=24, help="Training snapshots before the cut-off."),
    cross_validate: bool = typer.Option(True, "--cv/--no-cv", help="Also report a 5-fold CV AUC for comparison."),
    as_json: bool = _JSON,
) -> None:
    """Back-test the churn model at a past cut-off beside BG/NBD and log-RFM logistic baselines (same run)."""
    when = datetime.combine(_day(cutoff, "--cutoff"), datetime.min.time())
    with _friendly_errors(), err_console.status(f"training on history before {when.date()} and testing …"):
        from tools.churn_backtest import backtest_churn

        result = backtest_churn(_engine(), cutoff=when, horizon_days=horizon, snapshots=snapshots,
                                cross_validate=cross_validate)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    from rich.table import Table

    table = Table(title=f"Churn back-test at {result.cutoff} (horizon {result.horizon_days} days)")
    table.add_column("model")
    table.add_column("AUC", justify="right")
    table.add_row("[bold]churn model[/] (out of time)", f"[bold]{result.auc:.4f}[/]")
    for name, auc in result.baselines.items():
        table.add_row(f"baseline: {name}", f"{auc:.4f}")
    if result.auc_cv is not None:
        table.add_row("churn model, 5-fold CV on the cut-off snapshot", f"{result.auc_cv:.4f}")
    console.print(table)
    console.print(f"{result.customers:,} customers, churn rate {result.churn_rate:.1%}; {result.evaluation}.")
    if not result.label_window_complete:
        console.print("[yellow]warning:[/] the data ends before the horizon does; late churners may be mislabelled.")


@churn_app.command("train-labelled")
def train_labelled(
    file: Path = typer.Argument(..., help="CSV with one customer per row and a churn label column."),
    label: str = typer.Option(..., "--label", help="The label column (yes/no, true/false or 1/0)."),
    as_json: bool = _JSON,
) -> None:
    """Train a churn model from a labelled customer file and report its 5-fold stratified CV AUC."""
    with _friendly_errors(), err_console.status(f"5-fold cross-validation on {file.name} …"):
        from tools.labelled_churn import train_labelled as train

        report = train(file, label=label)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    console.print(f"[bold]{report.file}[/]: {report.rows:,} rows, churn rate {report.churn_rate:.1%}, "
                  f"{report.features} feature columns (dropped as identifiers: {', '.join(report.dropped_columns) or 'none'})")
    console.print(f"5-fold stratified CV AUC: [bold]{report.auc:.4f}[/] "
                  f"(logistic {report.cv_auc['logistic']:.4f}, gradient boosting {report.cv_auc['gradient_boosting']:.4f})")
    console.print("strongest signals: " + ", ".join(report.top_features))
    if report.model_path:
        console.print(f"model saved to {report.model_path}")


@clv_app.command("fit")
def clv_fit(
    calibration_end: str = typer.Option(..., "--calibration-end", help="Last day of the calibration period."),
    unit: TimeUnit = typer.Option(TimeUnit.week, "--unit", help="Time unit for recency and T."),
    as_json: bool = _JSON,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on purchases up to the calibration end and print their parameters."""
    end = _day(calibration_end, "--calibration-end")
    with _friendly_errors(), err_console.status("fitting BG/NBD and Gamma-Gamma …"):
        from tools.clv_scores import fit_clv_models

        fit, _, _ = fit_clv_models(_engine(), calibration_end=end, unit=unit.value)
    if as_json:
        print_json(fit.to_contract())
        return
    console.print(f"{fit.customers:,} customers ({fit.repeat_customers:,} repeat) up to {fit.calibration_end}, unit {fit.unit}")
    console.print("BG/NBD:      " + ", ".join(f"{k} = {v:.4f}" for k, v in fit.bgnbd.items())
                  + f"  (penalizer {fit.bgnbd_penalizer:g})")
    console.print("Gamma-Gamma: " + ", ".join(f"{k} = {v:.4f}" for k, v in fit.gamma_gamma.items())
                  + f"  (penalizer {fit.gamma_gamma_penalizer:g}; frequency-spend correlation {fit.frequency_monetary_corr:.2f})")


def rules(
    country: str | None = typer.Option(None, "--country", help="Only baskets of customers in this country."),
    category: str | None = typer.Option(None, "--category", help="Only products of this category."),
    min_support: float | None = typer.Option(None, "--min-support", min=0.0001, max=1.0,
                                             help="Minimum support; empty = automatic."),
    min_confidence: float = typer.Option(0.0, "--min-confidence", min=0.0, max=1.0),
    limit: int = typer.Option(20, "--limit", min=1, max=100),
    as_json: bool = _JSON,
) -> None:
    """Association rules (support, confidence, lift) over revenue-order baskets, strongest lift first."""
    from tools.context import ToolContext
    from tools.cross_sell import CrossSellParams, cross_sell

    with _friendly_errors(), err_console.status("mining baskets …"):
        _engine()
        params = CrossSellParams(country=country, category=category, min_support=min_support,
                                 min_confidence=min_confidence, limit=limit)
        result = cross_sell(params, ctx=ToolContext.system())
    if as_json:
        print_json(result.model_dump(mode="json", include={"summary", "rules", "baskets", "min_support"}))
        return
    print(result.to_text(max_rows=limit))  # plain: product names may hold [brackets], and tables must not wrap
