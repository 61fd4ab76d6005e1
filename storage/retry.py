"""A locked or unreachable database: tell it apart from other errors, retry briefly, then say so clearly.

``run_with_retry(fn)`` runs one unit of work (a tool call) and, when it fails because the
database is locked by another writer or cannot be reached, runs it again with backoff
until ``CRM_DB_RETRY_SECONDS`` (default 2 s) are used up; then it raises
``DatabaseUnavailable`` with a message that is safe to show anyone. Other errors pass
through untouched: a missing table or a constraint violation is not made better by waiting.

Why running the unit again is safe: every write in the CRM is one transaction (the change
and its audit row commit together, see ``tools.actions``), and a transaction that failed
was rolled back, so the second run starts from the same state as the first. The one
exception is a failure *after* a commit (the connection drops while the result is read
back): running again would write twice, so an attempt that committed anything is never
repeated (``Session`` commits are counted per attempt).

SQLite's own busy handler already waits for a lock with backoff; inside a retry the wait
is capped at the time left in the budget (``sqlite_busy_ms``, read by ``storage.db`` when a
connection is checked out). Outside one (imports, the demo generator) the long default stays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.errors import DatabaseUnavailable
from storage.settings import get_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
Reason = Literal["locked", "down"]

DEFAULT_SQLITE_BUSY_MS = 30_000
MAX_ATTEMPTS = 8
_FIRST_DELAY = 0.05
_MAX_DELAY = 0.5

# Lower-case fragments of driver messages (sqlite3, psycopg / libpq). A lock or a serialization
# conflict means "another writer is busy"; the rest mean the server is gone or not there yet.
_LOCKED = ("database is locked", "database table is locked", "deadlock detected", "could not serialize access",
           "lock timeout", "could not obtain lock")
_DOWN = ("could not connect", "connection refused", "connection failed", "server closed the connection",
         "terminating connection", "connection timed out", "timeout expired", "connection is closed",
         "connection already closed", "the connection is lost", "database system is starting up",
         "database system is shutting down", "database system is in recovery mode", "could not receive data",
         "could not send data", "ssl connection has been closed", "connection reset", "no route to host",
         "network is unreachable", "could not translate host name", "consuming input failed", "server is closed",
         "too many connections", "remaining connection slots are reserved")

MESSAGES: dict[str, str] = {
    "locked": "the database is busy: another process is holding a lock on it. Please try again in a moment",
    "down": "the database cannot be reached right now. Please try again later, or ask an admin to check "
            "the database server",
    "committed": "the database connection was lost after the change was saved; check the result before "
                 "repeating it",
}

sqlite_busy_ms: ContextVar[int] = ContextVar("sqlite_busy_ms", default=DEFAULT_SQLITE_BUSY_MS)


@dataclass
class _Attempt:
    commits: int = 0


_attempt: ContextVar[_Attempt | None] = ContextVar("db_attempt", default=None)


@event.listens_for(Session, "after_commit")
def _count_commit(_session: Session) -> None:
    current = _attempt.get()
    if current is not None:
        current.commits += 1


def unavailable_reason(exc: BaseException) -> Reason | None:
    """"locked" or "down" when ``exc`` (a SQLAlchemy DBAPI error) means the database is busy or
    unreachable; None for every other error."""
    if not isinstance(exc, DBAPIError):
        return None
    text = str(exc.orig if exc.orig is not None else exc).lower()
    if any(fragment in text for fragment in _LOCKED):
        return "locked"
    if exc.connection_invalidated or any(fragment in text for fragment in _DOWN):
        return "down"
    return None


def driver_detail(exc: BaseException) -> str:
    """The driver's first line, e.g. 'connection to server at "10.0.0.5", port 5432 failed: ...'."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def as_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The ``DatabaseUnavailable`` an edge should report for ``exc``, or None when it is some other error."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    reason = unavailable_reason(exc)
    if reason is None:
        return None
    return DatabaseUnavailable(MESSAGES[reason], reason=reason, detail=driver_detail(exc))


def run_with_retry(fn: Callable[[], T], *, budget_seconds: float | None = None) -> T:
    """``fn()``, run again while the database is locked or down, for at most ``budget_seconds``
    (default ``CRM_DB_RETRY_SECONDS``); then ``DatabaseUnavailable``. Nested calls run once: the
    outermost unit owns the retry, so waits never multiply."""
    if _attempt.get() is not None:
        return fn()
    budget = get_settings().db_retry_seconds if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    delay = _FIRST_DELAY
    for number in range(1, MAX_ATTEMPTS + 1):
        attempt = _Attempt()
        attempt_token = _attempt.set(attempt)
        left_ms = max(50, int((deadline - time.monotonic()) * 1000))
        busy_token = sqlite_busy_ms.set(left_ms)
        try:
            return fn()
        except DBAPIError as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            left = deadline - time.monotonic()
            if attempt.commits or left <= 0 or number == MAX_ATTEMPTS:
                key = "committed" if attempt.commits else reason
                # INFO: the edge that reports the error logs it (a terminal must show one line, not two).
                logger.info("database %s after %d attempt(s): %s", reason, number, driver_detail(exc))
                raise DatabaseUnavailable(MESSAGES[key], reason=reason, detail=driver_detail(exc)) from exc
            logger.info("database %s (attempt %d); retrying in %.2f s", reason, number, min(delay, left))
            time.sleep(min(delay, left))
            delay = min(delay * 2, _MAX_DELAY)
        finally:
            sqlite_busy_ms.reset(busy_token)
            _attempt.reset(attempt_token)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
