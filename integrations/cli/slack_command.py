"""`crm slack`: run the Slack app over Socket Mode (no public URL needed).

Needs SLACK_APP_TOKEN (xapp-…, with connections:write) and SLACK_BOT_TOKEN (xoxb-…).
For HTTP mode instead, set SLACK_SIGNING_SECRET and run `crm serve`: the web server
mounts /slack/events.
"""

from __future__ import annotations

import typer

from integrations.cli.output import console, fail


def register(app: typer.Typer) -> None:
    app.command("slack")(slack)


def slack(
    now: str | None = typer.Option(None, "--now", help="Pretend today is this date (YYYY-MM-DD), e.g. for a pinned demo."),
) -> None:
    """Connect the Slack app over Socket Mode and answer mentions, DMs and /crm until Ctrl-C."""
    import logging
    import threading

    from integrations.slack import SlackConfigError, get_settings

    try:
        settings = get_settings()
        settings.require_socket_mode()
    except SlackConfigError as exc:
        fail(str(exc))
    clock = _clock(now)
    _require_database()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Bolt logs every ack at INFO; the assistant's own lines are the interesting ones.
    logging.getLogger("slack_bolt").setLevel(logging.WARNING)
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)

    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_bolt.error import BoltError

    from integrations.slack.app import create_slack_app

    try:
        app = create_slack_app(settings=settings, socket_mode=True, clock=clock)
    except BoltError as exc:
        fail(f"Slack refused the bot token: {exc}")
    handler = SocketModeHandler(app, settings.app_token.get_secret_value())
    try:
        handler.connect()
    except Exception as exc:  # noqa: BLE001 - any connection failure ends the command with one clear line
        fail(f"could not open the Socket Mode connection: {exc}")
    console.print("[green]Connected to Slack over Socket Mode.[/] Mention the app, DM it or use "
                  f"{settings.command}. Ctrl-C stops.", highlight=False)
    threading.Thread(target=_warm_up, name="crm-slack-warm-up", daemon=True).start()
    stopped = threading.Event()
    try:
        stopped.wait()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        handler.close()


def _clock(text: str | None):
    if not text:
        return None
    from datetime import date, datetime, time

    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--now must be a date like 2026-11-22, got {text!r}")
    pinned = datetime.combine(day, time(23, 59, 59))  # as `crm ask --now`: the whole day's data counts
    return lambda: pinned


def _warm_up() -> None:
    """Answer one throwaway question with the offline router, so the first person in Slack does not wait
    10-20 s for the analytics stack to load. Never with an LLM, which would cost money."""
    import logging

    from assistant import get_settings, new_thread_id, respond
    from tools import ToolContext

    try:
        if get_settings().is_offline:
            respond("hello", context=ToolContext.system(), thread_id=new_thread_id(), render_charts=False)
    except Exception:  # noqa: BLE001 - a failed warm-up only means a slower first answer
        logging.getLogger(__name__).warning("warm-up failed", exc_info=True)


def _require_database() -> None:
    from sqlalchemy import inspect

    from storage.db import get_engine

    if not inspect(get_engine()).has_table("staff_user"):
        fail("there is no CRM database yet; run `crm demo` (sample data) or `crm db upgrade` and import data")
