"""A small in-process limit on failed logins, per client address and email.

In-process is enough for one server process; with several workers each keeps its own
count, which still caps guessing at ``attempts × workers`` per window.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class LoginLimiter:
    def __init__(self, *, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *, client: str, email: str) -> int:
        """Seconds until another attempt is allowed; 0 when one is allowed now."""
        key = (client, email.strip().lower())
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(key)
            if not failures:
                return 0
            while failures and now - failures[0] > self.window:
                failures.popleft()
            if len(failures) < self.attempts:
                return 0
            return max(1, int(self.window - (now - failures[0])) + 1)

    def failed(self, *, client: str, email: str) -> None:
        key = (client, email.strip().lower())
        with self._lock:
            if len(self._failures) > 10_000:
                # A flood of distinct emails must not grow memory without bound; the oldest counts go first.
                for stale in list(self._failures)[:5_000]:
                    del self._failures[stale]
            self._failures.setdefault(key, deque(maxlen=self.attempts)).append(time.monotonic())

    def succeeded(self, *, client: str, email: str) -> None:
        with self._lock:
            self._failures.pop((client, email.strip().lower()), None)
