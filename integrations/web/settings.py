"""Web chat settings: the session secret, cookie and login rules, and an optional pinned clock.

Read through :func:`get_settings` (cached), never at import time, so tests can set the
environment and call ``get_settings.cache_clear()``. The secret that signs session
cookies comes from ``CRM_WEB_SECRET``; without it one is generated on first start and
kept in ``CRM_HOME/web_secret`` (mode 0600), so sessions survive a restart and every
worker process signs with the same key. A placeholder or short secret is refused.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebConfigError(Exception):
    """The web settings are unusable; the message says which variable to fix."""


_PLACEHOLDER = re.compile(
    r"^(x+|\.+|\*+|-+|changeme|change-me|replace-?me|your[-_ ]?.*|<.*>|\{.*\}|todo|none|null|secret|"
    r"password|default|test)$",
    re.IGNORECASE,
)
MIN_SECRET_LENGTH = 32
SECRET_FILE = "web_secret"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_WEB_", env_file=".env", extra="ignore")

    secret: SecretStr | None = Field(default=None, description="Signs session cookies (CRM_WEB_SECRET); ≥ 32 characters.")
    cookie_name: str = Field(default="crm_session", pattern=r"^[A-Za-z0-9_]+$")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto", description="auto: the Secure flag is set when the request came over https"
    )
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30, description="How long a login lasts.")
    login_attempts: int = Field(default=5, ge=1, le=1000, description="Failed logins allowed per window.")
    login_window_seconds: int = Field(default=300, ge=1, le=86_400)
    write_ttl_hours: float = Field(default=24.0, gt=0, description="A proposed write must be confirmed within this.")
    max_concurrent_answers: int = Field(
        default=16, ge=1, le=64,
        description="Questions answered at once per server process; more wait their turn in order (answering is "
                    "CPU-bound, so extra threads only add contention and starve quick requests).",
    )
    now: str | None = Field(
        default=None,
        description="Pretend the clock reads this (YYYY-MM-DD or ISO date-time), for demos with a pinned 'today'.",
    )

    @field_validator("secret")
    @classmethod
    def _refuse_weak(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        if _PLACEHOLDER.match(raw):
            raise ValueError("CRM_WEB_SECRET holds a placeholder; set a random value (e.g. `openssl rand -hex 32`)")
        if len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(f"CRM_WEB_SECRET must have at least {MIN_SECRET_LENGTH} characters")
        return SecretStr(raw)

    @field_validator("now")
    @classmethod
    def _valid_now(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_now(value)
        return value.strip()

    @property
    def pinned_now(self) -> datetime | None:
        return parse_now(self.now) if self.now else None

    def secret_key(self, home: Path) -> str:
        """CRM_WEB_SECRET, else the key stored under CRM_HOME (created on first use)."""
        if self.secret is not None:
            return self.secret.get_secret_value()
        return _stored_secret(home / SECRET_FILE)


def parse_now(text: str) -> datetime:
    text = text.strip()
    try:
        if len(text) <= 10:
            # A bare date means the end of that day, so the whole day's data counts (as in `crm ask --now`).
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59))
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise ValueError(f"CRM_WEB_NOW must be a date like 2026-11-22 or an ISO date-time, got {text!r}") from None


def _stored_secret(path: Path) -> str:
    try:
        value = path.read_text(encoding="ascii").strip()
        if len(value) >= MIN_SECRET_LENGTH:
            return value
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: when two workers start together, one writes and the other reads the winner's key.
    try:
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _wait_for(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value)
    os.replace(path.with_suffix(".tmp"), path)
    return value


def _wait_for(path: Path) -> str:
    import time as clock

    for _ in range(50):
        if path.exists() and len(path.read_text(encoding="ascii").strip()) >= MIN_SECRET_LENGTH:
            return path.read_text(encoding="ascii").strip()
        clock.sleep(0.1)
    raise WebConfigError(f"{path.with_suffix('.tmp')} is left over from an interrupted start; delete it and retry")


@lru_cache
def get_settings() -> WebSettings:
    try:
        return WebSettings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise WebConfigError(f"web settings are invalid: {problems}") from None
