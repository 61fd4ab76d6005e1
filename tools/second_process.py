"""Run one piece of the refresh in a second process, or here when that does not pay or fails.

Why processes: the refresh's pieces are Python and numpy code that holds the GIL, and the
database reads take it back for every row, so threads convoy instead of overlapping (at 100k
customers two reading threads took 9.3 s against 4.9 s one after the other). A spawned
interpreter has its own GIL, so on two cores its work is hidden behind this process's.

Forked when called from the main thread: the child starts at once with this process's imports
(pandas, scikit-learn, lifetimes: ~2.5 s to import again) and its order book already in memory.
``storage.db`` makes a forked child open its own database connections. From any other thread
(a server's worker) another thread could hold a lock at the moment of the fork, which the child
would then wait on forever, so there the child is spawned: a fresh interpreter, slower to start.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

# Orders in the book from which a second process pays for its start (an interpreter and imports: ~1-2 s).
SECOND_PROCESS_MIN_ORDERS = 200_000


def start_method() -> str:
    """'fork' from the main thread where the platform has it, else 'spawn' (see the module docstring)."""
    main = threading.current_thread() is threading.main_thread()
    return "fork" if main and hasattr(os, "fork") else "spawn"


def can_share(engine: Engine) -> bool:
    """A second process can open the same database (not an in-memory SQLite one)."""
    url = engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class Elsewhere:
    """``fn(*args)`` started in a second process (``elsewhere=True``; forked or spawned, see ``start_method``),
    else run here when ``result()`` is called.

    ``fallback`` computes the same thing here; it is used when the second process cannot be
    started or dies (a failure of ``fn`` itself is raised, not retried).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, elsewhere: bool, fallback: Callable[[], Any], what: str):
        self._fallback, self._what = fallback, what
        self.method = "here"
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future | None = None
        if not elsewhere:
            return
        try:
            self.method = start_method()
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(self.method))
            self._future = self._pool.submit(fn, *args)
        except (OSError, RuntimeError) as exc:
            log.warning("%s: no second process (%s); running it here", what, exc)
            self.close()

    @property
    def spawned(self) -> bool:
        """Started in a second process (by fork or spawn) and not collected yet."""
        return self._future is not None

    def result(self) -> Any:
        try:
            if self._future is not None:
                try:
                    return self._future.result()
                except (BrokenProcessPool, OSError) as exc:
                    log.warning("%s: the second process failed (%s); running it here", self._what, exc)
            return self._fallback()
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._future = None
