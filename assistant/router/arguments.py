"""Slots -> tool arguments, one small builder per catalogue tool.

Builders write the arguments they understand; ``fit_to_schema`` then keeps only
the fields the tool's params model declares (read from the registry), so a tool
that renames or drops a parameter degrades to its default instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from assistant.router.slots import Slots

# Tools that act on one customer and cannot run without one.
NEEDS_CUSTOMER = {"customer_profile", "purchase_history", "log_interaction", "assign_customer"}
# Tools that take a customer when one is named, and otherwise work on many.
TAKES_CUSTOMER = NEEDS_CUSTOMER | {"order_status", "interaction_history", "churn_risk", "lifetime_value", "cross_sell",
                                   "purchase_preferences", "campaign_targets"}  # fmt: skip
# Tools whose one-customer form needs a customer: asked about "her", with none in sight, ask back.
CUSTOMER_FIRST = NEEDS_CUSTOMER | {"purchase_preferences"}

Builder = Callable[[Slots], dict[str, Any]]
BUILDERS: dict[str, Builder] = {}


def builder(name: str) -> Callable[[Builder], Builder]:
    def wrap(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn

    return wrap


def period_arg(slots: Slots) -> dict[str, str] | None:
    if not slots.period:
        return None
    start, end = slots.period
    return {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None}


def _owner(slots: Slots) -> str | None:
    if slots.staff:
        return slots.staff[0]
    return "me" if slots.mine else None


_LIST_WORDS = re.compile(r"\b(list|who|which|show me the|members|names)\b|名单|有哪些|是谁|哪些|列出", re.I)
_CLUSTER_WORDS = re.compile(r"cluster|k-?means|聚类|聚.{0,3}类|簇|k\s*均值", re.I)
_TIER_BREAKDOWN = re.compile(r"value tier|tiers|vip vs|vs mid|价值分层|价值等级|分层", re.I)
_COMPARE = re.compile(r"\bcompare[ds]? (?:to|with) (?:the )?previous\b|\bvs\.? (?:the )?previous\b|\bgrowth\b|\bchange\b|环比|增长|变化", re.I)
_VERSUS = re.compile(r"compar|\bvs\.?\b|versus|against|对比|比较|相比|比起", re.I)
_SHARE = re.compile(r"\bshare\b|\bsplit\b|\bproportion\b|\bpercentage\b|占比|比例|份额", re.I)
_ASC = re.compile(r"\b(?:worst|lowest|least|bottom|smallest|weakest)\b|最差|最低|最少|垫底", re.I)
_RANK = re.compile(r"\b(?:top|best|most|highest|biggest|largest|leading|rank|ranked|ranking)\b|最高|最多|最好|最大|排名|排行|排一下|前\s*\d|前[一二三四五六七八九十]", re.I)
_METRIC_WORDS = [(re.compile(r"\bclick|点击", re.I), "click"), (re.compile(r"\bopen|打开", re.I), "open")]
_CONSENT = re.compile(r"consent|opted in|opt-in|同意|授权", re.I)
_INBOUND = re.compile(r"\b(?:she|he|they|customer) (?:called|emailed|rang|complained|wrote)\b|来电|打来|投诉", re.I)


@builder("find_customers")
def _find_customers(s: Slots) -> dict[str, Any]:
    sort = {"spend": "spend", "clv": "clv", "churn_risk": "churn_risk", "last_purchase": "last_purchase"}.get(s.sort or "")
    args = {
        "name": s.customer,
        "city": _one(s.cities),
        "region": _one(s.regions),
        "country": _one(s.countries),
        "tier": s.tier or s.loyalty,
        "segment": s.segment,
        "owner": _owner(s),
        "pool": "public" if s.pool else None,
        "tags": s.tags or None,
        "sort": sort or ("spend" if s.top_n and not s.customer else None),
        "limit": s.top_n,
    }
    return args


@builder("customer_profile")
def _profile(s: Slots) -> dict[str, Any]:
    return {"customer": s.customer}


@builder("purchase_history")
def _purchases(s: Slots) -> dict[str, Any]:
    return {"customer": s.customer, "period": period_arg(s), "category": _one(s.categories), "brand": _one(s.brands),
            "product": _one(s.products)}  # fmt: skip


@builder("order_status")
def _order_status(s: Slots) -> dict[str, Any]:
    if s.orders:
        return {"order": s.orders[0]}
    return {"customer": s.customer, "limit": s.top_n}


@builder("interaction_history")
def _interactions(s: Slots) -> dict[str, Any]:
    return {"customer": s.customer, "query": topic_text(s), "period": period_arg(s), "kind": _interaction_filter(s),
            "limit": s.top_n}  # fmt: skip


# "Customers who bought X": counted customers, not one customer's purchases.
WHICH_CUSTOMERS = re.compile(r"\b(?:customers|clients|people|buyers) (?:who|that) (?:bought|purchased|ordered)\b"
                              r"|\bwho (?:bought|purchased|ordered)\b|哪些客户买|谁买了|买过.{0,10}的客户|多少(?:个|位)?客户买", re.I)


@builder("query_metrics")
def _metrics(s: Slots) -> dict[str, Any]:
    measures = list(s.measures) or (["customers"] if WHICH_CUSTOMERS.search(s.text) else ["revenue"])
    filters = _metric_filters(s)
    dimensions = [d for d in s.dimensions if d not in filters and _dimension_meant(d, s, filters)]
    # Two or more values of one kind ("online, store and app", "Shanghai vs Beijing") are a comparison.
    for kind, values in (("channel", s.channels), ("gender", s.genders), ("city", s.cities), ("region", s.regions),
                         ("category", s.categories), ("brand", s.brands)):  # fmt: skip
        if len(set(values)) >= 2 and kind not in dimensions:
            dimensions.append(kind)
            if kind in ("channel", "gender"):
                filters.pop(kind, None)
    if s.top_n and not any(d not in _TIME_DIMS for d in dimensions):
        dimensions.append("product")
    args: dict[str, Any] = {
        "measures": measures,
        "dimensions": dimensions or None,
        "filters": filters or None,
        "period": period_arg(s),
        "top_n": s.top_n,
    }
    ranked = [d for d in dimensions if d not in _TIME_DIMS]
    if ranked and (s.top_n or _RANK.search(s.text) or _ASC.search(s.text)):
        args["sort_by"] = measures[0]
        args["descending"] = not _ASC.search(s.text)
        if not s.top_n and _SINGLE.search(s.text):
            args["top_n"] = 1
    if _COMPARE.search(s.text) or (len(s.periods) >= 2 and _VERSUS.search(s.text)):
        args["compare_previous"] = True
    if _SHARE.search(s.text):
        args["share"] = True
    return args


_TIME_DIMS = ("day", "week", "month", "quarter", "year")
# "Which brand sold the most", "哪个城市最高": one winner is asked for.
_SINGLE = re.compile(r"\bwhich (?:one|region|city|country|category|brand|product|channel|rep|campaign|segment)\b(?! (?:and|or)\b)|哪个|哪一个|哪家|哪位", re.I)
# "products" is a dimension only when grouped by ("by product", "top products", "各商品"), not "Apple products".
_PRODUCT_GROUPING = re.compile(r"\b(?:by|per|each|every|top|best|worst|which|most|least)[- ](?:\w+ ){0,2}(?:products?|items?|skus?)\b|各(?:个)?(?:商品|产品)|每(?:个|款)(?:商品|产品)|按(?:商品|产品)|(?:商品|产品)排名|哪(?:个|款|些)(?:商品|产品)|最.{0,4}的.{0,3}(?:商品|产品)", re.I)


def _dimension_meant(dimension: str, s: Slots, filters: dict) -> bool:
    if dimension == "product":
        return bool(_PRODUCT_GROUPING.search(s.text)) or not filters
    return True


def _metric_filters(s: Slots) -> dict[str, Any]:
    filters = {
        "city": _many(s.cities),
        "region": _many(s.regions),
        "country": _many(s.countries),
        "category": _many(s.categories),
        "brand": _many(s.brands),
        "product": _many(s.products),
        "channel": s.channel,
        "value_tier": s.tier,
        "tier": s.loyalty,
        "segment": s.segment,
        "gender": s.gender,
        "campaign": _many(s.campaigns),
        "owner": s.staff[0] if s.staff else None,
    }
    return {k: v for k, v in filters.items() if v}


@builder("segment_customers")
def _segments(s: Slots) -> dict[str, Any]:
    by = "cluster" if _CLUSTER_WORDS.search(s.text) else "tier" if _TIER_BREAKDOWN.search(s.text) else None
    listing = bool((s.segment or s.tier) and _LIST_WORDS.search(s.text))
    return {"by": by, "segment": s.segment, "tier": s.tier, "list_members": listing or None, "limit": s.top_n}


@builder("quiet_customers")
def _quiet(s: Slots) -> dict[str, Any]:
    tier = s.tier
    if tier is None and re.search(r"\ball customers\b|\bany customers?\b|所有客户|全部客户", s.text, re.I):
        tier = "all"
    return {"tier": tier, "segment": s.segment, "period": period_arg(s), "limit": s.top_n}


@builder("churn_risk")
def _churn(s: Slots) -> dict[str, Any]:
    return {"customer": s.customer, "limit": s.top_n, "top_n": s.top_n, "tier": s.tier, "segment": s.segment,
            "owner": _owner(s), "city": _one(s.cities)}  # fmt: skip


@builder("lifetime_value")
def _clv(s: Slots) -> dict[str, Any]:
    return {"customer": s.customer, "top_n": s.top_n, "limit": s.top_n, "horizon_months": _horizon_months(s),
            "tier": s.tier, "segment": s.segment}  # fmt: skip


@builder("cross_sell")
def _cross_sell(s: Slots) -> dict[str, Any]:
    return {"customer": s.customer, "product": _one(s.products), "category": _one(s.categories), "country": _one(s.countries),
            "limit": s.top_n, "top_n": s.top_n}  # fmt: skip


@builder("purchase_preferences")
def _preferences(s: Slots) -> dict[str, Any]:
    return {"customer": s.customer, "segment": s.segment if not s.customer else None,
            "tier": s.tier if not s.customer else None, "period": period_arg(s), "top": s.top_n}  # fmt: skip


@builder("campaign_performance")
def _campaigns(s: Slots) -> dict[str, Any]:
    metric = next((m for p, m in _METRIC_WORDS if p.search(s.text)), None)
    return {"campaign": _one(s.campaigns), "period": period_arg(s), "metric": metric}


@builder("campaign_targets")
def _targets(s: Slots) -> dict[str, Any]:
    return {"segment": s.segment, "tier": s.tier, "size": s.top_n, "campaign": _one(s.campaigns),
            "require_consent": True if _CONSENT.search(s.text) else None, "city": _one(s.cities)}  # fmt: skip


@builder("sales_pipeline")
def _pipeline(s: Slots) -> dict[str, Any]:
    start, end = s.period if s.period else (None, None)
    return {"owner": _owner(s), "close_from": _iso(start), "close_to": _iso(end)}


@builder("vip_report")
def _vip_report(s: Slots) -> dict[str, Any]:
    return {"period": period_arg(s)}


@builder("log_interaction")
def _log(s: Slots) -> dict[str, Any]:
    kind = s.interaction_kind if s.interaction_kind in ("call", "note", "visit", "email", "ticket", "complaint") else "note"
    return {"customer": s.customer, "kind": kind, "body": s.note or s.text,
            "direction": "inbound" if _INBOUND.search(s.text) else None}  # fmt: skip


@builder("assign_customer")
def _assign(s: Slots) -> dict[str, Any]:
    action = s.assign_action or ("assign" if s.staff else "claim")
    if action == "assign" and not s.staff and s.mine:
        action = "claim"
    return {"customer": s.customer, "action": action, "to": s.staff[0] if action == "assign" and s.staff else None}


# ---------------------------------------------------------------- helpers


def _one(values: list[str]) -> str | None:
    return values[0] if values else None


def _many(values: list[str]) -> str | list[str] | None:
    if not values:
        return None
    unique = list(dict.fromkeys(values))
    return unique[0] if len(unique) == 1 else unique


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _horizon_months(s: Slots) -> int | None:
    if not s.period:
        return None
    start, end = s.period
    if start and end and end > (s.today or date.today()):
        return max(1, round((end - start).days / 30.4))
    return None


def _interaction_filter(s: Slots) -> str | None:
    low = s.text.lower()
    if re.search(r"complain|投诉", low):
        return "complaint"
    if re.search(r"\btickets?\b|工单", low):
        return "ticket"
    if re.search(r"\bcalls?\b|通话|电话", low):
        return "call"
    if re.search(r"\bemails?\b|邮件", low):
        return "email"
    if re.search(r"\bvisits?\b|拜访", low):
        return "visit"
    return None


_TOPIC = re.compile(r"\b(?:about|mention(?:ed|ing|s)?|regarding|re:?|concerning|saying)\s+(.+)$|(?:提到|提及|关于|说到|有关)(.+?)(?:的记录|的工单|的投诉|的客户|$)", re.I)


def topic_text(s: Slots) -> str | None:
    """What to search interactions for ("complained about delivery" -> "delivery"), if anything."""
    m = _TOPIC.search(s.text)
    if not m:
        return None
    topic = (m[1] or m[2] or "").strip(" ?？。.!")
    for mention in s.mentions:
        if mention.kind == "time":
            topic = topic.replace(mention.text, "").strip()
    return topic or None


def fit_to_schema(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the tool declares, without empty values."""
    clean = {k: v for k, v in args.items() if v is not None and v != [] and v != {}}
    fields = declared_fields(tool)
    if fields is None:
        return clean
    return {k: v for k, v in clean.items() if k in fields}


_FIELDS: dict[str, frozenset[str] | None] = {}


def declared_fields(tool: str) -> frozenset[str] | None:
    if tool not in _FIELDS:
        from tools.registry import TOOLS

        try:
            _FIELDS[tool] = frozenset(TOOLS[tool].params_model.model_fields)
        except Exception:  # noqa: BLE001 - a tool still being written: pass what we have
            return None
    return _FIELDS[tool]


def build_arguments(tool: str, slots: Slots) -> dict[str, Any]:
    fn = BUILDERS.get(tool)
    return fit_to_schema(tool, fn(slots) if fn else {})
