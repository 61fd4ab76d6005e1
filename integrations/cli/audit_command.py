"""`crm audit`: who asked what, which tools ran with which arguments, and which records they touched.

An operator's command: it runs locally against the configured database with no sign-in, like
`crm users` and `crm backup`. The same filters back the web's admin-only ``GET /api/audit``
(``storage.audit_query``).
"""

from __future__ import annotations

import json

import typer

from integrations.cli.output import console, fail

ACTION_HELP = "Only this action: question, tool_call, write (and export, erase, … as other commands add them)."
WHEN_HELP = "an ISO date or time (2025-06-01, 2025-06-01T10:00), 7d, 24h, 30m, today, yesterday or '3 days ago'"


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


def audit(
    user: str | None = typer.Option(None, "--user", help="Only this staff user: email or id."),
    since: str | None = typer.Option(None, "--since", help=f"From this time on: {WHEN_HELP}."),
    until: str | None = typer.Option(None, "--until", help="Before this time (a bare date includes that day)."),
    action: str | None = typer.Option(None, "--action", help=ACTION_HELP),
    tool: str | None = typer.Option(None, "--tool", help="Only rows of this tool, e.g. customer_profile."),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel: cli, web, slack, api or system."),
    record: str | None = typer.Option(None, "--record", help="Only rows that touched this record, e.g. customer:12."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="At most this many rows, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines, one row per line."),
) -> None:
    """Show the audit log: questions, tool calls with their arguments and touched records, and writes."""
    from pydantic import ValidationError

    from storage.audit_query import RECORD, AuditFilter, find_audit, resolve_user

    engine = _engine()
    user_id = None
    if user is not None:
        staff = resolve_user(engine, user)
        if staff is None:
            fail(f"no staff user {user!r} (give an email or an id; see `crm users list`)", code=2)
        user_id = staff.id
    if record is not None and not RECORD.match(record.strip()):
        fail(f"--record {record!r} is not a record reference like customer:12 or order:3", code=2)
    start, end = _when(since, "--since"), _when(until, "--until", end=True)
    if start is not None and end is not None and start >= end:
        fail(f"--since ({start:%Y-%m-%d %H:%M}) is not before --until ({end:%Y-%m-%d %H:%M})", code=2)
    try:
        filters = AuditFilter(user_id=user_id, since=start, until=end, action=action, tool=tool, channel=channel,
                              record=record.strip() if record else None, limit=limit)
    except ValidationError as exc:
        fail(f"invalid filter: {exc.errors()[0]['msg']}", code=2)
    rows = find_audit(engine, filters=filters)
    if as_json:
        for row in rows:
            # Plain print: one JSON document per line, exactly, for jq and log shippers.
            print(json.dumps(row.model_dump(mode="json"), ensure_ascii=False))
        return
    _print_table(rows, limit=limit)


def _when(text: str | None, option: str, *, end: bool = False):
    from storage.audit_query import parse_when

    if text is None:
        return None
    try:
        return parse_when(text, end=end)
    except ValueError:
        fail(f"{option}: cannot read {text!r} as a time (try {WHEN_HELP})", code=2)


def _print_table(rows, *, limit: int) -> None:
    from rich.table import Table

    if not rows:
        console.print("no audit rows match")
        return
    table = Table()
    # Id and time never wrap; the rest fold, and the free text (detail) takes what width is left.
    table.add_column("id", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True)
    for name in ("user", "via", "what", "outcome", "records"):
        table.add_column(name, overflow="fold")
    table.add_column("detail", overflow="fold", ratio=1, min_width=16)
    for row in rows:
        table.add_row(str(row.id), f"{row.at:%Y-%m-%d %H:%M:%S}", row.user_email or "system", row.channel or "—",
                      _what(row), row.outcome or "—", _records(row.records), _detail(row))
    console.print(table)
    more = "; more may match (raise --limit)" if len(rows) == limit else ""
    console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}, newest first{more}", style="dim")


def _what(row) -> str:
    """A tool call shows its tool; other actions show themselves, with their tool when they have one."""
    if row.action == "tool_call" and row.tool:
        return row.tool
    return f"{row.action} {row.tool}" if row.tool else row.action


def _records(records: list[str] | None, *, show: int = 3) -> str:
    if not records:
        return "—"
    head = ", ".join(records[:show])
    return head + (f" +{len(records) - show}" if len(records) > show else "")


def _detail(row, *, width: int = 80) -> str:
    if row.action == "question":
        text = row.question or ""
    else:
        text = json.dumps(row.arguments or {}, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _engine():
    from sqlalchemy import inspect

    from storage.db import get_engine

    engine = get_engine()
    if not inspect(engine).has_table("audit_log"):
        fail("there is no CRM database yet; run `crm demo` (sample data) or `crm db upgrade`")
    return engine
