"""How many questions one user may ask per minute (CRM_RATE_LIMIT_PER_MINUTE, default 30; 0 = no limit).

A sliding window: the user's question times of the last 60 s are kept, and a question
beyond the limit waits until the oldest one leaves the window. The edges that take
questions from people (the web chat API, Slack turns) ask ``check_question`` before
answering; ``respond`` itself is never limited, because evals and benchmarks call it in loops.

In-process, like the web login limiter: one budget per user shared by the web chat and
Slack when they run in one server. With several worker processes each keeps its own
window, which still caps a user at limit × workers. Users are keyed by database and staff
id, so two CRMs served by one process never share a budget.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from functools import lru_cache

from assistant.settings import get_settings

WINDOW_SECONDS = 60.0
_MAX_KEYS = 10_000

_LIMITED = {
    "en": "You're asking questions faster than I can take them: at most {limit} a minute. "
          "Please try again in {seconds} s.",
    "zh": "提问太频繁了：每分钟最多 {limit} 个问题。请 {seconds} 秒后再试。",
}


class RateLimiter:
    def __init__(self, *, limit: int, window_seconds: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: Hashable) -> int:
        """0 when a question may go ahead now (it is counted); otherwise whole seconds to wait."""
        if self.limit <= 0:
            return 0
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= _MAX_KEYS:
                    self._forget_idle(now)
                hits = self._hits[key] = deque()
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(self.window - (now - hits[0])))
            hits.append(now)
            return 0

    def _forget_idle(self, now: float) -> None:
        # Keys with nothing in the window hold no information; a flood of new keys must not grow memory.
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window]:
            del self._hits[key]
        if len(self._hits) >= _MAX_KEYS:
            for key in list(self._hits)[: _MAX_KEYS // 2]:
                del self._hits[key]


@lru_cache(maxsize=4)
def limiter_for(limit: int) -> RateLimiter:
    """The process-wide limiter for this limit (a changed setting gets a fresh window)."""
    return RateLimiter(limit=limit)


def check_question(*, user_id: int | None, database_url: str | None) -> int:
    """0 when this user may ask now (the question is counted); else the seconds until they may."""
    limit = get_settings().rate_limit_per_minute
    if limit <= 0:
        return 0
    return limiter_for(limit).acquire((database_url or "", user_id))


def limited_message(lang: str, *, seconds: int) -> str:
    """The polite refusal, in the question's language."""
    limit = get_settings().rate_limit_per_minute
    return _LIMITED["zh" if lang == "zh" else "en"].format(limit=limit, seconds=seconds)
