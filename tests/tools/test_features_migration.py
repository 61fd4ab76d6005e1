"""Migration 0002 (feature snapshot, refresh log, rollups, extra indexes) goes up and down on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from storage.db import engine_for
from storage.migrate import alembic_config, current_revision, upgrade

NEW_TABLES = {"customer_features", "feature_refresh", "metrics_rollup"}


def test_upgrade_and_downgrade(database_url):
    head = current_revision(database_url)
    assert head is not None and head >= "0002"
    inspector = sa.inspect(engine_for(database_url))
    assert NEW_TABLES <= set(inspector.get_table_names())
    assert "ix_customer_updated_at" in {i["name"] for i in inspector.get_indexes("customer")}
    assert "ix_orders_tracking_number" in {i["name"] for i in inspector.get_indexes("orders")}

    command.downgrade(alembic_config(database_url), "0001")
    inspector = sa.inspect(engine_for(database_url))
    assert not NEW_TABLES & set(inspector.get_table_names())
    assert "ix_customer_updated_at" not in {i["name"] for i in inspector.get_indexes("customer")}

    command.upgrade(alembic_config(database_url), "0002")
    assert current_revision(database_url) == "0002"
    upgrade(database_url)
    assert current_revision(database_url) == head
    assert NEW_TABLES <= set(sa.inspect(engine_for(database_url)).get_table_names())


def test_models_match_the_migrated_schema(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401 - registers every table

    with engine_for(database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    mine = [d for d in diff if any(t in repr(d) for t in (*NEW_TABLES, "ix_customer_updated_at", "ix_orders_tracking_number"))]
    assert mine == []
