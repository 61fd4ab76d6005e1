"""Migration 0005 on SQLite and PostgreSQL: APScheduler's own job table lives beside ours, Alembic's
comparison leaves it alone (``storage.migrate.include_object``), and downgrading past 0005 drops it."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from integrations.scheduler.host import next_runs, start_scheduler
from integrations.scheduler.jobs import Runtime
from integrations.scheduler.settings import SchedulerSettings
from storage.db import engine_for
from storage.migrate import alembic_config, include_object
from storage.models import SCHEDULER_JOB_TABLE


def test_scheduler_table_is_kept_out_of_the_schema_comparison(database_url):
    runtime = Runtime(database_url=database_url, client=None, settings=SchedulerSettings(vip_report="off"))
    scheduler = start_scheduler(runtime)
    try:
        assert set(next_runs(scheduler)) == {"alerts", "digest"}
    finally:
        scheduler.shutdown()
    engine = engine_for(database_url)
    assert inspect(engine).has_table(SCHEDULER_JOB_TABLE)
    with engine.connect() as conn:
        raw = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        # Unfiltered, Alembic would drop APScheduler's table and its index: exactly those, nothing else.
        assert {d[0] for d in raw} == {"remove_table", "remove_index"}
        assert {(d[1] if d[0] == "remove_table" else d[1].table).name for d in raw} == {SCHEDULER_JOB_TABLE}
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}),
                                SQLModel.metadata) == []
    command.downgrade(alembic_config(database_url), "0004")
    tables = set(inspect(engine).get_table_names())
    assert not tables & {SCHEDULER_JOB_TABLE, "alert", "alert_delivery", "churn_score_seen", "report_schedule"}
    command.upgrade(alembic_config(database_url), "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
