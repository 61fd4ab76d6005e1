"""Follow-ups and clarifications: what changes when the user answers the previous turn.

``merge_follow_up`` carries the previous call's arguments into the new question and
overwrites only what the new question changed ("and last month?" changes the
period, "only in Shanghai" adds a city filter, "the same quarter last year" shifts
the period by a year). ``pick_candidate`` reads which candidate of an ``Ambiguous``
error a reply points at ("the second one", "the one in London", "C000123").
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from assistant.router.arguments import build_arguments
from assistant.router.dialogue import Call
from assistant.router.lexicon import PLACE_ALIASES
from assistant.router.slots import Slots
from assistant.router.timecalendar import add_months

_PLACE_FILTERS = ("city", "region", "country")


def merge_follow_up(prev: Call, slots: Slots) -> dict[str, Any] | None:
    """The previous call's arguments with the slots this question changed."""
    fresh = build_arguments(prev.name, slots)
    filled = slots.filled()
    args = dict(prev.args)
    changed = False
    if slots.widen:
        for key in ("owner", "to"):
            if args.pop(key, None) is not None:
                changed = True
        if isinstance(args.get("filters"), dict) and args["filters"].pop("owner", None) is not None:
            changed = True
    if slots.shift and not slots.periods:
        shifted = _shift_period(prev.args, slots.shift)
        if shifted:
            args.update(shifted)
            changed = True
    for key, value in fresh.items():
        if not _touched(key, filled, prev.name):
            continue
        if key == "filters" and isinstance(value, dict):
            merged = dict(args.get("filters") or {})
            if any(k in _PLACE_FILTERS for k in value):
                for k in _PLACE_FILTERS:
                    merged.pop(k, None)
            merged.update(value)
            args["filters"] = merged
            args["dimensions"] = [d for d in (args.get("dimensions") or []) if d not in value] or None
        else:
            args[key] = value
        changed = True
    args = {k: v for k, v in args.items() if v is not None}
    return args if changed else None


# Which slot names make which argument keys worth carrying into a follow-up.
_SLOT_KEYS = {
    "period": {"periods"}, "close_from": {"periods"}, "close_to": {"periods"},
    "customer": {"customer"}, "name": {"customer"},
    "city": {"cities"}, "region": {"regions"}, "country": {"countries"}, "category": {"categories"},
    "brand": {"brands"}, "product": {"products"}, "campaign": {"campaigns"}, "order": {"orders"},
    "filters": {"cities", "regions", "countries", "categories", "brands", "products", "channel", "tier", "loyalty",
                "segment", "gender", "campaigns", "staff"},
    "dimensions": {"dimensions"}, "measures": {"measures"}, "tier": {"tier", "loyalty"}, "segment": {"segment"},
    "owner": {"staff", "mine"}, "to": {"staff"}, "top_n": {"top_n"}, "limit": {"top_n"}, "size": {"top_n"},
    "top": {"top_n"}, "pool": {"pool"}, "tags": {"tags"}, "sort": {"sort"}, "sort_by": {"top_n", "dimensions", "measures"},
    "descending": {"top_n", "dimensions"}, "kind": {"interaction_kind"},
}  # fmt: skip


def _touched(key: str, filled: set[str], tool: str) -> bool:
    return bool(_SLOT_KEYS.get(key, set()) & filled)


def _shift_period(args: dict[str, Any], how: str) -> dict[str, Any] | None:
    period = args.get("period")
    if isinstance(period, dict) and period.get("start") and period.get("end"):
        start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
        new = _shifted(start, end, how)
        return {"period": {"start": new[0].isoformat(), "end": new[1].isoformat()}}
    if args.get("close_from") and args.get("close_to"):
        new = _shifted(date.fromisoformat(args["close_from"]), date.fromisoformat(args["close_to"]), how)
        return {"close_from": new[0].isoformat(), "close_to": new[1].isoformat()}
    return None


def _shifted(start: date, end: date, how: str) -> tuple[date, date]:
    if how == "year_ago":
        return add_months(start, -12), add_months(end, -12)
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        new_start = add_months(start, -months)
        return new_start, start - timedelta(days=1)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4, "5th": 4,
    "last": -1, "第一": 0, "第二": 1, "第三": 2, "第四": 3, "第五": 4, "最后": -1,
}  # fmt: skip
_ORDINAL = re.compile(r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b|(第[一二三四五]|最后)", re.I)


def pick_candidate(text: str, candidates: list[dict]) -> int | None:
    """The candidate a reply points at: by ordinal, id, external id, city or owner."""
    low = text.casefold()
    if m := _ORDINAL.search(text):
        index = _ORDINALS[(m[1] or m[2]).lower()]
        if -len(candidates) <= index < len(candidates):
            return candidates[index]["id"]
    for c in candidates:
        detail = (c.get("detail") or "").casefold()
        external = detail.split(" · ")[0] if detail else ""
        if external and re.search(r"\b" + re.escape(external) + r"\b", low):
            return c["id"]
    digits = re.findall(r"\b\d+\b", text)
    for c in candidates:
        if str(c["id"]) in digits:
            return c["id"]
    for alias, place in PLACE_ALIASES.items():
        if alias in text:
            low += " " + place.casefold()
    hits = []
    for c in candidates:
        parts = [p.strip() for p in (c.get("detail") or "").casefold().split("·")]
        words = [p.removeprefix("owner:").strip() for p in parts[1:] if p]
        if any(w and w in low for w in words):
            hits.append(c["id"])
    return hits[0] if len(hits) == 1 else None
