"""Engine and sessions.

One engine per database URL, cached. SQLite gets WAL and a busy timeout so the
web server, the CLI and background jobs can share the file; inside a retried unit of
work (``storage.retry.run_with_retry``) that wait is capped at the retry budget, so a
locked file gives a clear error in about two seconds instead of thirty. PostgreSQL gets a
connect timeout (CRM_DB_CONNECT_TIMEOUT) so an unreachable host cannot hang a request.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from storage.retry import DEFAULT_SQLITE_BUSY_MS, sqlite_busy_ms
from storage.settings import get_settings

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()  # engine_for's engines, for a forked child to let go of


def _forget_engines_in_child() -> None:
    """In a forked child: drop the parent's engines without closing its connections (SQLAlchemy's fork recipe).

    The child shares the parent's open sockets and SQLite handles; using or closing them there would
    corrupt the parent's. Each ``engine_for(url)`` in the child then opens its own connections.
    """
    for engine in list(_ENGINES):
        engine.dispose(close=False)
    _ENGINES.clear()
    engine_for.cache_clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    engine = _make_engine(url)
    _ENGINES.add(engine)
    return engine


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": DEFAULT_SQLITE_BUSY_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, record):  # pragma: no cover - trivial
            # The wait first: switching to WAL needs a lock, and inside a retry it must not wait 30 s for it.
            busy_ms = sqlite_busy_ms.get()
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            record.info["busy_ms"] = busy_ms

        @event.listens_for(engine, "checkout")
        def _sqlite_busy_wait(dbapi_conn, record, _proxy):
            wanted = sqlite_busy_ms.get()
            if record.info.get("busy_ms") != wanted:
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout={int(wanted)}")
                cur.close()
                record.info["busy_ms"] = wanted

        return engine
    connect_args = {}
    if url.startswith("postgresql") and "connect_timeout" not in url:
        connect_args["connect_timeout"] = get_settings().db_connect_timeout
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


_TABLES_SEEN: set[tuple[str, str]] = set()


def has_table(engine: Engine, name: str) -> bool:
    """Whether ``name`` exists in ``engine``'s database, asked once: a yes is remembered (a migrated table stays),
    a no is asked again next time (a migration may run meanwhile). Read tools ask this on every call."""
    key = (str(engine.url), name)
    if key in _TABLES_SEEN:
        return True
    if inspect(engine).has_table(name):
        _TABLES_SEEN.add(key)
        return True
    return False


def get_engine() -> Engine:
    return engine_for(get_settings().url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine or get_engine()) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
