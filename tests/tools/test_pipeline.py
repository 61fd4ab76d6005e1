"""sales_pipeline: stage totals, weighted forecast and rep stats against pandas, scope, filters, errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from analytics_fixtures import module_database
from sqlmodel import Session

from storage.db import engine_for
from storage.models import Customer, Opportunity, Role, StaffUser
from tools import EmptyPeriod, NotFound, ToolContext, get_tool
from tools.pipeline import SalesPipelineParams, sales_pipeline

NOW = datetime(2025, 6, 15, 12, 0)
STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path_factory):
    yield from module_database(request, tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def pipeline_db(database_url):
    import random

    rnd = random.Random(7)
    engine = engine_for(database_url)
    with Session(engine) as s:
        reps = [StaffUser(name=f"Rep {i}", email=f"rep{i}@x.test", role=Role.rep.value) for i in (1, 2)]
        s.add_all(reps)
        s.flush()
        owners = [reps[0].id, reps[1].id, None]
        customers = [Customer(name=f"Cust {i}", owner_id=owners[i % 3]) for i in range(12)]
        s.add_all(customers)
        s.flush()
        for i in range(60):
            cust = customers[i % 12]
            stage = STAGES[rnd.randrange(6)]
            created = NOW - timedelta(days=rnd.randint(20, 200))
            closed = created + timedelta(days=rnd.randint(5, 60)) if stage in ("won", "lost") else None
            s.add(
                Opportunity(
                    customer_id=cust.id,
                    owner_id=cust.owner_id if cust.owner_id else reps[i % 2].id,
                    name=f"Deal {i}",
                    stage=stage,
                    amount=float(rnd.randint(1, 50) * 100),
                    probability=rnd.choice([0.1, 0.25, 0.5, 0.75]),
                    created_at=created,
                    expected_close=(NOW + timedelta(days=rnd.randint(-30, 120))).date(),
                    closed_at=closed,
                )
            )
        s.commit()
        rep_ids = [r.id for r in reps]
    frame = pd.read_sql(
        "select o.*, c.owner_id as cust_owner from opportunity o join customer c on c.id = o.customer_id",
        engine,
    )
    return database_url, rep_ids, frame


def test_totals_match_pandas(pipeline_db):
    url, _, opp = pipeline_db
    result = sales_pipeline(SalesPipelineParams(), ctx=ToolContext.system(now=NOW, database_url=url))
    by_stage = {s.stage: s for s in result.stages}
    for stage, group in opp.groupby("stage"):
        assert by_stage[stage].count == len(group)
        assert by_stage[stage].amount == pytest.approx(group["amount"].sum())
    open_ = opp[~opp["stage"].isin(["won", "lost"])]
    assert result.total_weighted_amount == pytest.approx((open_["amount"] * open_["probability"]).sum())
    months = open_.assign(m=pd.to_datetime(open_["expected_close"]).dt.strftime("%Y-%m")).groupby("m")
    expected = (months.apply(lambda g: (g["amount"] * g["probability"]).sum(), include_groups=False)).round(2)
    assert {f.month: f.weighted_amount for f in result.forecast} == pytest.approx(expected.to_dict())
    won, lost = (opp["stage"] == "won").sum(), (opp["stage"] == "lost").sum()
    assert result.win_rate == pytest.approx(won / (won + lost), abs=1e-4)
    for rep in result.reps:
        mine = opp[opp["owner_id"] == rep.owner_id]
        w = mine[mine["stage"] == "won"]
        cycle = (pd.to_datetime(w["closed_at"]) - pd.to_datetime(w["created_at"])).dt.total_seconds() / 86400
        assert rep.won == len(w)
        assert rep.avg_cycle_days == pytest.approx(cycle.mean(), abs=0.06)
    assert result.table.rows and result.chart.kind == "bar"
    assert "Pipeline" in result.summary and result.summary_zh


def test_rep_sees_own_and_pool_only(pipeline_db):
    url, rep_ids, opp = pipeline_db
    ctx = ToolContext.for_email("rep1@x.test", now=NOW, database_url=url)
    result = get_tool("sales_pipeline")({}, ctx=ctx)
    visible = opp[(opp["cust_owner"] == rep_ids[0]) | opp["cust_owner"].isna()]
    assert sum(s.count for s in result.stages) == len(visible)


def test_owner_and_close_window_filters(pipeline_db):
    url, rep_ids, opp = pipeline_db
    ctx = ToolContext.system(now=NOW, database_url=url)
    start, end = NOW.date(), NOW.date() + timedelta(days=60)
    result = sales_pipeline(SalesPipelineParams(owner="Rep 2", close_from=start, close_to=end), ctx=ctx)
    mine = opp[opp["owner_id"] == rep_ids[1]]
    is_open = ~mine["stage"].isin(["won", "lost"])
    close = pd.to_datetime(mine["expected_close"]).dt.date
    closed_at = pd.to_datetime(mine["closed_at"])
    in_open = is_open & (close >= start) & (close <= end)
    in_closed = (
        ~is_open & (closed_at >= pd.Timestamp(start)) & (closed_at < pd.Timestamp(end + timedelta(days=1)))
    )
    assert sum(s.count for s in result.stages) == int((in_open | in_closed).sum())
    assert {r.owner_id for r in result.reps} <= {rep_ids[1]}


def test_typed_errors(pipeline_db):
    url, _, _ = pipeline_db
    ctx = ToolContext.system(now=NOW, database_url=url)
    with pytest.raises(EmptyPeriod):
        sales_pipeline(SalesPipelineParams(close_from=date(2025, 5, 1), close_to=date(2025, 4, 1)), ctx=ctx)
    with pytest.raises(NotFound):
        sales_pipeline(SalesPipelineParams(owner="Nobody Like This Person"), ctx=ctx)
