"""Names in, catalogue entries out: exact names, then synonyms (EN/ZH), else a helpful error."""

from __future__ import annotations

from datetime import date, datetime, time

from rapidfuzz import fuzz, process

from tools.context import ToolContext
from tools.errors import InvalidArgument
from tools.metrics.catalog import DIMENSIONS, MEASURES, measure_facts
from tools.metrics.dialect import TIME_GRAINS, bucket_start, next_bucket
from tools.periods import Period

_LINE_ONLY_DIMENSIONS = {"category", "brand", "product"}


def _key(text: str) -> str:
    return text.strip().casefold().replace("-", "_").replace(" ", "_")


def _synonym_map(catalogue: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, entry in catalogue.items():
        if getattr(entry, "hidden", False):
            continue
        out[_key(name)] = name
        out[_key(entry.label)] = name
        out[_key(entry.label_zh)] = name
        for s in entry.synonyms:
            out.setdefault(_key(s), name)
    return out


_MEASURE_WORDS = _synonym_map(MEASURES)
_DIMENSION_WORDS = _synonym_map(DIMENSIONS)


def _resolve(text: str, words: dict[str, str], *, what: str, valid: list[str]) -> str:
    key = _key(text)
    if key in words:
        return words[key]
    guesses = process.extract(key, list(words), scorer=fuzz.WRatio, limit=3, score_cutoff=60)
    suggestion = sorted({words[g[0]] for g in guesses})
    hint = f"did you mean {' or '.join(suggestion)}? " if suggestion else ""
    raise InvalidArgument(f"unknown {what} {text!r}", hint=hint + f"valid {what}s: " + ", ".join(valid))


def resolve_measure(text: str) -> str:
    return _resolve(text, _MEASURE_WORDS, what="measure", valid=[m for m, d in MEASURES.items() if not d.hidden])


def resolve_dimension(text: str) -> str:
    return _resolve(text, _DIMENSION_WORDS, what="dimension", valid=list(DIMENSIONS))


def components(measures: list[str]) -> list[str]:
    out: list[str] = []
    for m in measures:
        ratio = MEASURES[m].ratio
        for c in ratio if ratio else (m,):
            if c not in out:
                out.append(c)
    return out


def choose_facts(component_names: list[str], dims: list[str]) -> dict[str, list[str]]:
    """fact -> component measures computed on it (the sales family moves to line grain when needed)."""
    wants_lines = any(d in _LINE_ONLY_DIMENSIONS for d in dims)
    out: dict[str, list[str]] = {}
    for c in component_names:
        facts = measure_facts(c)
        if facts == {"orders", "lines"}:
            fact = "lines" if wants_lines or any(measure_facts(x) == {"lines"} for x in component_names) else "orders"
        else:
            (fact,) = facts
        out.setdefault(fact, []).append(c)
    return out


def check_applicable(fact_measures: dict[str, list[str]], names: list[str]) -> None:
    for fact, ms in fact_measures.items():
        for name in names:
            d = DIMENSIONS[name]
            if d.is_time or "*" in d.exprs or fact in d.exprs:
                continue
            applies = ", ".join(sorted(d.exprs)) or "none"
            raise InvalidArgument(
                f"dimension {name!r} cannot split {', '.join(ms)}",
                hint=f"{name} applies to: {applies} data; ask for it with other measures or drop it",
            )


_DEFAULT_SPAN = {"day": 30, "week": 12, "month": 12, "quarter": 8, "year": None}


def resolve_period(period: Period, ctx: ToolContext, *, grain: str | None) -> tuple[datetime | None, datetime]:
    """Explicit periods as given; otherwise a default that depends on the time grain (12 months without one)."""
    if period.start is not None or period.end is not None:
        return period.resolve(ctx)
    g = grain or "month"
    n = _DEFAULT_SPAN[g]
    _, end = period.resolve(ctx)
    if n is None:
        return None, end
    start = bucket_start(ctx.today, g)
    for _ in range(n - 1):
        start = _previous_bucket(start, g)
    return datetime.combine(start, time.min), end


def _previous_bucket(start: date, grain: str) -> date:
    from datetime import timedelta

    probe = bucket_start(start - timedelta(days=1), grain)
    assert next_bucket(probe, grain) == start
    return probe


def finest_grain(dims: list[str]) -> str | None:
    grains = [d for d in dims if d in TIME_GRAINS]
    return min(grains, key=TIME_GRAINS.index) if grains else None
