"""Schema migrations through Alembic, configured in code so no alembic.ini has to be found."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.settings import get_settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' must be doubled for ConfigParser interpolation (passwords in URLs).
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().url).replace("%", "%%"))
    return cfg


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: tables other programs own in our database (APScheduler's job store) are not ours
    to create or drop, so autogenerate and schema comparisons skip them."""
    from storage.models.alerts import SCHEDULER_JOB_TABLE

    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table != SCHEDULER_JOB_TABLE


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from storage.db import engine_for

    with engine_for(url or get_settings().url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
