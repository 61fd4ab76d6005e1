"""`crm alerts`, `crm alerts send`, `crm schedule …` and `crm scheduler run`: early warnings and their delivery.

    crm alerts [--as EMAIL] [--kind K …] [--now DATE] [--lang zh] [--json]   compute and print (writes nothing)
    crm alerts send [--report alerts|digest|vip_report|all] [--dry-run] [--json]   deliver once to Slack
    crm schedule list [--json]
    crm schedule set KIND FREQ [--channel C] [--hour H]    KIND: alerts | digest | vip_report; FREQ: daily | weekly | monthly | off
    crm schedule remove KIND
    crm scheduler run                                       the scheduler in the foreground (Ctrl-C stops)

Delivery never sends the same alert twice to the same person or channel (the ledger in the database).
"""

from __future__ import annotations

from datetime import datetime

import typer

from integrations.cli.output import console, err_console, fail, print_json

alerts_app = typer.Typer(help="Early warnings: VIP gone quiet, spend and frequency drops, churn-risk jumps, "
                              "complaint spikes. Without a subcommand: compute and print.")
schedule_app = typer.Typer(help="How often alerts, the digest and the VIP report go to Slack.", no_args_is_help=True)
scheduler_app = typer.Typer(help="The built-in scheduler (APScheduler, jobs kept in the CRM database).",
                            no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
_NOW = typer.Option(None, "--now", help="Pretend it is this date (YYYY-MM-DD, end of day) or time (ISO).")


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(schedule_app, name="schedule")
    app.add_typer(scheduler_app, name="scheduler")


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    from datetime import date, time

    raw = text.strip()
    try:
        return datetime.combine(date.fromisoformat(raw), time(23, 59, 59)) if len(raw) == 10 else datetime.fromisoformat(raw)
    except ValueError:
        fail(f"--now must be a date like 2026-11-22 or a time like 2026-11-22T08:00, got {text!r}")


def _database_url() -> str:
    from sqlalchemy import inspect

    from storage.db import get_engine
    from storage.settings import get_settings

    if not inspect(get_engine()).has_table("alert"):
        fail("the database has no alert tables yet: run `crm db upgrade` (or `crm demo` for sample data)")
    return get_settings().url


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    as_email: str | None = typer.Option(None, "--as", help="Compute as this staff user (their scope); default: everyone."),
    kinds: list[str] = typer.Option([], "--kind", help="Only this kind (repeatable): vip_quiet, spend_drop, "
                                                       "frequency_drop, churn_jump, complaint_spike."),
    now: str | None = _NOW,
    lang: str = typer.Option("en", "--lang", help="Reasons in en or zh."),
    limit: int = typer.Option(100, "--limit", min=1, help="Rows to print (JSON holds all)."),
    as_json: bool = _JSON,
) -> None:
    """Compute the early warnings now and print them, most severe first. Nothing is sent or stored."""
    if ctx.invoked_subcommand:
        return
    from tools.alerts import compute_alerts
    from tools.alerts_text import title
    from tools.context import ToolContext
    from tools.errors import ToolError

    url, when = _database_url(), _when(now)
    try:
        context = (ToolContext.for_email(as_email, now=when, database_url=url) if as_email
                   else ToolContext.system(now=when, database_url=url))
    except LookupError as exc:
        fail(str(exc))
    try:
        with err_console.status("computing alerts …"):
            result = compute_alerts(context, kinds=kinds or None)
    except ToolError as exc:
        fail(str(exc))
    if as_json:
        print_json(result.model_dump(mode="json", exclude={"table", "chart"}))
        return
    from rich.table import Table

    console.print(result.summary_for(lang), highlight=False)
    if not result.alerts:
        return
    table = Table("severity", "alert", "customer", "owner", "why", show_lines=False)
    colour = {"high": "red", "medium": "yellow", "low": "white"}
    for a in result.alerts[:limit]:
        table.add_row(f"[{colour[a.severity]}]{a.severity}[/]", title(a.kind, lang), a.customer_name, a.owner_name,
                      a.reason_for(lang))
    console.print(table)
    if len(result.alerts) > limit:
        console.print(f"… and {len(result.alerts) - limit} more (--limit, or --json for all)")


@alerts_app.command("send")
def send(
    report: str = typer.Option("alerts", "--report", help="alerts (owner DMs), digest (managers' channel), "
                                                          "vip_report (channel, with charts) or all."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show who would get what; send and store nothing."),
    now: str | None = _NOW,
    as_json: bool = _JSON,
) -> None:
    """Deliver once to Slack: only alerts a recipient has not had yet go out."""
    from integrations.scheduler.jobs import run_report
    from integrations.scheduler.schedules import REPORT_KINDS, check_kind

    kinds = list(REPORT_KINDS) if report.strip().lower() == "all" else None
    try:
        kinds = kinds or [check_kind(report)]
    except ValueError as exc:
        fail(str(exc))
    runtime = _runtime(now)
    if runtime.client is None and not dry_run:
        fail("Slack is not configured: set SLACK_BOT_TOKEN (or use --dry-run)")
    reports = []
    for kind in kinds:
        try:
            with err_console.status(f"{'planning' if dry_run else 'sending'} {kind} …"):
                reports.append(run_report(kind, runtime=runtime, dry_run=dry_run).as_dict())
        except ValueError as exc:
            if len(kinds) == 1:
                fail(str(exc))
            # With --report all, an unconfigured channel skips that report, not the others.
            reports.append({"report": kind, "alerts": 0, "skipped": [str(exc)], "messages": [],
                            "delivery": {"messages": 0, "items": 0, "failed": 0, "recovered": 0, "unknown": 0,
                                         "errors": []}})
    if as_json:
        print_json(reports)
        return
    for r in reports:
        verb = "would send" if dry_run else "sent"
        console.print(f"[bold]{r['report']}[/]: {verb} {len(r['messages'])} message(s), "
                      f"{sum(m['items'] for m in r['messages'])} item(s)", highlight=False)
        for m in r["messages"]:
            console.print(f"  → {m['to']}: {m['items']} item(s)", highlight=False)
        for s in r["skipped"]:
            console.print(f"  [yellow]skipped[/] {s}", highlight=False)
        d = r["delivery"]
        if d["failed"] or d["recovered"] or d["unknown"]:
            console.print(f"  failed {d['failed']}, recovered {d['recovered']}, unknown {d['unknown']}: "
                          + "; ".join(d["errors"]), highlight=False)


def _runtime(now: str | None):
    from integrations.scheduler.host import runtime_from_settings
    from integrations.slack import SlackConfigError

    url, when = _database_url(), _when(now)
    try:
        return runtime_from_settings(database_url=url, clock=(lambda: when) if when else None)
    except SlackConfigError as exc:
        fail(str(exc))


@schedule_app.command("list")
def schedule_list(as_json: bool = _JSON) -> None:
    """Each report's frequency, hour, channel and where that comes from (database or settings)."""
    from integrations.scheduler import get_settings
    from integrations.scheduler.schedules import schedules
    from storage.db import get_engine

    _database_url()
    views = schedules(get_engine(), get_settings())
    if as_json:
        print_json([v.model_dump() for v in views])
        return
    from rich.table import Table

    table = Table("report", "frequency", "hour", "channel", "from")
    for v in views:
        table.add_row(v.kind, v.frequency, f"{v.hour:02d}:00", v.channel or "—", v.source)
    console.print(table)


@schedule_app.command("set")
def schedule_set(
    kind: str = typer.Argument(..., help="alerts, digest or vip_report"),
    frequency: str = typer.Argument(..., help="daily, weekly (Mondays), monthly (the 1st) or off"),
    channel: str | None = typer.Option(None, "--channel", help="Slack channel id for digest / vip_report."),
    hour: int | None = typer.Option(None, "--hour", help="Hour of the day (0-23, scheduler time zone)."),
) -> None:
    """Set how often one report goes out; a running scheduler picks it up within a minute."""
    from integrations.scheduler import get_settings
    from integrations.scheduler.schedules import set_schedule
    from storage.db import get_engine

    _database_url()
    try:
        view = set_schedule(get_engine(), get_settings(), kind=kind, frequency=frequency, channel=channel, hour=hour)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"{view.kind}: {view.frequency} at {view.hour:02d}:00" + (f" to {view.channel}" if view.channel else ""),
                  highlight=False)


@schedule_app.command("remove")
def schedule_remove(kind: str = typer.Argument(..., help="alerts, digest or vip_report")) -> None:
    """Stop sending one report (stored as 'off', so the default does not come back)."""
    from integrations.scheduler import get_settings
    from integrations.scheduler.schedules import remove_schedule
    from storage.db import get_engine

    _database_url()
    try:
        view = remove_schedule(get_engine(), get_settings(), kind=kind)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"{view.kind}: off", highlight=False)


@scheduler_app.command("run")
def scheduler_run() -> None:
    """Run the scheduler in the foreground until Ctrl-C: alerts, digest and VIP report at their frequencies."""
    import logging
    import threading

    from integrations.scheduler.host import next_runs, start_scheduler

    runtime = _runtime(None)
    if runtime.client is None:
        fail("Slack is not configured: set SLACK_BOT_TOKEN (and SLACK_DIGEST_CHANNEL for the digest)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = start_scheduler(runtime)
    for kind, when in next_runs(scheduler).items():
        console.print(f"{kind}: next run {when.isoformat() if when else '—'}", highlight=False)
    console.print("[green]Scheduler running.[/] Ctrl-C stops.", highlight=False)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        scheduler.shutdown(wait=True)
