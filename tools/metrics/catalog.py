"""The semantic layer's vocabulary, declared as data: measures, dimensions, and the facts they live on.

In the spirit of Cube and MetricFlow: a *fact* is a table at one grain (an order, an
order line, a campaign touch, …) joined to its customer; a *measure* is an aggregate
expression on one or more facts, or a ratio of two other measures; a *dimension* is
an expression to group or filter by, and names the joins it needs. Nothing here
accepts SQL from a caller: questions choose names from these dictionaries.

Synonyms (English and Chinese) let a router map "销售额 by 地区" to
``revenue`` by ``region``; ``query_metrics`` also accepts them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, func, literal, null, select, union_all
from sqlalchemy.orm import aliased

from storage.models import (
    NON_REVENUE_STATUSES,
    Campaign,
    CampaignTouch,
    Customer,
    Interaction,
    Opportunity,
    Order,
    OrderLine,
    Product,
    StaffUser,
)
from storage.models.features import CustomerFeatures
from tools.metrics.dialect import TIME_GRAINS, years_before

Owner = aliased(StaffUser, name="owner")
OppOwner = aliased(StaffUser, name="opp_owner")
OrderCampaign = aliased(Campaign, name="order_campaign")

_REVENUE = Order.status.not_in(NON_REVENUE_STATUSES)
_RETURNED = Order.status == "returned"
_PLACED = Order.status != "cancelled"
_OPEN_OPP = Opportunity.stage.not_in(("won", "lost"))


# Customers' first revenue order (used when no fresh snapshot holds first_order_at).
FIRST_ORDERS = (
    select(Order.customer_id.label("customer_id"), func.min(Order.ordered_at).label("first_at"))
    .where(_REVENUE)
    .group_by(Order.customer_id)
    .subquery("first_orders")
)
# Any order or interaction: what "active" means.
ACTIVITY = union_all(
    select(Order.customer_id.label("customer_id"), Order.ordered_at.label("at")),
    select(Interaction.customer_id.label("customer_id"), Interaction.occurred_at.label("at")),
).subquery("activity")


def _when(cond, value, other=0):
    return case((cond, value), else_=other)


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    label_zh: str
    kind: str  # a tools.results ColumnKind
    description: str
    synonyms: tuple[str, ...] = ()
    # fact name -> aggregate expression; empty for ratio measures
    exprs: dict[str, object] = field(default_factory=dict)
    # ratio measures: (numerator, denominator) measure names
    ratio: tuple[str, str] | None = None
    # False for distinct counts: their total is not the sum of the groups
    additive: bool = True
    hidden: bool = False  # components of ratios, not offered by name


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    label_zh: str
    description: str
    synonyms: tuple[str, ...] = ()
    # fact name -> expression; "*" applies to every fact (customer attributes)
    exprs: dict[str, Callable[[date], object]] = field(default_factory=dict)
    joins: tuple[str, ...] = ()
    is_time: bool = False


# Facts and the family each belongs to. Within a family one fact is chosen per query:
# the order grain unless a product dimension or a line-only measure needs the line grain.
FACT_FAMILY = {
    "orders": "sales",
    "lines": "sales",
    "touches": "campaigns",
    "interactions": "service",
    "opportunities": "pipeline",
    "first_orders": "acquisition",
    "activity": "activity",
}


def _m(name, label, label_zh, kind, description, synonyms=(), **kw) -> Measure:
    return Measure(name, label, label_zh, kind, description, tuple(synonyms), **kw)


_MEASURE_LIST = [
    _m("revenue", "Revenue", "销售额", "money", "Net sales of revenue orders (returned and cancelled excluded)",
       ("sales", "turnover", "gmv", "income", "销售额", "收入", "营业额", "营收", "销售"),
       exprs={"orders": func.sum(_when(_REVENUE, Order.total_amount)), "lines": func.sum(_when(_REVENUE, OrderLine.amount))}),
    _m("orders", "Orders", "订单数", "int", "Number of revenue orders",
       ("order count", "number of orders", "订单", "订单数", "订单量", "单量"),
       exprs={"orders": func.sum(_when(_REVENUE, 1)), "lines": func.count(func.distinct(_when(_REVENUE, Order.id, null())))}),
    _m("customers", "Buying customers", "购买客户数", "int", "Distinct customers with a revenue order",
       ("buyers", "buying customers", "purchasers", "购买客户", "客户数", "买家数", "顾客数"), additive=False,
       exprs={"orders": func.count(func.distinct(_when(_REVENUE, Order.customer_id, null()))),
              "lines": func.count(func.distinct(_when(_REVENUE, Order.customer_id, null())))}),
    _m("units", "Units", "销量（件）", "int", "Units sold on revenue orders",
       ("quantity", "items sold", "volume", "销量", "件数", "数量"),
       exprs={"lines": func.sum(_when(_REVENUE, OrderLine.quantity))}),
    _m("average_order_value", "Average order value", "客单价", "money", "Revenue per revenue order",
       ("aov", "avg order value", "basket size", "客单价", "平均订单金额"), ratio=("revenue", "orders")),
    _m("returns", "Returned orders", "退货订单数", "int", "Orders with status returned",
       ("returned orders", "return count", "退货", "退货数", "退单"),
       exprs={"orders": func.sum(_when(_RETURNED, 1)), "lines": func.count(func.distinct(_when(_RETURNED, Order.id, null())))}),
    _m("returns_value", "Returned value", "退货金额", "money", "Value of returned orders",
       ("return value", "refunds", "退货金额", "退款金额"),
       exprs={"orders": func.sum(_when(_RETURNED, Order.total_amount)), "lines": func.sum(_when(_RETURNED, OrderLine.amount))}),
    _m("placed_orders", "Placed orders", "有效下单数", "int", "Orders not cancelled (revenue + returned)", hidden=True,
       exprs={"orders": func.sum(_when(_PLACED, 1)), "lines": func.count(func.distinct(_when(_PLACED, Order.id, null())))}),
    _m("return_rate", "Return rate", "退货率", "pct", "Returned orders / orders not cancelled",
       ("returns rate", "退货率"), ratio=("returns", "placed_orders")),
    _m("discount_amount", "Discount given", "折扣金额", "money", "List value minus net value on revenue order lines",
       ("discounts", "markdown", "折扣", "折扣金额", "优惠金额"),
       exprs={"lines": func.sum(_when(_REVENUE, OrderLine.quantity * OrderLine.unit_price * OrderLine.discount))}),
    _m("promo_revenue", "Promotion revenue", "促销销售额", "money", "Revenue of lines bought on promotion",
       ("promo sales", "促销销售额"), exprs={"lines": func.sum(_when(and_(_REVENUE, OrderLine.promo), OrderLine.amount))}),
    _m("line_revenue", "Line revenue", "明细销售额", "money", "Revenue at line grain", hidden=True,
       exprs={"lines": func.sum(_when(_REVENUE, OrderLine.amount))}),
    _m("promo_share", "Promotion share", "促销占比", "pct", "Share of revenue bought on promotion",
       ("promo share", "promotion share", "促销占比"), ratio=("promo_revenue", "line_revenue")),
    _m("new_customers", "New customers", "新客户数", "int", "Customers whose first revenue order falls in the period",
       ("new buyers", "first-time buyers", "acquisitions", "新客", "新客户", "新增客户", "首购客户"),
       exprs={"first_orders": func.count()}),
    _m("active_customers", "Active customers", "活跃客户数", "int", "Distinct customers with any order or interaction in the period",
       ("engaged customers", "活跃客户", "活跃用户"), additive=False,
       exprs={"activity": func.count(func.distinct(ACTIVITY.c.customer_id))}),
    _m("campaign_touches", "Campaign sends", "营销触达数", "int", "Campaign messages sent",
       ("sends", "touches", "触达", "发送量"), exprs={"touches": func.count(CampaignTouch.id)}),
    _m("campaign_opens", "Opens", "打开数", "int", "Campaign messages opened", ("opens", "打开"),
       exprs={"touches": func.sum(_when(CampaignTouch.opened, 1))}),
    _m("campaign_clicks", "Clicks", "点击数", "int", "Campaign messages clicked", ("clicks", "点击"),
       exprs={"touches": func.sum(_when(CampaignTouch.clicked, 1))}),
    _m("campaign_conversions", "Conversions", "转化数", "int", "Campaign touches that converted",
       ("conversions", "converted", "转化", "转化数"), exprs={"touches": func.sum(_when(CampaignTouch.converted, 1))}),
    _m("campaign_revenue", "Campaign revenue", "营销带来的销售额", "money", "Revenue attributed to campaign touches",
       ("attributed revenue", "营销收入", "活动销售额"), exprs={"touches": func.sum(CampaignTouch.attributed_revenue)}),
    _m("conversion_rate", "Conversion rate", "转化率", "pct", "Conversions / sends", ("cvr", "转化率"),
       ratio=("campaign_conversions", "campaign_touches")),
    _m("open_rate", "Open rate", "打开率", "pct", "Opens / sends", ("打开率",), ratio=("campaign_opens", "campaign_touches")),
    _m("click_rate", "Click rate", "点击率", "pct", "Clicks / sends", ("ctr", "点击率"), ratio=("campaign_clicks", "campaign_touches")),
    _m("interactions", "Interactions", "互动次数", "int", "Calls, emails, tickets, visits, notes …",
       ("contacts", "touchpoints", "互动", "沟通次数", "联系次数"), exprs={"interactions": func.count(Interaction.id)}),
    _m("complaints", "Complaints", "投诉数", "int", "Interactions of kind complaint", ("投诉", "投诉数"),
       exprs={"interactions": func.sum(_when(Interaction.kind == "complaint", 1))}),
    _m("tickets_open", "Open tickets", "未结工单", "int", "Tickets and complaints still open or pending",
       ("open tickets", "unresolved tickets", "未结工单", "未解决工单", "待处理工单"),
       exprs={"interactions": func.sum(_when(and_(Interaction.kind.in_(("ticket", "complaint")),
                                                  Interaction.ticket_status.in_(("open", "pending"))), 1))}),
    _m("pipeline_amount", "Open pipeline", "在途商机金额", "money", "Amount of opportunities not yet won or lost",
       ("pipeline", "open pipeline", "商机金额", "销售管道", "在途金额"),
       exprs={"opportunities": func.sum(_when(_OPEN_OPP, Opportunity.amount))}),
    _m("weighted_pipeline", "Weighted pipeline", "加权商机金额", "money", "Open amount × probability",
       ("weighted forecast", "加权预测"), exprs={"opportunities": func.sum(_when(_OPEN_OPP, Opportunity.amount * Opportunity.probability))}),
    _m("won_amount", "Won amount", "赢单金额", "money", "Amount of won opportunities", ("won revenue", "赢单金额"),
       exprs={"opportunities": func.sum(_when(Opportunity.stage == "won", Opportunity.amount))}),
    _m("opportunities", "Opportunities", "商机数", "int", "Opportunities created", ("deals", "商机", "商机数"),
       exprs={"opportunities": func.count(Opportunity.id)}),
]


def _customer(col):
    return {"*": lambda today: col}


def _age_band(today: date):
    cut = {n: years_before(today, n) for n in (25, 35, 45, 55, 65)}
    b = Customer.birth_date
    return case(
        (b.is_(None), literal("unknown")),
        (b > cut[25], literal("<25")),
        (b > cut[35], literal("25-34")),
        (b > cut[45], literal("35-44")),
        (b > cut[55], literal("45-54")),
        (b > cut[65], literal("55-64")),
        else_=literal("65+"),
    )


def _d(name, label, label_zh, description, synonyms=(), **kw) -> Dimension:
    return Dimension(name, label, label_zh, description, tuple(synonyms), **kw)


_TIME_ZH = {"day": ("日", ("daily", "date", "按天", "每天", "日期")), "week": ("周", ("weekly", "按周", "每周")),
            "month": ("月", ("monthly", "按月", "每月", "月份")), "quarter": ("季度", ("quarterly", "按季度", "每季度")),
            "year": ("年", ("yearly", "annual", "按年", "每年", "年度"))}

_DIMENSION_LIST = [
    *[_d(g, g.capitalize(), zh, f"Time bucket: {g}", syn, is_time=True) for g, (zh, syn) in _TIME_ZH.items()],
    _d("region", "Region", "地区", "Customer region", ("area", "地区", "区域", "大区"), exprs=_customer(Customer.region)),
    _d("city", "City", "城市", "Customer city", ("town", "城市"), exprs=_customer(Customer.city)),
    _d("country", "Country", "国家", "Customer country", ("nation", "国家"), exprs=_customer(Customer.country)),
    _d("gender", "Gender", "性别", "Customer gender", ("sex", "性别"), exprs=_customer(Customer.gender)),
    _d("age_band", "Age band", "年龄段", "Customer age band today", ("age", "age group", "年龄", "年龄段"),
       exprs={"*": _age_band}),
    _d("tier", "Loyalty tier", "会员等级", "Customer loyalty tier (bronze … platinum)",
       ("loyalty tier", "membership", "level", "会员等级", "等级", "会员级别"), exprs=_customer(Customer.loyalty_tier)),
    _d("segment", "RFM segment", "客户分群", "RFM segment from the feature snapshot",
       ("rfm segment", "rfm", "分群", "客户分群", "细分"), exprs=_customer(CustomerFeatures.rfm_segment), joins=("features",)),
    _d("value_tier", "Value tier", "价值等级", "Value tier by spend from the snapshot (vip, mid, low)",
       ("value", "spend tier", "价值等级", "价值分层"), exprs=_customer(CustomerFeatures.value_tier), joins=("features",)),
    _d("owner", "Owner (rep)", "负责人", "The rep who owns the customer; 'public pool' when unowned",
       ("rep", "sales rep", "salesperson", "account owner", "负责人", "销售", "业务员", "客户经理"),
       exprs={"*": lambda today: func.coalesce(Owner.name, literal("public pool")),
              "opportunities": lambda today: func.coalesce(OppOwner.name, literal("unassigned"))},
       joins=("owner",)),
    _d("channel", "Channel", "渠道", "Order channel (online, store, app, social); interaction or campaign channel on those facts",
       ("sales channel", "渠道", "销售渠道"),
       exprs={"orders": lambda t: Order.channel, "lines": lambda t: Order.channel, "interactions": lambda t: Interaction.channel,
              "touches": lambda t: Campaign.channel}),
    _d("campaign", "Campaign", "营销活动", "Campaign (attributed orders, or the campaign of a touch)",
       ("promotion", "营销活动", "活动"),
       exprs={"orders": lambda t: func.coalesce(OrderCampaign.name, literal("(none)")),
              "lines": lambda t: func.coalesce(OrderCampaign.name, literal("(none)")),
              "touches": lambda t: Campaign.name},
       joins=("order_campaign",)),
    _d("category", "Category", "品类", "Product category", ("product category", "品类", "类目", "类别"),
       exprs={"lines": lambda t: Product.category}),
    _d("brand", "Brand", "品牌", "Product brand", ("品牌",), exprs={"lines": lambda t: Product.brand}),
    _d("product", "Product", "商品", "Product name", ("item", "sku", "商品", "产品"), exprs={"lines": lambda t: Product.name}),
    _d("variant", "Variant", "版本", "Campaign A/B variant", ("ab variant", "版本", "分组"),
       exprs={"touches": lambda t: CampaignTouch.variant}),
    _d("stage", "Stage", "阶段", "Opportunity stage", ("deal stage", "阶段", "商机阶段"),
       exprs={"opportunities": lambda t: Opportunity.stage}),
    _d("kind", "Interaction kind", "互动类型", "Interaction kind (call, email, ticket, complaint, …)", ("interaction type", "互动类型"),
       exprs={"interactions": lambda t: Interaction.kind}),
    _d("status", "Order status", "订单状态", "Order status", ("order status", "订单状态"),
       exprs={"orders": lambda t: Order.status, "lines": lambda t: Order.status}),
]

MEASURES: dict[str, Measure] = {m.name: m for m in _MEASURE_LIST}
DIMENSIONS: dict[str, Dimension] = {d.name: d for d in _DIMENSION_LIST}
assert set(TIME_GRAINS) <= set(DIMENSIONS)


def measure_facts(name: str) -> set[str]:
    m = MEASURES[name]
    if m.ratio:
        return measure_facts(m.ratio[0]) & measure_facts(m.ratio[1])
    return set(m.exprs)


def dimension_facts(name: str) -> set[str] | None:
    """Facts a dimension applies to; None means every fact."""
    d = DIMENSIONS[name]
    if d.is_time or "*" in d.exprs:
        return None
    return set(d.exprs)
