"""The delivery ledger under failure: a crash between Slack and the commit, a crash before Slack,
Slack unable to tell, Slack refusing, a dry run, and two senders racing for the same alerts.

The clock is a plain controllable function here (no scheduler): ``Clock.advance`` moves past the
ledger's stale-claim delay, as the next scheduled run would.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from _alerts_data import (
    DIGEST_CHANNEL,
    REPORT_CHANNEL,
    demo_copy,
    dm_keys,
    ledger,
    runtime_for,
    use_integration_helpers,
)

import tools.alerts_ledger as ledger_module
from integrations.scheduler.jobs import run_report
from storage.db import engine_for
from tools.alerts_ledger import claim, delivered_keys, mark_failed, mark_sent

use_integration_helpers()
from fake_slack import FakeSlack  # noqa: E402

START = datetime(2025, 6, 18, 8, 0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class Crash(Exception):
    """The process dies here."""


def posts(fake, channel: str | None = None) -> list:
    return [c for c in fake.of("chat.postMessage")
            if c.result.get("ok") and (channel is None or c.result.get("channel") == channel)]


def batches_on_slack(fake) -> Counter:
    return Counter(m["metadata"]["event_payload"]["batch"] for ms in fake.messages.values() for m in ms)


@pytest.fixture
def url(tmp_path_factory, tmp_path):
    return demo_copy(tmp_path_factory, tmp_path)


def crash_once(monkeypatch, module, name: str) -> list:
    real, calls = getattr(module, name), []

    def crashing(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise Crash(f"died in {name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, crashing)
    return calls


@pytest.mark.parametrize("report", ["alerts", "digest"])
def test_crash_after_slack_before_commit_is_settled_from_slack_history_not_resent(url, monkeypatch, report):
    clock = Clock(START)
    with FakeSlack() as fake:
        runtime = runtime_for(url, fake.url, clock=clock)
        crash_once(monkeypatch, ledger_module, "mark_sent")
        with pytest.raises(Crash):
            run_report(report, runtime=runtime)
        first = posts(fake)
        assert len(first) == 1  # Slack has the message; our ledger still says pending
        rows = ledger(url)
        assert set(rows["status"]) == {"pending"}
        lost_batch = first[0].args["metadata"]["event_payload"]["batch"]
        assert set(rows["batch_id"]) == {lost_batch}

        run_report(report, runtime=runtime)  # right away: the pending claim is too fresh to touch
        assert set(ledger(url).query("batch_id == @lost_batch")["status"]) == {"pending"}
        clock.advance(minutes=11)
        run_report(report, runtime=runtime)  # stale now: Slack has it, so it is marked sent, not re-sent
        rows = ledger(url)
        assert set(rows["status"]) == {"sent"}
        assert set(rows.query("batch_id == @lost_batch")["slack_ts"]) == {first[0].result["ts"]}
        assert set(batches_on_slack(fake).values()) == {1}
        assert fake.of("conversations.history")
        for keys in dm_keys(fake).values():
            assert len(keys) == len(set(keys))


@pytest.mark.parametrize("report", ["alerts", "vip_report"])
def test_crash_before_slack_got_the_message_is_sent_once_later(url, monkeypatch, report):
    clock = Clock(START)
    with FakeSlack() as fake:
        runtime = runtime_for(url, fake.url, clock=clock)
        crash_once(monkeypatch, runtime.client, "chat_postMessage")
        with pytest.raises(Crash):
            run_report(report, runtime=runtime)
        assert posts(fake) == [] and set(ledger(url)["status"]) == {"pending"}
        clock.advance(minutes=11)
        run_report(report, runtime=runtime)
        rows = ledger(url)
        assert set(rows["status"]) == {"sent"}
        assert set(batches_on_slack(fake)) == set(rows["batch_id"]) and set(batches_on_slack(fake).values()) == {1}
        if report == "vip_report":
            message = fake.messages[REPORT_CHANNEL][0]
            assert "VIP report 2025-05-01 – 2025-05-31" in message["text"]  # monthly by default: last month
            assert len(fake.of("files.completeUploadExternal", thread_ts=message["ts"])) >= 3
        run_report(report, runtime=runtime)
        assert set(batches_on_slack(fake).values()) == {1}


def test_when_slack_cannot_tell_the_message_is_never_sent_twice(url, monkeypatch):
    clock = Clock(START)
    with FakeSlack() as fake:
        runtime = runtime_for(url, fake.url, clock=clock)
        crash_once(monkeypatch, ledger_module, "mark_sent")
        with pytest.raises(Crash):
            run_report("alerts", runtime=runtime)
        fake.failures["conversations.history"] = "missing_scope"
        clock.advance(minutes=11)
        run_report("alerts", runtime=runtime)
        rows = ledger(url)
        lost = rows[rows["status"] == "unknown"]
        assert len(lost["batch_id"].unique()) == 1 and "missing_scope" in lost["error"].iloc[0]
        assert set(rows["status"]) == {"sent", "unknown"}
        clock.advance(days=1)
        run_report("alerts", runtime=runtime)
        assert set(batches_on_slack(fake).values()) == {1}  # at most once: the unknown batch stays unsent


def test_slack_refusing_marks_failed_and_the_next_run_retries(url):
    clock = Clock(START)
    with FakeSlack() as fake:
        runtime = runtime_for(url, fake.url, clock=clock)
        fake.failures["chat.postMessage"] = "ratelimited"
        report = run_report("alerts", runtime=runtime)
        assert report.stats.failed > 0 and report.stats.messages == 0
        assert set(ledger(url)["status"]) == {"failed"}
        del fake.failures["chat.postMessage"]
        clock.advance(hours=1)
        report = run_report("alerts", runtime=runtime)
        rows = ledger(url)
        assert set(rows["status"]) == {"sent"} and set(rows["attempts"]) == {2}
        assert report.stats.messages == len(posts(fake)) > 0
        assert set(batches_on_slack(fake).values()) == {1}


def test_dry_run_plans_without_slack_or_writes(url):
    with FakeSlack() as fake:
        runtime = runtime_for(url, fake.url, clock=Clock(START))
        for kind in ("alerts", "digest", "vip_report"):
            plan = run_report(kind, runtime=runtime, dry_run=True)
            assert plan.planned, kind
        assert fake.calls == []
        engine = engine_for(url)
        with engine.connect() as conn:
            for table in ("alert_delivery", "alert", "churn_score_seen"):
                assert conn.exec_driver_sql(f"select count(*) from {table}").scalar() == 0
        digest = run_report("digest", runtime=runtime, dry_run=True)
        assert digest.planned[0].to == DIGEST_CHANNEL and len(digest.planned[0].keys) == digest.alerts > 0
        assert run_report("digest", runtime=runtime).stats.items == digest.alerts  # the plan is what is sent


def test_claims_are_exclusive_and_survive_races(database_url):
    engine = engine_for(database_url)
    now = START
    first = claim(engine, recipient="user:1", keys=["a", "b", "c"], now=now)
    assert first.keys == ["a", "b", "c"]
    assert claim(engine, recipient="user:1", keys=["a", "b", "c"], now=now) is None  # a second sender gets nothing
    other = claim(engine, recipient="channel:C1", keys=["a", "d", "d"], now=now)
    assert other.keys == ["a", "d"]  # another recipient is another ledger row
    mark_sent(engine, batch_id=first.batch_id, channel="D1", ts="1.0", now=now)
    mark_failed(engine, batch_id=other.batch_id, error="ratelimited")
    assert delivered_keys(engine, recipient="channel:C1", keys=["a", "d"]) == set()  # failed: may be retried
    retry = claim(engine, recipient="channel:C1", keys=["a", "d", "e"], now=now)
    assert sorted(retry.keys) == ["a", "d", "e"] and retry.batch_id != other.batch_id
    for _ in range(2):
        mark_failed(engine, batch_id=retry.batch_id, error="ratelimited")
        retry = claim(engine, recipient="channel:C1", keys=["a"], now=now) or retry
    assert claim(engine, recipient="channel:C1", keys=["a"], now=now) is None  # gave up after 3 attempts
    assert delivered_keys(engine, recipient="user:1", keys=["a", "b", "z"]) == {"a", "b"}
