"""Early warnings: VIP gone quiet, spend drop, frequency drop, churn-risk jump, complaint spike.

``compute_alerts(ctx)`` runs the rules in ``tools.alerts_rules`` over the customers in the
caller's scope and returns one ``Alert`` per (kind, customer, bucket). The key
``kind:customer:bucket`` is stable while the condition lasts (the bucket is the day a VIP went
quiet, the month of a drop, the ISO week of a churn jump or of the latest complaint), which is
what lets the delivery ledger send each alert once. Each alert names the customer's owner (who
gets it as a Slack DM; public-pool customers go to the managers' digest only), a severity, a
reason in English and Chinese, and the numbers behind it.

``record=True`` (the scheduler and ``crm alerts send``, running as system) also stores the alerts
and this week's churn scores, which the next run compares against. A preview (``crm alerts``,
``GET /api/alerts``) writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.alerts_rules import (
    QUIET_LOOKBACK_DAYS,
    WATCH_TIERS,
    Finding,
    churn_jump,
    complaint_spike,
    frequency_drop,
    iso_week,
    spend_drop,
    vip_quiet,
)
from tools.alerts_text import ALERT_KINDS, reasons, title
from tools.context import ToolContext
from tools.results import Citation, Column, Table, ToolResult

AlertKind = Literal["vip_quiet", "spend_drop", "frequency_drop", "churn_jump", "complaint_spike"]
Severity = Literal["high", "medium", "low"]
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


class Alert(BaseModel):
    key: str = Field(description="kind:customer_id:bucket; stable while the condition lasts")
    kind: AlertKind
    customer_id: int
    customer_name: str
    owner_id: int | None = Field(description="The customer's owner; None: public pool (digest only)")
    owner_name: str
    severity: Severity
    period: str
    reason: str
    reason_zh: str
    numbers: dict[str, Any]
    first_seen_at: datetime | None = None

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    def reason_for(self, lang: str = "en") -> str:
        return self.reason_zh if lang == "zh" else self.reason


class AlertsResult(ToolResult):
    alerts: list[Alert]
    counts: dict[str, int] = Field(description="Alerts per kind")
    as_of: datetime
    source: str = Field(description="'snapshot' (crm refresh) or 'computed'")


def alert_from_record(*, key: str, kind: str, customer_id: int, owner_id: int | None, severity: str,
                      period: str, numbers: dict[str, Any], name: str, owner_name: str,
                      first_seen_at: datetime | None = None) -> Alert:
    """An ``Alert`` from stored fields and today's names (used for digests of recorded alerts)."""
    en, zh = reasons(kind, name, numbers)
    return Alert(key=key, kind=kind, customer_id=customer_id, customer_name=name, owner_id=owner_id,
                 owner_name=owner_name, severity=severity, period=period, reason=en, reason_zh=zh,
                 numbers=numbers, first_seen_at=first_seen_at)


def compute_alerts(ctx: ToolContext, *, kinds: list[str] | tuple[str, ...] | None = None,
                   record: bool = False) -> AlertsResult:
    """Early warnings for the customers in the caller's scope, most severe first.

    ``kinds`` restricts the rules (default: all five). ``record`` stores the alerts and the
    churn scores seen (system runs only; a preview must not move the churn baseline).
    """
    from tools.alerts_memory import churn_baselines, first_seen, record_alerts, record_churn_scores
    from tools.alerts_source import complaint_contacts, people, watch_features
    from tools.quiet import find_quiet

    wanted = set(kinds or ALERT_KINDS)
    unknown = wanted - set(ALERT_KINDS)
    if unknown:
        from tools.errors import InvalidArgument

        raise InvalidArgument(f"unknown alert kind(s): {', '.join(sorted(unknown))}",
                              hint=f"kinds: {', '.join(ALERT_KINDS)}")
    now = ctx.now
    features, source = watch_features(ctx, churn="churn_jump" in wanted)
    findings: list[Finding] = []
    if "vip_quiet" in wanted:
        quiet = find_quiet(ctx, start=now - timedelta(days=QUIET_LOOKBACK_DAYS), end=now, tier="vip", segment=None)
        findings += vip_quiet(quiet)
    quiet_ids = {f.customer_id for f in findings}
    if "spend_drop" in wanted:
        findings += spend_drop(features, now=now, skip=quiet_ids)
    if "frequency_drop" in wanted:
        findings += frequency_drop(features, now=now, skip=quiet_ids)
    bucket = iso_week(now.date())
    scored = features[features["value_tier"].isin(WATCH_TIERS) & features["churn_probability"].notna()]
    if "churn_jump" in wanted and not scored.empty:
        baselines = churn_baselines(ctx.engine, scored["customer_id"].astype(int).tolist(), bucket=bucket)
        findings += churn_jump(features, baselines, now=now)
    if "complaint_spike" in wanted:
        tiers = dict(zip(features["customer_id"].astype(int), features["value_tier"], strict=True))
        findings += complaint_spike(complaint_contacts(ctx), now=now, tiers=tiers)

    names = people(ctx, [f.customer_id for f in findings])
    findings = [f for f in findings if f.customer_id in names]  # scope, once more, on the customer row itself
    if record:
        firsts = record_alerts(ctx.engine, [(f, names[f.customer_id][1]) for f in findings], now=now)
        if "churn_jump" in wanted and not scored.empty:
            record_churn_scores(ctx.engine, dict(zip(scored["customer_id"].astype(int),
                                                     scored["churn_probability"].astype(float), strict=True)),
                                bucket=bucket, now=now)
    else:
        firsts = first_seen(ctx.engine, [f.key for f in findings]) if findings else {}
    alerts = [
        alert_from_record(key=f.key, kind=f.kind, customer_id=f.customer_id, owner_id=names[f.customer_id][1],
                          severity=f.severity, period=f.period, numbers=f.numbers, name=names[f.customer_id][0],
                          owner_name=names[f.customer_id][2], first_seen_at=firsts.get(f.key))
        for f in findings
    ]
    return _result(ranked(alerts), now=now, source=source)


def ranked(alerts: list[Alert]) -> list[Alert]:
    """Most severe first, then by kind and customer: the order every list and message shows."""
    return sorted(alerts, key=lambda a: (SEVERITY_RANK[a.severity], ALERT_KINDS.index(a.kind), a.customer_id))


_COLUMNS = [
    Column(key="severity", label="Severity", label_zh="级别"),
    Column(key="title", label="Alert", label_zh="预警"),
    Column(key="customer_name", label="Customer", label_zh="客户"),
    Column(key="owner_name", label="Owner", label_zh="负责人"),
    Column(key="reason", label="Why", label_zh="原因"),
]


def _result(alerts: list[Alert], *, now: datetime, source: str) -> AlertsResult:
    counts = {k: sum(a.kind == k for a in alerts) for k in ALERT_KINDS}
    day = now.date().isoformat()
    if alerts:
        parts = ", ".join(f"{n} {title(k).lower()}" for k, n in counts.items() if n)
        parts_zh = "，".join(f"{title(k, 'zh')} {n} 条" for k, n in counts.items() if n)
        high = sum(a.severity == "high" for a in alerts)
        summary = f"{len(alerts)} alerts as of {day} ({high} high severity): {parts}."
        summary_zh = f"截至 {day} 共有 {len(alerts)} 条预警（高级别 {high} 条）：{parts_zh}。"
    else:
        summary = f"No alerts as of {day}."
        summary_zh = f"截至 {day} 没有预警。"
    records = [a.model_dump() | {"title": title(a.kind)} for a in alerts]
    table = Table.from_records(_COLUMNS, records)
    return AlertsResult(
        summary=summary, summary_zh=summary_zh, table=table,
        citations=[Citation(kind="customer", id=a.customer_id, label=a.customer_name) for a in alerts[:50]],
        alerts=alerts, counts=counts, as_of=now, source=source,
    )
