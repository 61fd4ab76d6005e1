"""Turn a metrics frame into a self-rendering result: summary (EN/ZH), table and chart."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd

from tools.metrics.catalog import DIMENSIONS, MEASURES
from tools.metrics.dialect import TIME_GRAINS
from tools.metrics.models import QueryMetricsParams, QueryMetricsResult
from tools.results import ChartSpec, Column, Table

MAX_CHART_CATEGORIES = 12
MAX_PIE_SLICES = 6
MAX_SERIES = 6


def _clean(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "int":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _columns(dims: list[str], frame: pd.DataFrame, measures: list[str]) -> list[Column]:
    cols = [Column(key=d, label=DIMENSIONS[d].label, label_zh=DIMENSIONS[d].label_zh) for d in dims]
    for m in measures:
        md = MEASURES[m]
        cols.append(Column(key=m, label=md.label, label_zh=md.label_zh, kind=md.kind))  # type: ignore[arg-type]
        if f"{m}_previous" in frame:
            cols.append(Column(key=f"{m}_previous", label=f"{md.label} (prev)", label_zh=f"{md.label_zh}（上期）", kind=md.kind))  # type: ignore[arg-type]
            cols.append(Column(key=f"{m}_change", label="Change", label_zh="变化", kind="pct"))
        if f"{m}_share" in frame:
            cols.append(Column(key=f"{m}_share", label="Share", label_zh="占比", kind="pct"))
    return cols


def _chart(params: QueryMetricsParams, dims: list[str], frame: pd.DataFrame, measures: list[str]) -> ChartSpec | None:
    if not dims or frame.empty:
        return None
    first = measures[0]
    same_kind = [m for m in measures if MEASURES[m].kind == MEASURES[first].kind][:MAX_SERIES]
    title = f"{MEASURES[first].label} by {' and '.join(dims)}"
    x_dim = dims[0]
    is_time = x_dim in TIME_GRAINS
    if len(dims) >= 2:
        # Two dimensions: x is the first, one series per value of the second (top ones by the measure).
        other = dims[1]
        top = frame.groupby(other)[first].sum().sort_values(ascending=False).head(MAX_SERIES).index
        pivot = frame[frame[other].isin(top)].pivot_table(index=x_dim, columns=other, values=first, aggfunc="sum", sort=True)
        if not is_time:
            pivot = pivot.loc[[x for x in frame[x_dim].drop_duplicates() if x in pivot.index][:MAX_CHART_CATEGORIES]]
        series = {str(c): [float(v) if v == v else 0.0 for v in pivot[c]] for c in pivot.columns}
        return ChartSpec(kind="line" if is_time else "bar", title=title, x=[str(x) for x in pivot.index], series=series,
                         x_label=x_dim, y_label=MEASURES[first].label)
    shown = frame if is_time else frame.head(MAX_CHART_CATEGORIES)
    x = [str(v) for v in shown[x_dim]]
    if params.share and not is_time and len(frame) <= MAX_PIE_SLICES and MEASURES[first].additive and MEASURES[first].kind != "pct":
        return ChartSpec(kind="pie", title=f"Share of {MEASURES[first].label.lower()} by {x_dim}", x=x,
                         series={first: [float(v or 0.0) for v in shown[first]]})
    series = {MEASURES[m].label: [float(v) if v is not None and v == v else 0.0 for v in shown[m]] for m in same_kind}
    return ChartSpec(kind="line" if is_time else "bar", title=title, x=x, series=series, x_label=x_dim,
                     y_label=MEASURES[first].label)


def build_result(
    *,
    params: QueryMetricsParams,
    measures: list[str],
    dims: list[str],
    filters: dict[str, list[str]],
    frame: pd.DataFrame,
    total_rows: int,
    totals: dict[str, float | None],
    start: datetime | None,
    end: datetime,
    previous: dict[str, float | None] | None,
    prev_start: datetime | None,
    prev_end: datetime | None,
    sources: list[str],
    snapshot_missing: bool,
) -> QueryMetricsResult:
    keep = [c for c in frame.columns if c in dims or c in measures or c.endswith(("_previous", "_change", "_share"))]
    records = [{k: _clean(v) for k, v in rec.items()} for rec in frame[keep].to_dict("records")]
    columns = _columns(dims, frame, measures)
    table = Table.from_records(columns, records) if dims else Table.from_records(columns, [{m: totals[m] for m in measures}])
    if dims and total_rows > len(records):
        table.total_rows = total_rows

    last_day = end - timedelta(microseconds=1)  # end is exclusive
    span = f"{start:%Y-%m-%d} to {last_day:%Y-%m-%d}" if start else f"all time to {last_day:%Y-%m-%d}"
    where = "; ".join(f"{k} in {', '.join(v)}" for k, v in filters.items())
    parts_en = [f"{MEASURES[m].label} {_fmt(totals[m], MEASURES[m].kind)}" for m in measures]
    parts_zh = [f"{MEASURES[m].label_zh} {_fmt(totals[m], MEASURES[m].kind)}" for m in measures]
    summary = f"{', '.join(parts_en)} ({span}{'; ' + where if where else ''})."
    summary_zh = f"{'，'.join(parts_zh)}（{span}{'；' + where if where else ''}）。"
    if previous is not None:
        changes_en, changes_zh = [], []
        for m in measures:
            before, now = previous.get(m), totals.get(m)
            delta = (now - before) / abs(before) if before and now is not None else None
            arrow = "n/a" if delta is None else f"{delta:+.1%}"
            changes_en.append(f"{MEASURES[m].label} {_fmt(before, MEASURES[m].kind)} → {arrow}")
            changes_zh.append(f"{MEASURES[m].label_zh} 上期 {_fmt(before, MEASURES[m].kind)}，变化 {arrow}")
        prev_last = prev_end - timedelta(microseconds=1)
        summary += f" Previous period ({prev_start:%Y-%m-%d} to {prev_last:%Y-%m-%d}): " + "; ".join(changes_en) + "."
        summary_zh += f"上期（{prev_start:%Y-%m-%d} 至 {prev_last:%Y-%m-%d}）对比：" + "；".join(changes_zh) + "。"
    if dims and records and dims[0] not in TIME_GRAINS:
        top, m = records[0], measures[0]
        label = " / ".join(str(top[d]) for d in dims)
        summary += f" Top {'/'.join(dims)}: {label} ({_fmt(top[m], MEASURES[m].kind)})."
        summary_zh += f"排名第一：{label}（{_fmt(top[m], MEASURES[m].kind)}）。"
    if not records and dims:
        summary += " No data in this period."
        summary_zh += "该期间没有数据。"
    if snapshot_missing:
        summary += " Segments come from the feature snapshot, which is missing or stale: run `crm refresh`."
        summary_zh += "分群数据来自特征快照（缺失或过期），请运行 `crm refresh`。"
    return QueryMetricsResult(
        summary=summary,
        summary_zh=summary_zh,
        table=table,
        chart=_chart(params, dims, frame, measures),
        measures=measures,
        dimensions=dims,
        filters=filters,
        period_start=start,
        period_end=end,
        rows=records,
        total_rows=total_rows,
        totals={k: _clean(v) for k, v in totals.items()},
        previous_period_start=prev_start,
        previous_period_end=prev_end,
        previous_totals={k: _clean(v) for k, v in previous.items()} if previous is not None else None,
        sources=sources,
    )
