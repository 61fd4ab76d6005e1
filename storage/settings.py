"""Storage settings: where the CRM keeps its data.

Read through :func:`get_settings`, never at import time, so tests can point
``CRM_HOME`` or ``CRM_DATABASE_URL`` elsewhere and call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("./data"), description="Holds the SQLite file and the Chroma directory.")
    database_url: str | None = Field(default=None, description="Overrides the SQLite default, e.g. postgresql+psycopg://…")
    db_retry_seconds: float = Field(
        default=2.0, ge=0, le=60,
        description="How long a locked or unreachable database is retried before a clear 'unavailable' error.")
    db_connect_timeout: int = Field(default=5, ge=1, le=300, description="Seconds to wait for a PostgreSQL connection.")

    @property
    def sqlite_path(self) -> Path:
        return self.home / "crm.sqlite3"

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


@lru_cache
def get_settings() -> StorageSettings:
    settings = StorageSettings()
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
