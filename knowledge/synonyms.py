"""A small bilingual thesaurus of customer-service topics, for query expansion.

MiniLM was trained on English: for Chinese its vectors say little, so a Chinese query
is matched mostly by its exact terms, and "快递太慢" misses a note that says "配送延迟".
Each group below is one topic as people write it in support notes, English and
Chinese. When a query holds a member of a group, the other members join the query as
weaker terms (``EXPANSION_BOOST`` of their kind's weight): a chunk using the query's
own words still ranks first, one using a synonym is found at all.

The groups are general customer-service vocabulary (delivery, refunds, payments,
quality, accounts, ...), not phrases taken from the evaluation set. Keep them so:
topic words only, no words that are common in every note ("order", "customer").
English entries are single words, matched by stem; Chinese entries are two
characters (one bigram term each).
"""

from __future__ import annotations

EXPANSION_BOOST = 0.5
MAX_EXPANSIONS = 10

GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "delivery": (
        ("delivery", "deliver", "shipping", "shipment", "courier", "parcel", "package", "tracking", "dispatch"),
        ("快递", "物流", "配送", "送货", "发货", "到货", "送达", "运输", "包裹", "签收"),
    ),
    "late": (
        ("late", "delay", "delayed", "slow", "overdue"),
        ("延迟", "延误", "拖延", "晚到", "迟到", "太慢", "很慢"),
    ),
    "refund": (
        ("refund", "reimburse", "reimbursement", "repay"),
        ("退款", "退钱", "返款"),
    ),
    "return": (
        ("return", "exchange", "replacement"),
        ("退货", "换货", "退回", "退换"),
    ),
    "payment": (
        ("payment", "charge", "charged", "billed", "billing", "transaction", "debit"),
        ("付款", "支付", "扣款", "扣费", "收费", "交易", "账单"),
    ),
    "quality": (
        ("defective", "faulty", "broken", "damaged", "malfunction", "quality"),
        ("质量", "损坏", "破损", "故障", "坏了", "次品", "瑕疵", "做工"),
    ),
    "account": (
        ("account", "password", "passcode", "login", "pin"),
        ("账户", "账号", "密码", "登录"),
    ),
    "address": (
        ("address", "relocate", "moved"),
        ("地址", "搬家"),
    ),
    "invoice": (
        ("invoice", "receipt"),
        ("发票", "收据"),
    ),
    "price": (
        ("price", "pricing", "discount", "coupon", "expensive", "cheaper"),
        ("价格", "优惠", "折扣", "降价", "便宜"),
    ),
    "service": (
        ("service", "staff", "rude", "attitude"),
        ("客服", "服务", "态度"),
    ),
    "praise": (
        ("happy", "satisfied", "praise", "compliment", "excellent", "pleased"),
        ("满意", "好评", "喜欢", "不错", "推荐"),
    ),
    "complaint": (
        ("complaint", "complain", "unhappy", "upset", "angry", "dissatisfied"),
        ("投诉", "不满", "差评", "失望", "生气"),
    ),
    "missing": (
        ("missing", "lost"),
        ("丢失", "丢件", "少了", "漏发"),
    ),
    "wrong_item": (
        ("wrong", "incorrect"),
        ("送错", "发错", "错发", "不符"),
    ),
}


_COMPILED: list[tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]] | None = None


def _compiled(stem) -> list[tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per group: English stems, English terms (a stem another one prefixes is dropped), Chinese terms."""
    global _COMPILED
    if _COMPILED is None:
        groups = []
        for english, chinese in GROUPS.values():
            stems = sorted({stem(w) for w in english}, key=len)
            en_terms = [(s, "word") for i, s in enumerate(stems) if not any(s.startswith(p) for p in stems[:i])]
            groups.append((stems, en_terms, [(w, "cjk") for w in chinese]))
        _COMPILED = groups
    return _COMPILED


def expansions(*, stems: set[str], text: str, stem, bilingual: bool = True) -> list[tuple[str, str]]:
    """(term text, kind) to add for a query with these word stems and this normalised text.

    Members in the query's own language come first (the list may be cut short).
    """
    same: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    for en_stems, en_terms, zh_terms in _compiled(stem):
        if any(s in stems for s in en_stems):
            same.extend(en_terms)
            if bilingual:
                other.extend(zh_terms)
        elif any(w in text for w, _ in zh_terms):
            same.extend(zh_terms)
            if bilingual:
                other.extend(en_terms)
    return same + other
