"""The refresh's bulk paths: churn in a second process, and indexes rebuilt after a big rewrite."""

from __future__ import annotations

import pandas as pd
import pytest
from _coretools_data import NOW, seed_crm
from sqlalchemy import text

import tools.churn_scores as churn_scores
import tools.refresh as refresh
from storage.db import engine_for
from storage.index_rebuild import indexes_rebuilt
from storage.models.features import CustomerFeatures
from tools.line_frames import read_lines
from tools.line_prefetch import LinesRead
from tools.second_process import Elsewhere, can_share


@pytest.fixture
def crm(sqlite_url):
    return seed_crm(sqlite_url, customers=40)


def _indexes(url: str) -> dict[str, str]:
    with engine_for(url).connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                 "AND tbl_name IN ('customer_features', 'metrics_rollup')")).all()
    return dict(rows)


def test_without_a_second_process_the_work_runs_here(crm):
    job = Elsewhere(len, "abc", elsewhere=False, fallback=lambda: "ran here", what="test")
    assert not job.spawned and job.result() == "ran here"
    assert not can_share(engine_for("sqlite://"))  # an in-memory database cannot be opened by another process
    assert can_share(engine_for(crm.url))


def test_lines_from_a_second_process_equal_the_lines_read_here(crm):
    engine = engine_for(crm.url)
    here = read_lines(engine)
    assert len(here) > 0
    with LinesRead(engine, since=None, elsewhere=True) as pending:
        assert pending._job.spawned and pending._job.method == "fork"  # really elsewhere, not the fallback
        there = pending.result()
        assert pending._tmp is None  # the hand-over file is gone
    pd.testing.assert_frame_equal(there, here)


def test_small_books_and_in_memory_databases_read_their_lines_here(crm):
    with LinesRead(engine_for(crm.url), since=None, elsewhere=False) as pending:
        assert not pending._job.spawned
        assert len(pending.result()) > 0
    with LinesRead(engine_for("sqlite://"), since=None, elsewhere=True) as pending:
        assert not pending._job.spawned


def test_from_another_thread_the_child_is_spawned_not_forked(crm):
    from concurrent.futures import ThreadPoolExecutor

    def run():
        job = Elsewhere(_pid, elsewhere=True, fallback=lambda: None, what="test")
        return job.method, job.result()

    import os

    with ThreadPoolExecutor(1) as pool:
        method, pid = pool.submit(run).result()
    assert method == "spawn" and pid != os.getpid()


def _pid() -> int:
    import os

    return os.getpid()


def test_a_full_refresh_that_rebuilds_indexes_keeps_every_index_and_the_same_rows(crm, monkeypatch):
    before = _indexes(crm.url)
    assert "ix_customer_features_churn" in before and "ix_metrics_rollup_name_month" in before
    report = refresh.refresh_features(url=crm.url, now=NOW)
    with engine_for(crm.url).connect() as conn:
        kept = pd.read_sql("SELECT * FROM customer_features ORDER BY customer_id", conn).drop(columns="computed_at")
    monkeypatch.setattr(refresh, "REBUILD_INDEXES_ROWS", 0)  # every write now drops and re-creates the indexes
    again = refresh.refresh_features(url=crm.url, now=NOW, full=True)
    assert again.changed_customers == report.customers
    assert _indexes(crm.url) == before
    with engine_for(crm.url).connect() as conn:
        rebuilt = pd.read_sql("SELECT * FROM customer_features ORDER BY customer_id", conn).drop(columns="computed_at")
        plan = conn.execute(text("EXPLAIN QUERY PLAN SELECT customer_id FROM customer_features "
                                 "ORDER BY churn_probability DESC LIMIT 5")).all()
    pd.testing.assert_frame_equal(rebuilt, kept)
    assert "ix_customer_features_churn" in " ".join(str(r) for r in plan)


def test_a_failed_write_rolls_the_dropped_indexes_back(crm):
    before = _indexes(crm.url)
    engine = engine_for(crm.url)
    with pytest.raises(RuntimeError), engine.begin() as conn, indexes_rebuilt(conn, [CustomerFeatures.__table__]):
        conn.execute(text("DELETE FROM customer_features"))
        raise RuntimeError("the write failed half-way")
    assert _indexes(crm.url) == before


def test_a_big_book_runs_churn_in_a_second_process_with_the_same_scores(crm, monkeypatch):
    here = refresh.refresh_features(url=crm.url, now=NOW, full=True)
    assert "churn_wait" not in here.phases  # 40 customers: everything runs in this process
    with engine_for(crm.url).connect() as conn:
        first = pd.read_sql("SELECT customer_id, churn_probability, churn_reasons FROM customer_features "
                            "ORDER BY customer_id", conn)
    monkeypatch.setattr(refresh, "SECOND_PROCESS_MIN_ORDERS", 1)
    monkeypatch.setattr(churn_scores, "_SCORES", {})  # a forked child would inherit the first run's scores
    away = refresh.refresh_features(url=crm.url, now=NOW, full=True)
    assert "churn_wait" in away.phases and away.phases["churn"] > 0
    with engine_for(crm.url).connect() as conn:
        second = pd.read_sql("SELECT customer_id, churn_probability, churn_reasons FROM customer_features "
                             "ORDER BY customer_id", conn)
    assert first["churn_probability"].notna().sum() > 0
    pd.testing.assert_frame_equal(second, first)
