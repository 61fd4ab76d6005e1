"""The Slack edge's own small, persistent state: events already handled and writes awaiting a button.

It lives in a SQLite file under CRM_HOME (``slack_state.sqlite3``), separate from the CRM
database: it is transport bookkeeping, not CRM data, and must survive a restart so that
Slack's retries of an event handled before the restart still get no second reply. Every
operation opens its own short connection, so listener threads and several processes on
one host can share the file; the claims are single statements, hence atomic.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

WriteState = Literal["pending", "running", "done", "failed", "cancelled"]

# Slack retries a failed delivery three times within about an hour; a day is ample.
EVENT_TTL_SECONDS = 24 * 3600
# A proposed write left unconfirmed this long is refused: the data it was checked against may have moved.
WRITE_TTL_SECONDS = 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled_event (
    event_id TEXT PRIMARY KEY,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_write (
    id TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    args TEXT NOT NULL,
    staff_id INTEGER NOT NULL,
    slack_user TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    lang TEXT NOT NULL DEFAULT 'en',
    result TEXT
);
"""


class PendingWrite(BaseModel):
    id: str
    tool: str
    args: dict[str, Any]
    staff_id: int
    slack_user: str
    channel: str
    thread_ts: str
    state: WriteState
    created_at: float
    lang: str = "en"
    result: str | None = None

    @property
    def expired(self) -> bool:
        return time.time() - self.created_at > WRITE_TTL_SECONDS


class SlackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # No fsync per commit: a power cut may lose the last few claims, which costs at worst one duplicate reply.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def _execute(self, sql: str, params: tuple = ()) -> int:
        """Run one statement; returns the rows it changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def _fetchone(self, sql: str, params: tuple = ()) -> tuple | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- events ------------------------------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True the first time an event id is seen; False for every redelivery (a Slack retry)."""
        now = time.time()
        claimed = self._execute("INSERT OR IGNORE INTO handled_event (event_id, received_at) VALUES (?, ?)",
                                (event_id, now)) == 1
        if claimed and hash(event_id) % 50 == 0:
            # Prune now and then rather than on every event.
            self._execute("DELETE FROM handled_event WHERE received_at < ?", (now - EVENT_TTL_SECONDS,))
        return claimed

    # -- proposed writes ---------------------------------------------------------------------

    def add_write(self, *, tool: str, args: dict[str, Any], staff_id: int, slack_user: str, channel: str,
                  thread_ts: str, lang: str = "en") -> PendingWrite:
        write = PendingWrite(id=uuid.uuid4().hex[:20], tool=tool, args=args, staff_id=staff_id, slack_user=slack_user,
                             channel=channel, thread_ts=thread_ts, state="pending", created_at=time.time(), lang=lang)
        self._execute(
            "INSERT INTO pending_write (id, tool, args, staff_id, slack_user, channel, thread_ts, state, created_at,"
            " lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (write.id, tool, json.dumps(args, ensure_ascii=False, default=str), staff_id, slack_user, channel,
             thread_ts, write.state, write.created_at, lang),
        )
        return write

    def get_write(self, write_id: str) -> PendingWrite | None:
        row = self._fetchone(
            "SELECT id, tool, args, staff_id, slack_user, channel, thread_ts, state, created_at, lang, result"
            " FROM pending_write WHERE id = ?", (write_id,))
        if row is None:
            return None
        keys = ("id", "tool", "args", "staff_id", "slack_user", "channel", "thread_ts", "state", "created_at", "lang",
                "result")
        data = dict(zip(keys, row, strict=True))
        data["args"] = json.loads(data["args"])
        return PendingWrite.model_validate(data)

    def move_write(self, write_id: str, *, from_state: WriteState, to_state: WriteState, result: str | None = None) -> bool:
        """Compare-and-set on the state: of two clicks on the same button, only one gets True."""
        return self._execute(
            "UPDATE pending_write SET state = ?, result = COALESCE(?, result) WHERE id = ? AND state = ?",
            (to_state, result, write_id, from_state),
        ) == 1
