"""What one running web app holds: settings, database, sessions, the login limiter, the store, the answer limiter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import anyio
from fastapi import Request
from sqlalchemy.engine import Engine

from integrations.web.auth import Sessions
from integrations.web.ratelimit import LoginLimiter
from integrations.web.settings import WebSettings
from integrations.web.store import WebStore
from storage.db import engine_for
from storage.models import utcnow


@dataclass
class WebState:
    settings: WebSettings
    database_url: str
    home: Path
    sessions: Sessions
    limiter: LoginLimiter
    store: WebStore
    _answer_limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        return engine_for(self.database_url)

    @property
    def charts_dir(self) -> Path:
        # Exactly where assistant.respond draws charts: CRM_HOME/charts, read when asked, as respond does.
        from storage.settings import get_settings

        return get_settings().home / "charts"

    def now(self) -> datetime:
        return self.settings.pinned_now or utcnow()

    def answer_limiter(self) -> anyio.CapacityLimiter:
        """Created on first use, inside the server's event loop, which the limiter belongs to."""
        if self._answer_limiter is None:
            self._answer_limiter = anyio.CapacityLimiter(self.settings.max_concurrent_answers)
        return self._answer_limiter


def build_state(*, settings: WebSettings, database_url: str, home: Path) -> WebState:
    return WebState(
        settings=settings,
        database_url=database_url,
        home=home,
        sessions=Sessions(settings.secret_key(home), max_age_seconds=int(settings.session_hours * 3600)),
        limiter=LoginLimiter(attempts=settings.login_attempts, window_seconds=settings.login_window_seconds),
        store=WebStore(engine_for(database_url), write_ttl_hours=settings.write_ttl_hours),
    )


def get_state(request: Request) -> WebState:
    return request.app.state.web
