"""The migrations build exactly the schema the models describe, and walk down and up again."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import engine_for
from storage.migrate import alembic_config, current_revision


def _schema_diff(url: str) -> list:
    with engine_for(url).connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)


def test_models_and_migrations_agree(database_url):
    assert _schema_diff(database_url) == []


def test_downgrade_to_base_and_back(database_url):
    head = current_revision(database_url)
    command.downgrade(alembic_config(database_url), "base")
    assert set(inspect(engine_for(database_url)).get_table_names()) <= {"alembic_version"}
    command.upgrade(alembic_config(database_url), "head")
    assert current_revision(database_url) == head
    assert _schema_diff(database_url) == []
