"""One routing decision: a question (plus the conversation so far) in, a tool call or a direct answer out.

Order of precedence:
1. an open clarification from the previous turn (a candidate picked, a customer named);
2. the intent model, corrected by a few unambiguous signals (an order number means
   ``order_status``);
3. follow-ups ("and last month?", "only in Shanghai") re-run the previous tool with
   the changed slots merged into its arguments;
4. customers: named, referred to ("her", "这个客户") or asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant.router import replies
from assistant.router.arguments import (
    CUSTOMER_FIRST,
    NEEDS_CUSTOMER,
    TAKES_CUSTOMER,
    WHICH_CUSTOMERS,
    build_arguments,
    period_arg,
)
from assistant.router.dialogue import DialogueState
from assistant.router.entities import Mention, find_mentions, guess_name_span, mask
from assistant.router.followups import merge_follow_up, pick_candidate
from assistant.router.gazetteer import Gazetteer
from assistant.router.intent import Prediction, get_intent_model
from assistant.router.rules import apply_rules
from assistant.router.slots import Slots, extract_slots
from assistant.router.text import detect_language, normalize
from assistant.router.utterances import INTENTS_WITHOUT_TOOL

# Below this confidence a question that only changes slots is read as a follow-up.
FOLLOW_UP_CONFIDENCE = 0.55
OUT_OF_SCOPE_CONFIDENCE = 0.45


@dataclass
class Decision:
    lang: str
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None
    note: dict[str, Any] = field(default_factory=dict)
    intent: str | None = None
    confidence: float = 0.0


@dataclass
class Analysis:
    text: str
    lang: str
    mentions: list[Mention]
    prediction: Prediction
    slots: Slots


def analyse(question: str, *, gazetteer: Gazetteer, today: date) -> Analysis:
    text = normalize(question)
    lang = detect_language(text)
    mentions = find_mentions(text, gazetteer=gazetteer, today=today, fuzzy=False)
    prediction = get_intent_model().predict_features(mask(text, mentions).lower())
    slots = extract_slots(text, lang=lang, mentions=mentions, today=today)
    return Analysis(text=text, lang=lang, mentions=mentions, prediction=prediction, slots=slots)


def decide(question: str, *, state: DialogueState, gazetteer: Gazetteer, today: date, available: set[str] | None = None) -> Decision:
    a = analyse(question, gazetteer=gazetteer, today=today)
    lang = a.lang
    if not a.text:
        return Decision(lang=lang, answer=replies.chit_chat("", lang), intent="chit_chat")

    picked = _resolve_ambiguity(a, state)
    if picked is not None:
        return picked
    awaited = _resolve_awaiting(a, state, gazetteer, today)
    if awaited is not None:
        return awaited

    intent, confidence = _intent(a, state)
    if _DESTRUCTIVE.search(a.text):
        intent = "out_of_scope"
    if intent == "chit_chat":
        return Decision(lang=lang, answer=replies.chit_chat(a.text, lang), intent=intent, confidence=confidence)
    if intent == "out_of_scope":
        return Decision(lang=lang, answer=replies.out_of_scope(lang), intent=intent, confidence=confidence)
    if intent == "follow_up":
        return _follow_up(a, state, gazetteer, today, available) or Decision(
            lang=lang, answer=replies.out_of_scope(lang), intent="out_of_scope", confidence=confidence
        )
    return _tool_decision(intent, confidence, a, state, gazetteer, today, available)


# ---------------------------------------------------------------- intent


# Bulk destruction is never a tool call, whatever the model thinks it resembles.
_DESTRUCTIVE = re.compile(
    r"\b(?:delete|drop|wipe|erase|truncate|destroy|purge)\b.{0,30}\b(?:all|every|database|tables?|records|data|everything)\b"
    r"|删除(?:所有|全部)|(?:所有|全部).{0,8}删(?:掉|除)|删库|清空|都删", re.I)
_ORDER_WORDS = re.compile(r"\border\b|订单|单号|物流|快递|发货|track|ship|deliver", re.I)


def _intent(a: Analysis, state: DialogueState) -> tuple[str, float]:
    p = a.prediction
    intent, confidence = p.intent, p.confidence
    if a.slots.orders and _ORDER_WORDS.search(a.text) and intent not in ("log_interaction", "assign_customer"):
        return "order_status", 1.0
    if intent not in INTENTS_WITHOUT_TOOL:
        intent = apply_rules(intent, p.ranked, a.text, a.slots)
    has_history = state.last_call() is not None
    if intent == "follow_up" and not has_history:
        intent, confidence = _best_tool(p)
    elif intent == "out_of_scope" and confidence < OUT_OF_SCOPE_CONFIDENCE:
        second = p.second()
        if second and second[0] not in INTENTS_WITHOUT_TOOL and _has_crm_slots(a.slots):
            intent, confidence = second
    elif has_history and intent not in INTENTS_WITHOUT_TOOL:
        ranked = dict(p.ranked)
        prev = state.last_call()
        if confidence < FOLLOW_UP_CONFIDENCE and ranked.get("follow_up", 0.0) > 0.15 and _slot_only(a):
            intent, confidence = "follow_up", ranked["follow_up"]
        elif prev is not None and prev.name == intent and _FOLLOW_MARKER.search(a.text) and len(a.text) <= 60:
            # "how about the number of orders instead?": same tool, changed slots; keep the rest.
            intent = "follow_up"
        elif prev is not None and prev.name != intent and _bare_slots(a):
            # "how does London look?", "北京单独看一下": only a new value, nothing that names another tool.
            intent = "follow_up"
    elif intent in ("chit_chat", "out_of_scope") and has_history and (_FOLLOW_MARKER.search(a.text) or _bare_slots(a)) \
            and _slot_only(a):
        intent = "follow_up"
    if intent in ("chit_chat", "out_of_scope") and _named_customer(a):
        # A known customer's name is a CRM question, whatever the wording ("what can you tell me about X").
        intent, confidence = _best_tool(p)
    return intent, confidence


_INTENT_NOUNS = re.compile(
    r"customers?|clients?|accounts?|members?|orders?|purchases?|profile|pipeline|deals?|campaigns?|segments?|churn|clv|vips?"
    r"|buy|bought|spend|spent|ship|deliver|complain|call|favou?rite|prefer|like|recommend|sell|sold"
    r"|客户|会员|订单|购买|买|花|消费|档案|资料|管道|商机|活动|分群|流失|价值|名单|哪些|谁|喜欢|偏好|推荐|投诉|发货|物流", re.I)
_FILLER = re.compile(r"\b(?:how|does|do|is|the|look|looks|about|what|and|for|in|of|please|pls|then|now|only|just|see)\b"
                     r"|单独|看一下|看看|看下|换成|改成|拎出来|一下|呢|那|的|吧|再|只|情况", re.I)


def _bare_slots(a: Analysis) -> bool:
    """Once the values (places, times, categories …) and filler words are taken out, almost nothing is left."""
    if not a.slots.filled() - {"mine"} or _INTENT_NOUNS.search(a.text) or a.slots.customer_is_pronoun:
        return False
    rest = list(a.text)
    for m in a.mentions:
        for i in range(*m.span):
            rest[i] = " "
    leftover = _FILLER.sub(" ", "".join(rest))
    words = re.findall(r"[A-Za-z]+|[\u3400-\u9fff]", leftover)
    return len(words) <= 2


def _named_customer(a: Analysis) -> bool:
    return any(m.kind == "customer" for m in a.mentions)


_FOLLOW_MARKER = re.compile(
    r"^\s*(?:and|what about|how about|instead|same|now|only|just|but|then|also)\b|\b(?:instead|too|then)\s*\??\s*$"
    r"|呢\s*[?？]?\s*$|^\s*(?:那|换成|改成|只看|再|还有|按)",
    re.I,
)


def _best_tool(p: Prediction) -> tuple[str, float]:
    for name, prob in p.ranked:
        if name not in INTENTS_WITHOUT_TOOL:
            return name, prob
    return "out_of_scope", 0.0


def _has_crm_slots(s: Slots) -> bool:
    return bool(s.measures or s.customer or s.periods and (s.dimensions or s.cities or s.categories) or s.segment or s.tier)


def _slot_only(a: Analysis) -> bool:
    """A short question made mostly of slot values: "and in Shanghai?", "上个月呢"."""
    return len(a.text) <= 40 and bool(a.slots.filled() - {"mine"})


# ---------------------------------------------------------------- tool decisions


def _tool_decision(intent: str, confidence: float, a: Analysis, state: DialogueState, gazetteer: Gazetteer,
                   today: date, available: set[str] | None) -> Decision:  # fmt: skip
    lang, slots = a.lang, a.slots
    if available is not None and intent not in available:
        return Decision(lang=lang, answer=_unavailable(lang), intent=intent, confidence=confidence)
    _assign_people(intent, slots, a.text)
    if intent in TAKES_CUSTOMER and slots.customer is None:
        if slots.customer_is_pronoun or (intent in CUSTOMER_FIRST and _refers_back(a)):
            slots.customer = state.last_customer()
        if slots.customer is None and not _asks_for_a_list(slots):
            slots.customer = _find_customer(a, gazetteer, today, strict=intent not in NEEDS_CUSTOMER)
    if intent in CUSTOMER_FIRST and slots.customer is None and WHICH_CUSTOMERS.search(a.text):
        # "customers who bought Xiaomi phones last month": a count over many customers, not one customer's history.
        intent = "query_metrics"
        slots.measures = ["customers"]
    if intent in CUSTOMER_FIRST and slots.customer is None and not (intent == "purchase_preferences" and (slots.segment or slots.tier)):
        return Decision(lang=lang, answer=replies.ask_customer(lang, intent), intent=intent, confidence=confidence,
                        note={"awaiting": "customer", "intent": intent, "question": a.text})  # fmt: skip
    if intent == "log_interaction" and not slots.note:
        return Decision(lang=lang, answer=replies.ask_note(lang), intent=intent, confidence=confidence,
                        note={"awaiting": "note", "intent": intent, "customer": slots.customer})  # fmt: skip
    args = build_arguments(intent, slots)
    return Decision(lang=lang, tool=intent, args=args, intent=intent, confidence=confidence)


def _asks_for_a_list(slots: Slots) -> bool:
    """"Top 10 by CLV", "VIPs most likely to churn": many customers, so no name to look for."""
    return bool(slots.top_n or slots.tier or slots.segment or slots.mine or slots.cities or slots.regions)


def _unavailable(lang: str) -> str:
    if lang == "zh":
        return "抱歉，这项功能目前还不可用。"
    return "Sorry, that capability isn't available right now."


_STAFF_CONTEXT = re.compile(r"owned by|'s (?:customers|accounts|clients|pipeline|deals)|\brep\b|负责的|名下|的销售管道|的商机|销售", re.I)


def _assign_people(intent: str, slots: Slots, text: str) -> None:
    """Names that are both a rep and a customer: a rep where the question is about reps."""
    if intent == "sales_pipeline" or (intent in ("find_customers", "quiet_customers", "churn_risk") and _STAFF_CONTEXT.search(text)):
        for m in slots.people:
            staff = next((v for k, v in m.meanings() if k == "staff"), None)
            if staff and staff not in slots.staff:
                slots.staff.append(staff)
            if slots.customer == m.text:
                slots.customer = None


_BACKREF = re.compile(r"\b(?:her|his|their|them|him|she|he|they)\b|她|他|该客户|这个客户|这位", re.I)


def _refers_back(a: Analysis) -> bool:
    return bool(_BACKREF.search(a.text))


def _find_customer(a: Analysis, gazetteer: Gazetteer, today: date, *, strict: bool) -> str | None:
    """A customer name the exact lookup missed: fuzzy (typos, order), else a name-shaped span."""
    fuzzy = [m for m in find_mentions(a.text, gazetteer=gazetteer, today=today, fuzzy=True) if m.kind == "customer"]
    if fuzzy:
        return fuzzy[0].text
    span = guess_name_span(a.text, a.mentions)
    if span is None:
        return None
    raw = a.text[span[0] : span[1]]
    if strict and not (raw[:1].isupper() or re.match(r"[\u3400-\u9fff]", raw)):
        return None
    return raw


# ---------------------------------------------------------------- follow-ups




def _follow_up(a: Analysis, state: DialogueState, gazetteer: Gazetteer, today: date,
               available: set[str] | None) -> Decision | None:  # fmt: skip
    prev = state.last_call()
    if prev is None:
        return None
    slots = a.slots
    if slots.customer is None and slots.customer_is_pronoun and "customer" in prev.args:
        slots.customer = state.last_customer()
    if slots.customer is None and "customer" in prev.args:
        slots.customer = _find_customer(a, gazetteer, today, strict=True)
    args = merge_follow_up(prev, slots)
    if args is None:
        return None
    return Decision(lang=a.lang, tool=prev.name, args=args, intent=prev.name, confidence=a.prediction.confidence,
                    note={"follow_up": True})  # fmt: skip


# ---------------------------------------------------------------- clarifications


def _resolve_ambiguity(a: Analysis, state: DialogueState) -> Decision | None:
    pending = state.pending_ambiguity()
    if pending is None:
        return None
    call, candidates = pending
    chosen = pick_candidate(a.text, candidates)
    if chosen is None:
        return None
    args = {**call.args, "customer": chosen}
    return Decision(lang=a.lang, tool=call.name, args=args, intent=call.name, confidence=1.0, note={"clarified": True})


def _resolve_awaiting(a: Analysis, state: DialogueState, gazetteer: Gazetteer, today: date) -> Decision | None:
    note = state.awaiting()
    if note is None:
        return None
    intent = note.get("intent")
    if note.get("awaiting") == "customer" and intent:
        customer = a.slots.customer or _find_customer(a, gazetteer, today, strict=False)
        if customer is None and len(a.text) <= 30 and a.prediction.intent in ("follow_up", "out_of_scope", "find_customers"):
            customer = a.text.strip(" ?？.。!！")
        if customer is None:
            return None
        earlier = analyse(note.get("question", ""), gazetteer=gazetteer, today=today).slots if note.get("question") else a.slots
        earlier.customer = customer
        return Decision(lang=a.lang, tool=intent, args=build_arguments(intent, earlier), intent=intent, confidence=1.0)
    if note.get("awaiting") == "note" and intent == "log_interaction":
        slots = a.slots
        slots.customer = slots.customer or note.get("customer")
        slots.note = slots.note or a.text
        if slots.customer is None:
            return None
        return Decision(lang=a.lang, tool=intent, args=build_arguments(intent, slots), intent=intent, confidence=1.0)
    return None


__all__ = ["Decision", "analyse", "decide", "merge_follow_up", "period_arg", "pick_candidate"]
