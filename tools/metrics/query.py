"""query_metrics: the tool over the semantic layer."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from tools.context import ToolContext
from tools.customer_queries import snapshot_state
from tools.errors import InvalidArgument
from tools.metrics import activity
from tools.metrics.catalog import MEASURES
from tools.metrics.compiler import FactQuery, compile_fact
from tools.metrics.dialect import TIME_GRAINS, buckets_between
from tools.metrics.models import QueryMetricsParams, QueryMetricsResult
from tools.metrics.render import build_result
from tools.metrics.resolve import (
    check_applicable,
    choose_facts,
    components,
    finest_grain,
    resolve_dimension,
    resolve_measure,
    resolve_period,
)
from tools.metrics.rollups import pick_rollup, query_rollup, rollups_until, split_period


def query_metrics(params: QueryMetricsParams, *, ctx: ToolContext) -> QueryMetricsResult:
    """Business numbers from a fixed semantic layer (no free SQL): choose measures (revenue/销售额,
    orders, units, buying customers, new_customers, active_customers, average_order_value,
    returns, return_rate, discount_amount, promo_share, campaign_conversions, conversion_rate,
    campaign_revenue, interactions, complaints, tickets_open, pipeline_amount, …), group them by
    up to three dimensions (day/week/month/quarter/year, region, city, country, category, brand,
    product, channel, owner, tier, segment, value_tier, campaign, gender, age_band), filter by
    dimension values, pick a period, sort, keep the top N, add share of total, and compare with
    the previous period. Results cover only the caller's customers (a rep: own + public pool).
    Use it for totals, trends, rankings and breakdowns ("revenue by month this year", "top 5
    categories in East China", "新客户数 by channel"). For one customer use customer_profile or
    purchase_history; for segment definitions use segment_customers.
    """
    measures = list(dict.fromkeys(resolve_measure(m) for m in params.measures))
    dims = list(dict.fromkeys(resolve_dimension(d) for d in params.dimensions))
    filters: dict[str, list[str]] = {}
    for key, value in params.filters.items():
        name = resolve_dimension(key)
        if name in TIME_GRAINS:
            raise InvalidArgument(f"filter on {name!r} is not supported", hint="use period to restrict time")
        values = [value] if isinstance(value, str) else list(value)
        filters[name] = _place_aliases(name, [str(v) for v in values])
    # A product filter (brand = X) needs the line grain just as a product group-by does.
    fact_measures = choose_facts(components(measures), [*dims, *filters])
    check_applicable(fact_measures, [*dims, *filters])
    grain = finest_grain(dims)
    start, end = resolve_period(params.period, ctx, grain=grain)

    with ctx.engine.connect() as conn:
        state = snapshot_state(conn, now=ctx.now)
        until = rollups_until(conn) if state != "missing" else None
    snapshot_first = "first_orders" in fact_measures and state == "fresh"
    frame = _run_any(ctx, fact_measures, dims, filters, start, end, snapshot_first, until)
    totals = _totals(ctx, frame, fact_measures, measures, dims, filters, start, end, snapshot_first)
    frame = _derive(frame, measures)
    if dims and grain is None and not frame.empty:
        # Groups where every measure is zero (e.g. only cancelled orders) are noise in a breakdown.
        comps = [m for ms in fact_measures.values() for m in ms]
        frame = frame[(frame[comps].fillna(0.0) != 0).any(axis=1)]
    if dims == [grain] and grain is not None:
        frame = _fill_buckets(frame, grain, start, end, measures)

    previous = prev_start = prev_end = None
    if params.compare_previous:
        if start is None:
            raise InvalidArgument("compare_previous needs a period with a start date")
        prev_end, prev_start = start, start - (end - start)
        prev_frame = _run_any(ctx, fact_measures, dims, filters, prev_start, prev_end, snapshot_first, until)
        previous = _totals(ctx, prev_frame, fact_measures, measures, dims, filters, prev_start, prev_end, snapshot_first)
        non_time = [d for d in dims if d not in TIME_GRAINS]
        if dims and non_time == dims:
            prev_rows = _derive(prev_frame, measures)[dims + measures].rename(columns={m: f"{m}_previous" for m in measures})
            frame = frame.merge(prev_rows, on=dims, how="left")
            for m in measures:
                frame[f"{m}_change"] = [_change(a, b) for a, b in zip(frame[m], frame[f"{m}_previous"], strict=True)]

    sort_key = _sort_key(params, measures, dims, grain)
    if sort_key is not None and not frame.empty:
        ascending = not params.descending if sort_key in measures or sort_key.endswith("_change") else True
        if sort_key in TIME_GRAINS:
            ascending = True
        frame = frame.sort_values(sort_key, ascending=ascending, kind="stable", na_position="last")
    total_rows = len(frame)
    if params.top_n:
        frame = frame.head(params.top_n)
    if params.share and dims:
        for m in measures:
            if MEASURES[m].kind in ("money", "int") and MEASURES[m].additive and totals.get(m):
                frame[f"{m}_share"] = frame[m] / totals[m]

    return build_result(
        params=params,
        measures=measures,
        dims=dims,
        filters=filters,
        frame=frame,
        total_rows=total_rows,
        totals=totals,
        start=start,
        end=end,
        previous=previous,
        prev_start=prev_start,
        prev_end=prev_end,
        sources=sorted(fact_measures),
        snapshot_missing=any(d in ("segment", "value_tier") for d in [*dims, *filters]) and state != "fresh",
    )


def _place_aliases(name: str, values: list[str]) -> list[str]:
    if name not in ("city", "region", "country"):
        return values
    from tools.customer_queries import PLACE_ALIASES

    return [PLACE_ALIASES.get(v.strip(), v.strip()) for v in values]


def _run_any(ctx, fact_measures, dims, filters, start, end, snapshot_first, until) -> pd.DataFrame:
    """Whole months from a rollup when one fits and is current; the leftover days from raw tables."""
    rollup = pick_rollup(fact_measures, dims, list(filters)) if until is not None else None
    if rollup is None or any(d in ("day", "week") for d in dims):
        return _run(ctx, fact_measures, dims, filters, start, end, snapshot_first)
    split = split_period(start, end, until)
    if split is None:
        return _run(ctx, fact_measures, dims, filters, start, end, snapshot_first)
    body_start, body_end, tail = split
    ((_, measures),) = fact_measures.items()
    months = (body_start.strftime("%Y-%m") if body_start else "0000-00", body_end.strftime("%Y-%m"))
    with ctx.engine.connect() as conn:
        body = query_rollup(conn, rollup, measures=measures, dims=dims, filters=filters, months=months, scope=ctx.scope)
    for d in dims:
        body[d] = body[d].astype(object).where(body[d].notna(), "(none)").astype(str)
    parts = [body]
    if start is not None and start < body_start:
        parts.append(_run(ctx, fact_measures, dims, filters, start, body_start, snapshot_first))
    if tail < end:
        parts.append(_run(ctx, fact_measures, dims, filters, tail, end, snapshot_first))
    merged = pd.concat([p for p in parts if not p.empty] or [body], ignore_index=True)
    for m in measures:
        merged[m] = pd.to_numeric(merged[m], errors="coerce").astype("float64").fillna(0.0)
    if dims:
        return merged.groupby(dims, as_index=False, sort=False)[measures].sum()
    return pd.DataFrame([merged[measures].sum()])


def _run(ctx, fact_measures, dims, filters, start, end, snapshot_first) -> pd.DataFrame:
    frames = []
    with ctx.engine.connect() as conn:
        for fact, ms in fact_measures.items():
            f = None
            if fact == "activity" and activity.answers({fact: ms}, dims, filters):
                # Distinct active customers: a slice of the in-memory activity book, not a year of SQL.
                f = activity.active_frame(ctx, dims=dims, start=start, end=end)
            elif activity.answers_new({fact: ms}, dims, filters, snapshot_first=snapshot_first):
                # New customers by first purchase: the snapshot held in memory, scope as a mask.
                f = activity.new_frame(ctx, dims=dims, start=start, end=end)
            if f is None:
                q = FactQuery(
                    fact=fact,
                    measures=tuple(ms),
                    dimensions=tuple(dims),
                    filters=tuple((k, tuple(v)) for k, v in filters.items()),
                    start=start,
                    end=end,
                    first_orders_from_snapshot=snapshot_first,
                )
                rows = conn.execute(compile_fact(q, ctx=ctx)).all()
                f = pd.DataFrame([tuple(r) for r in rows], columns=[*dims, *ms])
            for d in dims:
                f[d] = f[d].astype(object).where(f[d].notna(), "(none)").astype(str)
            if dims:
                # Two groups may collapse into one label (e.g. NULL and "(none)"): add them up.
                f = f.groupby(dims, as_index=False, sort=False)[ms].sum(min_count=1)
            frames.append(f)
    if not dims:
        merged = pd.concat([f.reset_index(drop=True) for f in frames], axis=1) if frames else pd.DataFrame()
    else:
        merged = frames[0]
        for f in frames[1:]:
            merged = merged.merge(f, on=dims, how="outer")
    for ms in fact_measures.values():
        for m in ms:
            merged[m] = pd.to_numeric(merged[m], errors="coerce").astype("float64").fillna(0.0)
    return merged


def _totals(ctx, frame, fact_measures, measures, dims, filters, start, end, snapshot_first) -> dict[str, float | None]:
    comps = [m for ms in fact_measures.values() for m in ms]
    if not dims:
        sums = {m: float(frame[m].iloc[0]) if len(frame) else 0.0 for m in comps}
    else:
        sums = {m: float(frame[m].sum()) for m in comps}
        exact = {f: [m for m in ms if not MEASURES[m].additive] for f, ms in fact_measures.items()}
        exact = {f: ms for f, ms in exact.items() if ms}
        if exact:
            # Distinct counts do not add up across groups: ask the database for the overall figure.
            whole = _run(ctx, exact, [], filters, start, end, snapshot_first)
            sums.update({m: float(whole[m].iloc[0]) for ms in exact.values() for m in ms})
    out: dict[str, float | None] = {}
    for m in measures:
        ratio = MEASURES[m].ratio
        out[m] = _ratio(sums[ratio[0]], sums[ratio[1]]) if ratio else sums[m]
    return out


def _ratio(num, den) -> float | None:
    return float(num) / float(den) if den else None


def _derive(frame: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for m in measures:
        ratio = MEASURES[m].ratio
        if ratio:
            frame[m] = [_ratio(a, b) for a, b in zip(frame[ratio[0]], frame[ratio[1]], strict=True)]
    return frame


def _fill_buckets(frame: pd.DataFrame, grain: str, start, end, measures: list[str]) -> pd.DataFrame:
    if start is None:
        if frame.empty:
            return frame
        first = min(frame[grain])
        start = datetime.fromisoformat(_label_to_date(first, grain))
    labels = buckets_between(start.date(), end.date() if end.time() == datetime.min.time() else _next_day(end), grain)
    filled = frame.set_index(grain).reindex(labels)
    for col in filled.columns:
        ratio = col in MEASURES and MEASURES[col].ratio
        if not ratio:
            filled[col] = filled[col].fillna(0.0)
    return filled.rename_axis(grain).reset_index()


def _next_day(moment: datetime):
    from datetime import timedelta

    return (moment + timedelta(days=1)).date()


def _label_to_date(label: str, grain: str) -> str:
    if grain == "quarter":
        year, q = label.split("-Q")
        return f"{year}-{3 * (int(q) - 1) + 1:02d}-01"
    if grain == "month":
        return f"{label}-01"
    if grain == "year":
        return f"{label}-01-01"
    return label


def _change(now_value, before) -> float | None:
    if before is None or now_value is None or (isinstance(before, float) and math.isnan(before)) or not before:
        return None
    return (float(now_value) - float(before)) / abs(float(before))


def _sort_key(params: QueryMetricsParams, measures, dims, grain) -> str | None:
    if params.sort_by:
        key = params.sort_by.strip()
        if key.endswith("_change") and params.compare_previous:
            return resolve_measure(key.removesuffix("_change")) + "_change"
        try:
            name = resolve_measure(key)
        except InvalidArgument:
            name = None
        if name is not None:
            if name not in measures:
                raise InvalidArgument(f"cannot sort by {key!r}: it is not among the measures asked for")
            return name
        name = resolve_dimension(key)
        if name not in dims:
            raise InvalidArgument(f"cannot sort by {key!r}: it is not among the dimensions")
        return name
    if not dims:
        return None
    if grain is not None and dims[0] in TIME_GRAINS:
        return dims[0]
    return measures[0]

