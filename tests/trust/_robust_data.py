"""Shared by the robustness tests (not collected): a small demo CRM, row counts, a closed port, live servers.

The live web and Slack helpers live next to the channel tests in tests/integrations; that
folder is put on the import path here so these tests drive exactly the same servers.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 12, 0)

# Tables a *request* may legitimately add rows to: the audit log records every question, the web
# chat keeps its conversations, and read-through caches fill themselves. Everything else is CRM data,
# which a rejected or failed request must leave exactly as it was.
REQUEST_TABLES = frozenset({
    "audit_log", "web_thread", "web_message", "web_chart", "web_pending_write",
    "feature_refresh", "metrics_rollup", "customer_features", "churn_score_seen",
})


def build_demo(directory: Path, *, customers: int = 60, name: str = "crm.sqlite3") -> str:
    """A migrated SQLite demo CRM (today 2026-11-22) under ``directory``; returns its URL."""
    from storage.demo import generate

    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(directory / name).resolve()}"
    generate(customers=customers, seed=1, today=TODAY, url=url)
    return url


def data_counts(url: str) -> dict[str, int]:
    """Row counts of every CRM data table (request bookkeeping excluded, see REQUEST_TABLES)."""
    from storage.stats import table_counts

    return {name: n for name, n in table_counts(url).items() if name not in REQUEST_TABLES}


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_postgres_url() -> str:
    return f"postgresql+psycopg://crm:crm@127.0.0.1:{closed_port()}/crm"


class RecordingAnswerer:
    """Stands in for ``assistant.respond`` in Slack tests about the edge: records each question, answers at once."""

    def __init__(self) -> None:
        self.questions: list[tuple[str, str | None]] = []

    def __call__(self, question: str, *, context, thread_id: str):
        from assistant import Reply

        self.questions.append((question, context.user_email))
        return Reply(answer=f"answered: {question[:40]}", language="en", model="fake", latency_ms=0.0,
                     thread_id=thread_id)


@contextmanager
def slack_server(database_url: str, state_path: Path, *, answer=None, users: dict | None = None) -> Iterator:
    """(sender, fake): signed requests to a real Bolt app over uvicorn, Web API calls to a fake Slack."""
    from fake_slack import FakeSlack
    from fastapi import FastAPI
    from slack_harness import BOT_TOKEN, SIGNING_SECRET, ServerThread, SlackSender

    from integrations.slack import SlackSettings, mount_slack

    with FakeSlack(users=users or {}) as fake:
        settings = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.url)
        app = FastAPI()
        assert mount_slack(app, settings=settings, database_url=database_url, clock=lambda: NOW,
                           state_path=state_path, answer=answer)
        with ServerThread(app) as server:
            sender = SlackSender(server.url)
            try:
                yield sender, fake
            finally:
                sender.close()


def texts(fake) -> list[str]:
    """Every text the app sent to Slack so far (messages, ephemerals, updates, response_url posts)."""
    return [str(c.args.get("text") or "") for c in list(fake.calls)]


def wait_for_text(fake, needle: str, *, timeout: float = 30.0):
    """The first call whose text contains ``needle``; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in list(fake.calls):
            if needle in str(call.args.get("text") or ""):
                return call
        time.sleep(0.02)
    raise AssertionError(f"no Slack call with {needle!r}; texts so far: {texts(fake)}")
