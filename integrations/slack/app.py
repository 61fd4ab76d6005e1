"""The Bolt app factory, shared by HTTP mode (``mount_slack``) and Socket Mode (``crm slack``).

The Web API client is built here with the bot token and ``SLACK_API_URL``; Bolt takes
the client (never ``token=`` as well, which Bolt refuses), so tests point the whole app
at a fake Slack server by setting one URL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from slack_bolt import App
from slack_sdk import WebClient

from integrations.slack.handlers import register_listeners
from integrations.slack.identity import SlackIdentity
from integrations.slack.settings import SlackSettings, get_settings
from integrations.slack.store import SlackStore
from integrations.slack.turns import Answerer, SlackDeps, default_answerer

STATE_FILE = "slack_state.sqlite3"


def create_slack_app(
    *,
    settings: SlackSettings | None = None,
    socket_mode: bool = False,
    database_url: str | None = None,
    answer: Answerer | None = None,
    clock: Callable[[], datetime] | None = None,
    state_path: Path | None = None,
) -> App:
    """A configured Bolt app. ``answer`` replaces ``assistant.respond`` (tests, evals); ``clock`` pins "now"."""
    settings = settings or get_settings()
    if socket_mode:
        settings.require_socket_mode()
    else:
        settings.require_http()
    if state_path is None:
        from storage.settings import get_settings as storage_settings

        state_path = storage_settings().home / STATE_FILE
    client = WebClient(token=settings.bot_token.get_secret_value(), base_url=settings.api_url)
    app = App(
        name="crm",
        client=client,
        # Socket Mode requests arrive over an authenticated websocket and carry no signature.
        signing_secret=settings.signing_secret.get_secret_value() if settings.signing_secret else "",
        request_verification_enabled=not socket_mode,
        process_before_response=False,
    )
    deps = SlackDeps(settings=settings, store=SlackStore(state_path), identity=SlackIdentity(database_url=database_url),
                     answer=answer or default_answerer(), clock=clock, database_url=database_url)
    register_listeners(app, deps)
    return app
