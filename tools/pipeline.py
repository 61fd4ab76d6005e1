"""The sales pipeline: opportunities by stage, a weighted forecast, and rep performance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import and_, case, func, or_, select

from storage.models import Customer, Opportunity, OpportunityStage, StaffUser
from tools.cadence import day_number
from tools.context import ToolContext
from tools.errors import EmptyPeriod
from tools.lookup import resolve_staff
from tools.results import ChartSpec, Column, Table, ToolResult

OPEN_STAGES = [s.value for s in OpportunityStage if s not in (OpportunityStage.won, OpportunityStage.lost)]
STAGE_ORDER = [s.value for s in OpportunityStage]
_STAGE_ZH = {
    "lead": "线索",
    "qualified": "已确认",
    "proposal": "方案",
    "negotiation": "谈判",
    "won": "赢单",
    "lost": "输单",
}


class SalesPipelineParams(BaseModel):
    owner: str | int | None = Field(
        default=None,
        description="Only this rep's opportunities: staff id, email or name; 'me' for the caller.",
    )
    close_from: date | None = Field(
        default=None,
        description="First day (inclusive) of the close window: open deals by expected close date, "
        "closed deals by actual close date. May be in the future.",
    )
    close_to: date | None = Field(
        default=None, description="Last day (inclusive) of the close window. May be in the future."
    )


class StageRow(BaseModel):
    stage: str
    count: int
    amount: float
    weighted_amount: float = Field(
        description="Sum of amount x probability (open stages; won counts in full, lost as 0)"
    )


class ForecastRow(BaseModel):
    month: str = Field(description="Expected close month, YYYY-MM")
    open_deals: int
    amount: float
    weighted_amount: float


class RepRow(BaseModel):
    owner_id: int | None
    owner: str
    open_deals: int
    open_amount: float
    weighted_amount: float
    won: int
    lost: int
    win_rate: float | None = Field(description="won / (won + lost); None without closed deals")
    won_amount: float
    avg_cycle_days: float | None = Field(description="Mean days from creation to close, over won deals")


class SalesPipelineResult(ToolResult):
    stages: list[StageRow]
    forecast: list[ForecastRow]
    reps: list[RepRow]
    total_open_amount: float
    total_weighted_amount: float
    win_rate: float | None


def sales_pipeline(params: SalesPipelineParams, *, ctx: ToolContext) -> SalesPipelineResult:
    """Sales pipeline of opportunities (deals): count and amount by stage (lead, qualified, proposal,
    negotiation, won, lost), a weighted forecast (amount x win probability) by expected close month,
    and per rep the open pipeline, win rate (won / closed) and average sales-cycle days of won deals.
    Use for "how is the pipeline", "forecast for next quarter", "win rate by rep", "cycle time".
    Filters: owner (a rep), and a close window (close_from/close_to; open deals by expected close,
    closed deals by actual close date; future dates are fine). Only opportunities of customers in
    the caller's scope are counted. Not for orders or revenue already booked (use query_metrics)."""
    start, end = _window(params)
    dialect = ctx.engine.dialect.name
    conditions = []
    if params.owner is not None:
        conditions.append(Opportunity.owner_id == resolve_staff(ctx, staff=params.owner).id)
    is_open = Opportunity.stage.in_(OPEN_STAGES)
    if start is not None or end is not None:
        conditions.append(
            or_(
                and_(is_open, _between(Opportunity.expected_close, start, end)),
                and_(~is_open, _closed_between(start, end)),
            )
        )
    weighted = Opportunity.amount * Opportunity.probability
    cycle = day_number(Opportunity.closed_at, dialect) - day_number(Opportunity.created_at, dialect)
    won = Opportunity.stage == OpportunityStage.won.value
    closed_won = won & Opportunity.closed_at.is_not(None)
    # One pass grouped by (owner, stage, expected close); stage, month and rep views are sums of it.
    stmt = select(
        Opportunity.owner_id,
        Opportunity.stage,
        Opportunity.expected_close,
        func.count(),
        func.sum(Opportunity.amount),
        func.sum(weighted),
        func.sum(case((closed_won, cycle), else_=None)),
        func.count(case((closed_won, 1), else_=None)),
    ).where(*conditions)
    if not ctx.scope.all_customers:
        stmt = stmt.join(Customer, Customer.id == Opportunity.customer_id).where(
            ctx.scope.customer_clause(Customer.owner_id)
        )
    stmt = stmt.group_by(Opportunity.owner_id, Opportunity.stage, Opportunity.expected_close)
    with ctx.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        names = dict(conn.execute(select(StaffUser.id, StaffUser.name)).all())
    stages = _stage_rows(_sum_by(rows, lambda r: r[1], fields=(3, 4, 5)))
    forecast = _forecast_rows(
        _sum_by([r for r in rows if r[1] in OPEN_STAGES], lambda r: r[2], fields=(3, 4, 5))
    )
    reps = _rep_rows(_sum_by(rows, lambda r: (r[0], r[1]), fields=(3, 4, 5, 6, 7), flatten=True), names)
    return _result(params, stages=stages, forecast=forecast, reps=reps)


def _sum_by(rows, key, *, fields: tuple[int, ...], flatten: bool = False) -> list[tuple]:
    sums: dict = {}
    for r in rows:
        k = key(r)
        acc = sums.setdefault(k, [0.0] * len(fields))
        for i, f in enumerate(fields):
            acc[i] += float(r[f] or 0)
    return [((*k, *v) if flatten else (k, *v)) for k, v in sums.items()]


def _window(params: SalesPipelineParams) -> tuple[date | None, date | None]:
    if params.close_from and params.close_to and params.close_from > params.close_to:
        raise EmptyPeriod(
            f"the close window {params.close_from.isoformat()} to {params.close_to.isoformat()} is empty (start after end)"
        )
    return params.close_from, params.close_to


def _between(column, start: date | None, end: date | None):
    parts = []
    if start is not None:
        parts.append(column >= start)
    if end is not None:
        parts.append(column <= end)
    return and_(column.is_not(None), *parts)


def _closed_between(start: date | None, end: date | None):
    parts = [Opportunity.closed_at.is_not(None)]
    if start is not None:
        parts.append(Opportunity.closed_at >= datetime.combine(start, time.min))
    if end is not None:
        parts.append(Opportunity.closed_at < datetime.combine(end + timedelta(days=1), time.min))
    return and_(*parts)


def _stage_rows(rows) -> list[StageRow]:
    found = {stage: (n, amount or 0.0, w or 0.0) for stage, n, amount, w in rows}
    out = []
    for stage in STAGE_ORDER + sorted(set(found) - set(STAGE_ORDER)):
        n, amount, w = found.get(stage, (0, 0.0, 0.0))
        weighted = amount if stage == "won" else 0.0 if stage == "lost" else w
        out.append(
            StageRow(stage=stage, count=int(n), amount=round(amount, 2), weighted_amount=round(weighted, 2))
        )
    return out


def _forecast_rows(rows) -> list[ForecastRow]:
    months: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for close, n, amount, w in rows:
        key = _month(close) if close is not None else "no date"
        months[key][0] += n
        months[key][1] += amount or 0.0
        months[key][2] += w or 0.0
    return [
        ForecastRow(month=m, open_deals=int(v[0]), amount=round(v[1], 2), weighted_amount=round(v[2], 2))
        for m, v in sorted(months.items(), key=lambda kv: (kv[0] == "no date", kv[0]))
    ]


def _month(value) -> str:
    return value.isoformat()[:7] if hasattr(value, "isoformat") else str(value)[:7]


def _rep_rows(rows, names: dict[int, str]) -> list[RepRow]:
    acc: dict[int | None, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for owner_id, stage, n, amount, w, cycle_sum, cycle_n in rows:
        a = acc[owner_id]
        if stage in OPEN_STAGES:
            a["open"] += n
            a["open_amount"] += amount or 0.0
            a["weighted"] += w or 0.0
        elif stage == "won":
            a["won"] += n
            a["won_amount"] += amount or 0.0
            a["cycle_sum"] += cycle_sum or 0.0
            a["cycle_n"] += cycle_n or 0
        elif stage == "lost":
            a["lost"] += n
    out = []
    for owner_id, a in acc.items():
        closed = a["won"] + a["lost"]
        out.append(
            RepRow(
                owner_id=owner_id,
                owner=names.get(owner_id, "unassigned") if owner_id is not None else "unassigned",
                open_deals=int(a["open"]),
                open_amount=round(a["open_amount"], 2),
                weighted_amount=round(a["weighted"], 2),
                won=int(a["won"]),
                lost=int(a["lost"]),
                win_rate=round(a["won"] / closed, 4) if closed else None,
                won_amount=round(a["won_amount"], 2),
                avg_cycle_days=round(a["cycle_sum"] / a["cycle_n"], 1) if a["cycle_n"] else None,
            )
        )
    out.sort(key=lambda r: (-r.weighted_amount, r.owner))
    return out


_REP_COLUMNS = [
    Column(key="owner", label="Rep", label_zh="销售"),
    Column(key="open_deals", label="Open deals", label_zh="进行中", kind="int"),
    Column(key="open_amount", label="Open amount", label_zh="进行中金额", kind="money"),
    Column(key="weighted_amount", label="Weighted", label_zh="加权金额", kind="money"),
    Column(key="won", label="Won", label_zh="赢单", kind="int"),
    Column(key="lost", label="Lost", label_zh="输单", kind="int"),
    Column(key="win_rate", label="Win rate", label_zh="赢单率", kind="pct"),
    Column(key="avg_cycle_days", label="Avg cycle (days)", label_zh="平均周期（天）", kind="float"),
]


def _result(
    params, *, stages: list[StageRow], forecast: list[ForecastRow], reps: list[RepRow]
) -> SalesPipelineResult:
    open_rows = [s for s in stages if s.stage in OPEN_STAGES]
    total_open = round(sum(s.amount for s in open_rows), 2)
    total_weighted = round(sum(s.weighted_amount for s in open_rows), 2)
    won = sum(r.won for r in reps)
    closed = won + sum(r.lost for r in reps)
    win_rate = round(won / closed, 4) if closed else None
    n_open = sum(s.count for s in open_rows)
    stage_text = ", ".join(f"{s.stage} {s.count}" for s in stages if s.count)
    rate = f"{win_rate:.0%}" if win_rate is not None else "n/a"
    summary = (
        f"Pipeline: {n_open} open deals worth {total_open:,.2f} (weighted forecast {total_weighted:,.2f}); "
        f"win rate {rate} over {closed} closed deals. By stage: {stage_text or 'none'}."
    )
    stage_zh = "，".join(f"{_STAGE_ZH.get(s.stage, s.stage)} {s.count}" for s in stages if s.count)
    summary_zh = (
        f"销售管道：进行中商机 {n_open} 个，金额 {total_open:,.2f}（加权预测 {total_weighted:,.2f}）；"
        f"已关闭 {closed} 个，赢单率 {rate}。按阶段：{stage_zh or '无'}。"
    )
    chart = None
    if forecast:
        chart = ChartSpec(
            kind="bar",
            title="Weighted forecast by expected close month",
            x=[f.month for f in forecast],
            series={
                "weighted": [f.weighted_amount for f in forecast],
                "amount": [f.amount for f in forecast],
            },
            x_label="month",
            y_label="amount",
        )
    return SalesPipelineResult(
        summary=summary,
        summary_zh=summary_zh,
        table=Table.from_records(_REP_COLUMNS, reps),
        chart=chart,
        stages=stages,
        forecast=forecast,
        reps=reps,
        total_open_amount=total_open,
        total_weighted_amount=total_weighted,
        win_rate=win_rate,
    )
