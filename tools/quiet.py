"""Tool ``quiet_customers``: who went quiet in a period, measured against their *own* rhythm.

Definitions (cadence from ``tools.cadence``; "as of" = the end of the period):
- ratio = days since the last purchase / the customer's usual gap (median gap between
  purchase days). A customer is **quiet** when ratio > ``QUIET_RATIO`` = 2.5, and
  **went quiet in the period** when that moment, last purchase + 2.5 x usual gap,
  falls inside the period (no purchase since, by construction).
- Why 2.5: it is the silence of a customer who has missed two expected purchases and
  is half-way through a third. It is a rule on the customer's own scale, so it means
  the same for a weekly and a quarterly buyer. For a regular buyer (gamma-distributed
  gaps with shape >= 4, i.e. gaps varying by <= 50 %, as repeat and VIP buyers do) a
  silence that long happens by chance in under 1 % of gaps, so a flag is news; for
  an irregular, memoryless buyer it would happen in 18 % (2^-2.5), which is why the
  rule needs a real rhythm: at least ``MIN_ORDERS`` = 4 purchase days (3 gaps).
- Flags: ``spend_drop`` when spend in the last 90 days is at most half of the 90 days
  before; ``frequency_drop`` when orders in the last 90 days are at most half of the
  90 days before (which had at least 2).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import select

from storage.models import Customer, StaffUser
from storage.models.features import CustomerFeatures
from tools.cadence import compute_cadence, rows_frame
from tools.context import ToolContext
from tools.feature_source import fresh_snapshot
from tools.periods import Period
from tools.read_cache import cached_read
from tools.results import ChartSpec, Citation, Column, Table, ToolResult

QUIET_RATIO = 2.5
MIN_ORDERS = 4
DROP_FACTOR = 0.5
_FEATURES = [
    "last_order_at",
    "orders",
    "usual_gap_days",
    "spend_90d",
    "spend_prev_90d",
    "orders_90d",
    "orders_prev_90d",
    "value_tier",
    "rfm_segment",
]


class QuietCustomersParams(BaseModel):
    tier: str = Field(
        default="vip", description="Value tier to watch: vip (default; alias high), mid, low, or 'all'."
    )
    segment: str | None = Field(default=None, description="Only this RFM segment, e.g. 'champions'.")
    period: Period = Field(
        default_factory=Period,
        description="When they went quiet. Default: this month (1st of the month to today).",
    )
    include_earlier: bool = Field(
        default=False, description="Also list customers who went quiet before the period and are still quiet."
    )
    limit: int = Field(default=50, ge=1, le=1000, description="How many customers to list (quietest first).")


class QuietCustomer(BaseModel):
    customer_id: int
    name: str
    owner: str
    tier: str | None
    segment: str | None
    last_purchase: date
    days_since: float
    usual_gap_days: float
    ratio: float = Field(description="days since last purchase / usual gap")
    quiet_since: date = Field(description="Day the silence passed 2.5x the usual gap")
    spend_90d: float
    spend_prev_90d: float
    orders_90d: int
    orders_prev_90d: int
    flags: list[str]


class QuietCustomersResult(ToolResult):
    customers: list[QuietCustomer]
    total: int = Field(description="How many matched before the limit")
    period_start: date
    period_end: date
    threshold: float = QUIET_RATIO


def quiet_period(params: QuietCustomersParams, ctx: ToolContext) -> tuple[datetime, datetime]:
    """[start, end) of the period; default this month of ctx.now."""
    period = params.period
    if period.start is None and period.end is None:
        period = Period(start=ctx.today.replace(day=1))
    start, end = period.resolve(ctx)
    return (start or datetime.combine(date(1970, 1, 1), time.min)), end


def find_quiet(
    ctx: ToolContext,
    *,
    start: datetime,
    end: datetime,
    tier: str | None,
    segment: str | None,
    include_earlier: bool = False,
) -> pd.DataFrame:
    """Quiet customers in scope as a frame (columns: _FEATURES + customer_id, days_since, ratio, quiet_at, flags)."""
    as_of = min(end, ctx.now)
    frame = _features(ctx, as_of=as_of, tier=tier, segment=segment)
    if frame.empty:
        return frame
    last = pd.to_datetime(frame["last_order_at"])
    frame["days_since"] = (pd.Timestamp(as_of) - last) / pd.Timedelta(days=1)
    frame["ratio"] = frame["days_since"] / frame["usual_gap_days"]
    frame["quiet_at"] = last + pd.to_timedelta(QUIET_RATIO * frame["usual_gap_days"], unit="D")
    mask = (frame["orders"] >= MIN_ORDERS) & (frame["usual_gap_days"] > 0) & (frame["ratio"] > QUIET_RATIO)
    mask &= frame["quiet_at"] < pd.Timestamp(as_of)
    if not include_earlier:
        mask &= frame["quiet_at"] >= pd.Timestamp(start)
    out = frame[mask].copy()
    spend_drop = (out["spend_prev_90d"] > 0) & (out["spend_90d"] <= DROP_FACTOR * out["spend_prev_90d"])
    freq_drop = (out["orders_prev_90d"] >= 2) & (out["orders_90d"] <= DROP_FACTOR * out["orders_prev_90d"])
    out["flags"] = [
        [f for f, on in (("spend_drop", s), ("frequency_drop", q)) if on]
        for s, q in zip(spend_drop, freq_drop, strict=True)
    ]
    return out.sort_values(["ratio", "customer_id"], ascending=[False, True]).reset_index(drop=True)


def _features(ctx: ToolContext, *, as_of: datetime, tier: str | None, segment: str | None) -> pd.DataFrame:
    refresh = fresh_snapshot(ctx, now=as_of)
    if refresh is not None:
        f = CustomerFeatures
        delta = (as_of - refresh.as_of) / timedelta(days=1)
        conds = [
            ctx.scope.customer_clause(Customer.owner_id),
            f.orders >= MIN_ORDERS,
            f.usual_gap_days > 0,
            # Quiet as of as_of; days_since_last grows by delta since the refresh (no orders since: it is fresh).
            f.days_since_last + delta > QUIET_RATIO * f.usual_gap_days,
        ]
        if tier:
            conds.append(f.value_tier == tier)
        if segment:
            conds.append(f.rfm_segment == segment)
        cols = [getattr(f, c) for c in _FEATURES]
        with ctx.engine.connect() as conn:
            rows = conn.execute(
                select(f.customer_id, *cols).join(Customer, Customer.id == f.customer_id).where(*conds)
            ).all()
        return rows_frame(rows, ["customer_id", *_FEATURES])
    from tools.rfm import compute_rfm

    cadence = compute_cadence(ctx.engine, now=as_of, scope=ctx.scope)
    rfm = compute_rfm(ctx.engine, now=as_of, scope=ctx.scope, clusters=False)
    frame = cadence.merge(rfm[["customer_id", "value_tier", "rfm_segment"]], on="customer_id", how="left")
    if tier:
        frame = frame[frame["value_tier"] == tier]
    if segment:
        frame = frame[frame["rfm_segment"] == segment]
    return frame[["customer_id", *_FEATURES]].reset_index(drop=True)


def quiet_customers(params: QuietCustomersParams, *, ctx: ToolContext) -> QuietCustomersResult:
    """Customers who went quiet in a period relative to their OWN usual purchase rhythm: days since
    the last purchase compared with the customer's usual gap between purchases (median); a customer
    is quiet when the silence exceeds 2.5x their usual gap, and is listed when that happened inside
    the period (default: this month). VIP tier by default (tier 'mid', 'low' or 'all' to widen; or a
    segment). Each row has owner, last purchase, days since, usual gap, ratio, the day they went
    quiet, and flags for spend drop and frequency drop (last 90 days vs the 90 before). Use for
    "which VIPs went quiet this month", "who stopped buying compared to their normal rhythm". Only
    customers in the caller's scope. Not a churn probability (use churn_risk)."""
    return cached_read(
        ctx,
        "quiet_customers",
        (params.model_dump_json(), ctx.now.replace(second=0, microsecond=0)),
        lambda: _quiet_customers(params, ctx=ctx),
    ).model_copy(deep=True)


def _quiet_customers(params: QuietCustomersParams, *, ctx: ToolContext) -> QuietCustomersResult:
    from tools.rfm import normalize_segment, normalize_tier

    tier = (
        None
        if params.tier.strip().casefold() in ("all", "any", "全部", "所有")
        else normalize_tier(params.tier)
    )
    segment = normalize_segment(params.segment) if params.segment else None
    start, end = quiet_period(params, ctx)
    quiet = find_quiet(
        ctx, start=start, end=end, tier=tier, segment=segment, include_earlier=params.include_earlier
    )
    rows = _rows(ctx, quiet.head(params.limit))
    return _result(params, rows=rows, total=len(quiet), start=start, end=end, tier=tier)


def _rows(ctx: ToolContext, quiet: pd.DataFrame) -> list[QuietCustomer]:
    if quiet.empty:
        return []
    ids = quiet["customer_id"].astype(int).tolist()
    with ctx.engine.connect() as conn:
        people = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                select(Customer.id, Customer.name, Customer.owner_id).where(Customer.id.in_(ids))
            ).all()
        }
        owner_ids = {o for _, o in people.values() if o is not None}
        owners = (
            dict(conn.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(owner_ids))).all())
            if owner_ids
            else {}
        )
    out = []
    for r in quiet.itertuples():
        name, owner_id = people[int(r.customer_id)]
        out.append(
            QuietCustomer(
                customer_id=int(r.customer_id),
                name=name,
                owner=owners.get(owner_id, "?") if owner_id is not None else "public pool",
                tier=r.value_tier if isinstance(r.value_tier, str) else None,
                segment=r.rfm_segment if isinstance(r.rfm_segment, str) else None,
                last_purchase=pd.Timestamp(r.last_order_at).date(),
                days_since=round(float(r.days_since), 1),
                usual_gap_days=round(float(r.usual_gap_days), 1),
                ratio=round(float(r.ratio), 2),
                quiet_since=pd.Timestamp(r.quiet_at).date(),
                spend_90d=round(float(r.spend_90d), 2),
                spend_prev_90d=round(float(r.spend_prev_90d), 2),
                orders_90d=int(r.orders_90d),
                orders_prev_90d=int(r.orders_prev_90d),
                flags=list(r.flags),
            )
        )
    return out


_COLUMNS = [
    Column(key="name", label="Customer", label_zh="客户"),
    Column(key="owner", label="Owner", label_zh="负责人"),
    Column(key="last_purchase", label="Last purchase", label_zh="最近购买", kind="date"),
    Column(key="days_since", label="Days since", label_zh="距今（天）", kind="float"),
    Column(key="usual_gap_days", label="Usual gap (days)", label_zh="通常间隔（天）", kind="float"),
    Column(key="ratio", label="Ratio", label_zh="倍数", kind="float"),
    Column(key="quiet_since", label="Quiet since", label_zh="沉默起始", kind="date"),
    Column(key="flags_text", label="Flags", label_zh="预警"),
]


def _result(
    params, *, rows: list[QuietCustomer], total: int, start: datetime, end: datetime, tier
) -> QuietCustomersResult:
    last_day = (end - timedelta(microseconds=1)).date()
    who = f"{tier.upper() if tier == 'vip' else (tier or 'all')}-tier customers" if tier else "customers"
    if params.segment:
        who += f" in segment {params.segment}"
    span_zh = f"{start.date().isoformat()} 至 {last_day.isoformat()}"
    when = (
        f"went quiet between {start.date().isoformat()} and {last_day.isoformat()}"
        if not params.include_earlier
        else f"are quiet as of {last_day.isoformat()}"
    )
    if rows:
        names = "; ".join(
            f"{r.name} ({r.days_since:.0f} days vs usual {r.usual_gap_days:.0f}, {r.ratio:.1f}x)"
            for r in rows[:5]
        )
        flagged = sum(1 for r in rows if r.flags)
        summary = f"{total} {who} {when} (silence > {QUIET_RATIO}x their own usual gap): {names}. {flagged} also show spend or frequency drops."
        summary_zh = (
            f"{span_zh} 期间共有 {total} 位客户进入沉默（距上次购买超过其通常间隔的 {QUIET_RATIO} 倍）："
            + "；".join(
                f"{r.name}（{r.days_since:.0f} 天，通常 {r.usual_gap_days:.0f} 天）" for r in rows[:5]
            )
        )
    else:
        summary = f"No {who} {when} (silence > {QUIET_RATIO}x their own usual gap)."
        summary_zh = f"{span_zh} 期间没有客户进入沉默（超过其通常购买间隔的 {QUIET_RATIO} 倍）。"
    records = [r.model_dump() | {"flags_text": ", ".join(r.flags) or "—"} for r in rows]
    table = Table.from_records(_COLUMNS, records)
    table.total_rows = total
    chart = None
    if rows:
        top = rows[:15]
        chart = ChartSpec(
            kind="bar",
            title="Days since last purchase vs usual gap",
            x=[r.name for r in top],
            series={"days since": [r.days_since for r in top], "usual gap": [r.usual_gap_days for r in top]},
            y_label="days",
        )
    return QuietCustomersResult(
        summary=summary,
        summary_zh=summary_zh,
        table=table,
        chart=chart,
        citations=[Citation(kind="customer", id=r.customer_id, label=r.name) for r in rows[:50]],
        customers=rows,
        total=total,
        period_start=start.date(),
        period_end=last_day,
    )
