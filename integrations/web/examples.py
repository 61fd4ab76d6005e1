"""Example questions the chat page offers, per role (each was checked against the offline router)."""

from __future__ import annotations

EXAMPLES: dict[str, list[str]] = {
    "rep": [
        "my top customers by spend",
        "which VIPs went quiet this month?",
        "show my sales pipeline",
        "我的客户里谁最近没有下单？",
    ],
    "manager": [
        "monthly revenue this year",
        "revenue by region last quarter",
        "which VIPs went quiet this month?",
        "上个季度各地区的销售额",
    ],
    "support": [
        "complaints about delivery last month",
        "customer segments by RFM",
        "which VIPs went quiet this month?",
        "上个月关于配送的投诉",
    ],
    "admin": [
        "monthly revenue this year",
        "campaign performance this year",
        "customer segments by RFM",
        "上个季度各地区的销售额",
    ],
}


def examples_for(role: str) -> list[str]:
    return EXAMPLES.get(role, EXAMPLES["rep"])
