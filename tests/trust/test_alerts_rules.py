"""Each alert kind on a seeded demo: planted truths, independent recomputation, scope, keys and memory."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from _alerts_data import NOW, complaints, demo_copy, owners, truth, windows
from sqlalchemy import func, select
from sqlmodel import Session

from storage.db import engine_for
from storage.models import (
    AlertRecord,
    ChurnScoreSeen,
    Customer,
    FeatureRefresh,
    Interaction,
    Order,
    StaffUser,
)
from storage.models.features import CustomerFeatures
from tools import InvalidArgument
from tools.alerts import compute_alerts
from tools.alerts_rules import COMPLAINT_MIN, SPIKE_FACTOR, WATCH_TIERS
from tools.context import ToolContext
from tools.rfm import compute_rfm

NO_CHURN = ["vip_quiet", "spend_drop", "frequency_drop", "complaint_spike"]
DEMO_NOW = datetime(2025, 6, 20)  # the demo's pinned today: its planted truths hold at this moment


@pytest.fixture
def url(tmp_path_factory, tmp_path):
    return demo_copy(tmp_path_factory, tmp_path)


def system(url: str, now: datetime = NOW) -> ToolContext:
    return ToolContext.system(now=now, database_url=url)


def by_kind(result, kind: str) -> dict[int, object]:
    return {a.customer_id: a for a in result.alerts if a.kind == kind}


def test_vip_quiet_finds_the_planted_quiet_vips(url):
    result = compute_alerts(system(url, DEMO_NOW), kinds=["vip_quiet"])
    planted = truth(url, "quiet_vip")
    assert planted, "the demo plants quiet VIPs"
    quiet = by_kind(result, "vip_quiet")
    assert set(quiet) == planted
    for a in quiet.values():
        n = a.numbers
        assert n["ratio"] > 2.5 and n["days_since"] == pytest.approx(n["ratio"] * n["usual_gap_days"], rel=0.02)
        assert a.key == f"vip_quiet:{a.customer_id}:{n['quiet_since']}"
        assert a.severity in ("high", "medium") and a.owner_name


def test_drops_match_an_independent_computation_and_the_planted_spend_drops(url):
    ctx = system(url)
    result = compute_alerts(ctx, kinds=NO_CHURN)
    quiet = set(by_kind(result, "vip_quiet"))
    tiers = compute_rfm(engine_for(url), now=NOW, clusters=False).set_index("customer_id")["value_tier"]
    w = windows(url, NOW).join(tiers, how="inner")
    watched = w[w["value_tier"].isin(WATCH_TIERS) & (w["orders_90d"] >= 1) & ~w.index.isin(quiet)]
    expect_spend = set(watched[(watched["spend_prev_90d"] > 0)
                               & (watched["spend_90d"] <= 0.5 * watched["spend_prev_90d"] + 1e-6)].index)
    expect_freq = set(watched[(watched["orders_prev_90d"] >= 2)
                              & (watched["orders_90d"] <= 0.5 * watched["orders_prev_90d"])].index)
    spend, freq = by_kind(result, "spend_drop"), by_kind(result, "frequency_drop")
    assert set(spend) == expect_spend and set(freq) == expect_freq
    assert spend and freq
    for cid, a in spend.items():
        assert a.numbers["spend_90d"] == pytest.approx(w.loc[cid, "spend_90d"], abs=0.01)
        assert a.numbers["spend_prev_90d"] == pytest.approx(w.loc[cid, "spend_prev_90d"], abs=0.01)
        assert a.key == f"spend_drop:{cid}:2025-06"
        assert a.severity == ("high" if w.loc[cid, "value_tier"] == "vip" else "medium")
    for cid, a in freq.items():
        assert (a.numbers["orders_90d"], a.numbers["orders_prev_90d"]) == (w.loc[cid, "orders_90d"],
                                                                           w.loc[cid, "orders_prev_90d"])
    # The planted spend drops (generator truth, defined on its own windows) are found.
    planted = {c for c in truth(url, "spend_drop") if tiers.get(c) in WATCH_TIERS}
    assert planted and len(planted & set(spend)) / len(planted) >= 0.9


def test_complaint_spike_on_planted_complaints(url):
    engine = engine_for(url)
    with Session(engine) as s:
        calm, noisy = s.exec(select(Customer.id).order_by(Customer.id).limit(2)).scalars().all()
        s.execute(Interaction.__table__.delete().where(Interaction.customer_id.in_([calm, noisy])))
        rows = [(calm, 3, 0), (noisy, 3, 8)]  # (customer, complaints in the last 30 days, in the 180 before)
        for cid, recent, before in rows:
            for i in range(recent):
                s.add(Interaction(customer_id=cid, channel="phone", kind="complaint", sentiment=-0.8,
                                  occurred_at=NOW - timedelta(days=2 + 5 * i), body="broken again"))
            for i in range(before):
                s.add(Interaction(customer_id=cid, channel="email", kind="ticket", sentiment=-0.9,
                                  occurred_at=NOW - timedelta(days=40 + 15 * i), body="late"))
        s.commit()
    result = compute_alerts(system(url), kinds=["complaint_spike"])
    spikes = by_kind(result, "complaint_spike")
    assert calm in spikes and noisy not in spikes  # 3 vs 8 before (1.33 expected per 30 days): not 3x
    a = spikes[calm]
    assert a.numbers["complaints"] == 3 and a.numbers["prior"] == 0 and a.severity == "high"
    assert a.period == "2025-W25" and a.key == f"complaint_spike:{calm}:2025-W25"  # week of the latest, 06-16
    oracle = complaints(url, NOW)
    oracle["expected"] = oracle["prior"] * 30 / 180
    expect = set(oracle[(oracle["recent"] >= COMPLAINT_MIN) & (oracle["recent"] >= SPIKE_FACTOR * oracle["expected"])].index)
    assert set(spikes) == expect
    for cid, alert in spikes.items():
        assert alert.numbers["complaints"] == oracle.loc[cid, "recent"]


def _snapshot(url: str, now: datetime, scores: dict[int, tuple[str, float]]) -> None:
    """A fresh feature snapshot holding only these customers (tier, churn probability): the score is ours to set."""
    engine = engine_for(url)
    with Session(engine) as s:
        s.execute(CustomerFeatures.__table__.delete())
        max_id = s.exec(select(func.max(Order.id))).scalar()
        s.add(FeatureRefresh(started_at=now, finished_at=now, as_of=now, data_fingerprint="test", max_order_id=max_id,
                             order_count=0, mode="full"))
        for cid, (tier, p) in scores.items():
            s.add(CustomerFeatures(customer_id=cid, computed_at=now, data_fingerprint="test", value_tier=tier,
                                   churn_probability=p, spend_90d=1.0, spend_prev_90d=1.0, orders_90d=1, orders_prev_90d=1))
        s.commit()


def test_churn_jump_compares_with_the_score_remembered_from_an_earlier_week(url):
    a, b, c, d = 11, 12, 13, 14
    week1, week2 = datetime(2025, 6, 10, 8), datetime(2025, 6, 17, 8)  # ISO weeks 24 and 25
    _snapshot(url, week1, {a: ("vip", 0.30), b: ("mid", 0.60), c: ("mid", 0.20), d: ("low", 0.10)})
    first = compute_alerts(system(url, week1), kinds=["churn_jump"], record=True)
    assert first.alerts == []  # nothing seen before: no jump to report
    assert compute_alerts(system(url, week1), kinds=["churn_jump"], record=True).alerts == []

    _snapshot(url, week2, {a: ("vip", 0.75), b: ("mid", 0.70), c: ("mid", 0.45), d: ("low", 0.95)})
    preview = compute_alerts(system(url, week2), kinds=["churn_jump"])
    jumps = by_kind(preview, "churn_jump")
    # a: +0.45 to 0.75; b: only +0.10; c: +0.25 but below 0.5; d: low tier is not watched.
    assert set(jumps) == {a}
    alert = jumps[a]
    assert alert.numbers == {"probability": 0.75, "previous": 0.3, "previous_week": "2025-W24", "tier": "vip"}
    assert alert.key == f"churn_jump:{a}:2025-W25" and alert.severity == "high"
    assert "30%" in alert.reason and "75%" in alert.reason and "75%" in alert.reason_zh
    # Recording this week's scores keeps last week's as the baseline: the same jump, the same key, again.
    again = compute_alerts(system(url, week2 + timedelta(hours=3)), kinds=["churn_jump"], record=True)
    assert [x.key for x in again.alerts] == [alert.key]
    assert [x.key for x in compute_alerts(system(url, week2 + timedelta(hours=6)), kinds=["churn_jump"]).alerts] == [alert.key]
    with Session(engine_for(url)) as s:
        row = s.get(ChurnScoreSeen, a)
        assert (row.probability, row.bucket, row.previous_probability, row.previous_bucket) == (0.75, "2025-W25", 0.3, "2025-W24")
    # The next week the baseline is 0.75: no jump without a new rise.
    week3 = datetime(2025, 6, 18, 8) + timedelta(days=6)
    _snapshot(url, week3, {a: ("vip", 0.78), b: ("mid", 0.70), c: ("mid", 0.45), d: ("low", 0.95)})
    assert compute_alerts(system(url, week3), kinds=["churn_jump"]).alerts == []


def test_scope_rep_and_manager_see_only_their_alerts(url):
    everyone = compute_alerts(system(url), kinds=NO_CHURN)
    owner = owners(url)
    engine = engine_for(url)
    with Session(engine) as s:
        rep = s.exec(select(StaffUser).where(StaffUser.role == "rep").order_by(StaffUser.id)).scalars().first()
        manager = s.exec(select(StaffUser).where(StaffUser.role == "manager", StaffUser.team == rep.team,
                                                 StaffUser.is_head_of_sales.is_(False))).scalars().first()
        team = set(s.exec(select(StaffUser.id).where(StaffUser.team == rep.team)).scalars())
    def allowed(ids):
        return {a.key for a in everyone.alerts if pd.isna(owner[a.customer_id]) or int(owner[a.customer_id]) in ids}
    mine = compute_alerts(ToolContext.for_email(rep.email, now=NOW, database_url=url), kinds=NO_CHURN)
    assert {a.key for a in mine.alerts} == allowed({rep.id})
    assert any(a.owner_id == rep.id for a in mine.alerts) and any(a.in_pool for a in mine.alerts)
    theirs = compute_alerts(ToolContext.for_email(manager.email, now=NOW, database_url=url), kinds=NO_CHURN)
    assert {a.key for a in theirs.alerts} == allowed(team | {manager.id})
    assert len(everyone.alerts) > len(theirs.alerts) > len(mine.alerts)


def test_preview_writes_nothing_and_keys_are_stable_across_days(url):
    engine = engine_for(url)
    preview = compute_alerts(system(url), kinds=NO_CHURN)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AlertRecord)).scalar() == 0
    recorded = compute_alerts(system(url), kinds=NO_CHURN, record=True)
    assert [a.key for a in recorded.alerts] == [a.key for a in preview.alerts]
    assert all(a.first_seen_at == NOW for a in recorded.alerts)
    later = compute_alerts(system(url, NOW + timedelta(days=1)), kinds=NO_CHURN, record=True)
    quiet_keys = {a.key for a in recorded.alerts if a.kind == "vip_quiet"}
    assert quiet_keys and quiet_keys <= {a.key for a in later.alerts}  # one silence, one key
    kept = [a for a in later.alerts if a.key in {r.key for r in recorded.alerts}]
    assert kept and all(a.first_seen_at == NOW for a in kept)
    with Session(engine) as s:
        rows = s.exec(select(AlertRecord)).scalars().all()
        assert {r.key for r in rows} == {a.key for a in recorded.alerts} | {a.key for a in later.alerts}
        assert all("name" not in r.numbers for r in rows)  # names are never stored with an alert


def test_every_alert_reads_well_in_both_languages(url):
    result = compute_alerts(system(url), kinds=NO_CHURN)
    assert {a.kind for a in result.alerts} == set(NO_CHURN)
    for a in result.alerts:
        assert a.customer_name in a.reason and a.customer_name in a.reason_zh
        assert a.reason.endswith(".") and a.reason_zh.endswith("。")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in a.reason_zh)
    assert result.summary.startswith(f"{len(result.alerts)} alerts as of 2025-06-18")
    assert "预警" in result.summary_zh


def test_unknown_kind_is_a_clear_error(url):
    with pytest.raises(InvalidArgument, match="unknown alert kind"):
        compute_alerts(system(url), kinds=["vip_quiet", "bogus"])
