"""Subjects and bodies for interactions: real customer text inside CRM-style framing.

Bodies quote a real message or review (see ``storage.demo.texts``) and cite real
order numbers and SKUs, so keyword search and retrieval have something to find.
"""

from __future__ import annotations

import numpy as np

TOPICS = ["delivery", "quality", "refund", "payment", "account", "positive", "general"]
DELIVERY, QUALITY, REFUND, PAYMENT, ACCOUNT, POSITIVE, GENERAL = range(7)
TITLES = {
    "en": ["Delivery status", "Product quality", "Refund request", "Payment issue", "Account update",
           "Feedback", "General enquiry"],
    "zh": ["物流查询", "商品质量", "退款申请", "支付问题", "账户信息", "客户好评", "一般咨询"],
}
# Topic mix per kind for inbound contacts, in TOPICS order.
TOPIC_MIX = {
    "call": [0.22, 0.05, 0.2, 0.18, 0.15, 0.2, 0.0],
    "email": [0.2, 0.05, 0.2, 0.2, 0.2, 0.15, 0.0],
    "ticket": [0.3, 0.1, 0.25, 0.25, 0.1, 0.0, 0.0],
    "complaint": [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
    "social_comment": [0.15, 0.15, 0.0, 0.0, 0.0, 0.7, 0.0],
}
INBOUND = {
    "en": {"call": ("Customer called about order {o}: {t}", "Customer called: {t}"),
           "email": ("Email from customer re order {o}: {t}", "{t}"),
           "ticket": ("Order {o}: {t}", "{t}"),
           "complaint": ("Complaint about order {o}: {t}", "Complaint: {t}"),
           "social_comment": ("{t}", "{t}")},
    "zh": {"call": ("客户来电咨询订单{o}：{t}", "客户来电：{t}"),
           "email": ("客户邮件（订单{o}）：{t}", "{t}"),
           "ticket": ("订单{o}：{t}", "{t}"),
           "complaint": ("投诉订单{o}：{t}", "投诉：{t}"),
           "social_comment": ("{t}", "{t}")},
}
TEMPLATES = {
    ("en", "call"): [
        "Follow-up call after order {o}: customer is happy with the {p} and asked about accessories.",
        "Called to confirm delivery of order {o}; no issues reported.",
        "Courtesy call: introduced the new {cat} range, customer may buy next month.",
        "Left a voicemail about the loyalty programme and the upcoming sale.",
    ],
    ("en", "email"): [
        "Sent a thank-you note for order {o} with care tips for the {p} ({sku}).",
        "Emailed a personalised {cat} recommendation list.",
        "Sent the invoice for order {o} as requested.",
        "Shared the delivery tracking link for order {o}.",
    ],
    ("en", "visit"): [
        "Store visit: customer tried the {p} ({sku}) and compared prices.",
        "Visited the customer's office to present {cat} bulk pricing.",
        "Customer came in store to exchange an item from order {o}.",
        "In-store consultation about {cat}; interested in the {p} ({sku}).",
    ],
    ("en", "note"): [
        "Prefers contact by {ch}. Interested in {cat}.",
        "Customer mentioned a birthday next month; consider a coupon.",
        "Asked to be told when the {p} ({sku}) is back in stock.",
        "Price-conscious; responds to promotions on {cat}.",
        "Buys {cat} regularly for the family; last order {o}.",
    ],
    ("zh", "call"): [
        "订单{o}售后回访：客户对{p}很满意，询问配件。", "电话确认订单{o}已送达，无问题。",
        "回访介绍新品{cat}，客户下月可能购买。", "致电未接通，已短信告知会员活动。",
    ],
    ("zh", "email"): [
        "已发送订单{o}的感谢信及{p}（{sku}）使用说明。", "发送{cat}个性化推荐清单。",
        "按客户要求发送订单{o}的发票。", "已发送订单{o}的物流跟踪链接。",
    ],
    ("zh", "visit"): [
        "到店体验{p}（{sku}），比较了价格。", "上门拜访，介绍{cat}团购价格。",
        "客户到店办理订单{o}的换货。", "到店咨询{cat}，对{p}（{sku}）感兴趣。",
    ],
    ("zh", "note"): [
        "偏好通过{ch}联系，关注{cat}。", "客户下月生日，可考虑发放优惠券。", "希望{p}（{sku}）到货时通知。",
        "对价格敏感，{cat}促销时响应积极。", "家庭采购负责人，经常购买{cat}，最近订单{o}。",
    ],
}
SUBJECTS = {
    "en": {"call_out": "Follow-up call", "email_out": "Thank you for your order {o}", "visit": "Store visit",
           "note": "Account note", "social_comment": "Comment on social media",
           "late": "Late delivery of order {o}", "quality": "Quality issue with {sku} {p}"},
    "zh": {"call_out": "回访电话", "email_out": "订单{o}感谢信", "visit": "到店拜访", "note": "客户备注",
           "social_comment": "社交媒体评论", "late": "订单{o}配送延迟", "quality": "商品质量问题：{sku} {p}"},
}


def pick_texts(rng, bank, language: np.ndarray, topic: np.ndarray, category: np.ndarray,
               category_names: list[str]) -> np.ndarray:
    """One real text per row for its language and topic (quality complaints match the product category)."""
    out = np.empty(len(topic), dtype=object)
    for lang in ("en", "zh"):
        for t, name in enumerate(TOPICS):
            idx = np.flatnonzero((language == lang) & (topic == t))
            if len(idx) == 0:
                continue
            if name == "quality":
                for c in np.unique(category[idx]):
                    sel = idx[category[idx] == c]
                    pool = bank.quality_pool(lang, category_names[c])
                    out[sel] = np.array(pool, dtype=object)[rng.integers(0, len(pool), size=len(sel))]
                continue
            key = name if lang == "en" or name in ("delivery", "positive", "general") else "general"
            if lang == "en" and key == "general":
                key = "account"
            pool = bank.pool(lang, key)
            out[idx] = np.array(pool, dtype=object)[rng.integers(0, len(pool), size=len(idx))]
    return out
