"""Readable reasons for alerts, in English and Chinese, from the stored numbers and today's name.

Names are never stored with an alert (see ``storage.models.alerts``); they are filled in here,
at display time, so an anonymised customer shows up anonymised in old alerts too.
"""

from __future__ import annotations

from typing import Any

ALERT_KINDS: tuple[str, ...] = ("vip_quiet", "spend_drop", "frequency_drop", "churn_jump", "complaint_spike")
TITLES = {
    "vip_quiet": ("VIP gone quiet", "VIP 客户沉默"),
    "spend_drop": ("Spend drop", "消费下降"),
    "frequency_drop": ("Frequency drop", "购买频次下降"),
    "churn_jump": ("Churn risk jump", "流失风险上升"),
    "complaint_spike": ("Complaint spike", "投诉激增"),
}
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}


def title(kind: str, lang: str = "en") -> str:
    en, zh = TITLES.get(kind, (kind, kind))
    return zh if lang == "zh" else en


def reasons(kind: str, name: str, n: dict[str, Any]) -> tuple[str, str]:
    """(English, Chinese) sentence for one alert."""
    if kind == "vip_quiet":
        return (
            f"VIP {name} has not bought for {n['days_since']:.0f} days, {n['ratio']:.1f}x their usual gap of "
            f"{n['usual_gap_days']:.0f} days (last purchase {n['last_purchase']}, quiet since {n['quiet_since']}).",
            f"VIP 客户{name}已 {n['days_since']:.0f} 天未购买，是其通常间隔（{n['usual_gap_days']:.0f} 天）的 "
            f"{n['ratio']:.1f} 倍（最近购买 {n['last_purchase']}，{n['quiet_since']} 起进入沉默）。",
        )
    if kind == "spend_drop":
        return (
            f"{name} spent {n['spend_90d']:,.2f} in the last 90 days vs {n['spend_prev_90d']:,.2f} in the 90 days "
            f"before ({n['change']:+.0%}), with {n['orders_90d']} order{'s' if n['orders_90d'] != 1 else ''} lately "
            f"({n['tier']} tier).",
            f"{name}近 90 天消费 {n['spend_90d']:,.2f}，前 90 天为 {n['spend_prev_90d']:,.2f}（{n['change']:+.0%}），"
            f"近期仍有 {n['orders_90d']} 笔订单（{n['tier']} 层级）。",
        )
    if kind == "frequency_drop":
        return (
            f"{name} placed {n['orders_90d']} orders in the last 90 days vs {n['orders_prev_90d']} in the 90 days "
            f"before ({n['tier']} tier).",
            f"{name}近 90 天下单 {n['orders_90d']} 次，前 90 天为 {n['orders_prev_90d']} 次（{n['tier']} 层级）。",
        )
    if kind == "churn_jump":
        return (
            f"{name}'s churn risk rose from {n['previous']:.0%} to {n['probability']:.0%} "
            f"(last seen {n['previous_week']}).",
            f"{name}的流失风险从 {n['previous']:.0%} 升至 {n['probability']:.0%}（上次记录：{n['previous_week']}）。",
        )
    if kind == "complaint_spike":
        return (
            f"{name} made {n['complaints']} complaints or negative contacts in the last {n['window_days']} days "
            + (f"(none in the {n['prior_days']} days before)" if not n["prior"] else
               f"(usually {n['expected']:.1f} per {n['window_days']} days)")
            + f"; the latest on {n['latest']}.",
            f"{name}近 {n['window_days']} 天有 {n['complaints']} 次投诉或负面互动（"
            + (f"此前 {n['prior_days']} 天内没有" if not n["prior"] else f"平时约每 {n['window_days']} 天 {n['expected']:.1f} 次")
            + f"），最近一次在 {n['latest']}。",
        )
    return f"{name}: {kind}", f"{name}：{kind}"
