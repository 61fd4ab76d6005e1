"""A few unambiguous words that outrank the intent model.

The model learns from a few hundred sentences; these rules encode what no sentence
set can cover reliably: writes need a write verb, "went quiet" is about quiet
customers unless a report is asked for, and so on. Each rule only corrects a
prediction among intents it names, so it cannot pull an unrelated question in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.router.slots import Slots


@dataclass(frozen=True)
class Rule:
    intent: str
    pattern: re.Pattern
    overrides: frozenset[str]
    unless: re.Pattern | None = None


def _re(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


RULES = [
    Rule(
        "quiet_customers",
        _re(r"went quiet|gone quiet|go(?:ing)? quiet|gone silent|went silent|go(?:ne)? cold|stopped (?:buying|ordering|purchasing)"
            r"|no longer (?:buy|order)|(?:hasn'?t|haven'?t|not|didn'?t) (?:bought|ordered|purchased)(?: anything)?"
            r" (?:in|for|since|lately|recently)|lapsed"
            r"|沉默|沉寂|不再下单|不下单了|不买了|没再买|没有再买|不怎么买|(?:很久|好久|许久|一直)没(?:来)?(?:买|下单|消费|光顾)|变冷"),
        frozenset({"vip_report", "find_customers", "segment_customers", "query_metrics", "churn_risk", "customer_profile"}),
        unless=_re(r"report|overview|summary|dashboard|\bwill\b|predict|going to|likely|报告|概况|总览|看板|月报|周报|预测|可能|将会"),
    ),
    Rule(
        "interaction_history",
        _re(r"complain|complaint|投诉|抱怨"),
        frozenset({"customer_profile", "purchase_history", "find_customers"}),
        unless=_re(r"how many|number of|count|多少|几个|几次"),
    ),
    Rule(
        "lifetime_value",
        _re(r"\bclv\b|\bltv\b|lifetime value|终身价值|生命周期价值|最值钱|未来价值|预测价值"),
        frozenset({"query_metrics", "find_customers", "customer_profile", "segment_customers"}),
    ),
    Rule(
        "interaction_history",
        _re(r"(?:which|what) customers? .*(?:complain|mention|said|asked about|raised)|who (?:has )?(?:complain|mention)"
            r"|哪些客户.*(?:投诉|抱怨|提到|反映)|谁.*(?:投诉|抱怨|提到)"),
        frozenset({"query_metrics", "find_customers", "customer_profile"}),
        unless=_re(r"how many|number of|count|多少|几个|几次"),
    ),
    Rule(
        "sales_pipeline",
        _re(r"\bpipeline\b|\bdeals?\b|\bopportunit|\bwin rate\b|商机|单子|赢单|销售管道|销售漏斗|在跟的单"),
        frozenset({"assign_customer", "customer_profile", "find_customers", "query_metrics"}),
        unless=_re(r"\bassign|\bclaim|\brelease|分配|领取|释放|转给"),
    ),
    Rule(
        "query_metrics",
        _re(r"average (?:basket|order|ticket) (?:value|size)|\baov\b|客单价|平均订单"),
        frozenset({"cross_sell", "lifetime_value", "find_customers", "purchase_preferences"}),
    ),
    Rule(
        "segment_customers",
        _re(r"\bsegments?\b|\brfm\b|分群|细分|聚类"),
        frozenset({"churn_risk", "find_customers"}),
        unless=_re(r"\bchurn\b|流失(?:概率|可能|预测)|可能流失"),
    ),
]

# A write must be asked for with a write verb; otherwise the model's runner-up answers.
_WRITE_VERBS = {
    "log_interaction": _re(r"\blog\b|\brecord\b|\bnote\b|\bjot\b|\bwrite (?:down|that)\b|\bsave\b|\badd (?:a )?(?:note|call|visit)\b"
                           r"|\bremember that\b|\btrack a\b|记录|记下|记一下|记一笔|备注|登记|添加|新建|记住|写个"),
    "assign_customer": _re(r"\bclaim|\bassign|\breassign|\btransfer|\brelease|\bhand (?:over|\w+ over)|\bgive\b|\bgrab\b|\bsnag\b"
                           r"|\btake (?:over|ownership)|\bi'?ll take\b|\bput .* (?:back|in) .*pool|\bmove\b|\bunassign|\bowner (?:of|to)\b"
                           r"|领取|认领|领到|领过来|分配|分给|转给|转交|移交|交给|释放|退回|放回|负责人改|我来负责|我来领|接手|拿到我"),
}


def apply_rules(intent: str, ranked: tuple[tuple[str, float], ...], text: str, slots: Slots) -> str:
    for rule in RULES:
        if intent in rule.overrides and rule.pattern.search(text) and not (rule.unless and rule.unless.search(text)):
            intent = rule.intent
            break
    verbs = _WRITE_VERBS.get(intent)
    if verbs is not None and not verbs.search(text):
        intent = next((name for name, _ in ranked if name != intent and name not in _WRITE_VERBS), intent)
    return intent
