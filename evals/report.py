"""Aggregate outcomes per persona and language, compare with the committed baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.runner import Outcome

BASELINE_PATH = Path(__file__).parent / "baseline.json"
# Metrics the baseline guards; a drop of more than this below the committed value fails.
GUARDED = ("tool_accuracy", "argument_accuracy", "answer_correctness", "follow_up_correctness")
TOLERANCE = 0.005


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    n = len(outcomes)
    if n == 0:
        return {"questions": 0}
    with_tool = [o for o in outcomes if o.tool_ok]
    follow = [o for o in outcomes if o.item.is_follow_up]
    latencies = [o.latency_ms for o in outcomes]
    return {
        "questions": n,
        "tool_accuracy": round(sum(o.tool_ok for o in outcomes) / n, 4),
        "argument_accuracy": round(sum(o.args_ok for o in with_tool) / len(with_tool), 4) if with_tool else 0.0,
        "answer_correctness": round(sum(o.answer_ok for o in outcomes) / n, 4),
        "fully_correct": round(sum(o.correct for o in outcomes) / n, 4),
        "follow_up_questions": len(follow),
        "follow_up_correctness": round(sum(o.correct for o in follow) / len(follow), 4) if follow else None,
        "grounding_violations": sum(not o.grounded for o in outcomes),
        "p50_ms": _pct(latencies, 0.5),
        "p95_ms": _pct(latencies, 0.95),
    }


def breakdown(outcomes: list[Outcome]) -> dict[str, Any]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(f"{o.item.persona}/{o.item.lang}", []).append(o)
        groups.setdefault(f"all/{o.item.lang}", []).append(o)
    return {
        "overall": summarize(outcomes),
        "groups": {k: summarize(v) for k, v in sorted(groups.items())},
        "failures": [o.to_json() for o in outcomes if not o.correct or not o.grounded],
    }


def print_table(report: dict[str, Any], *, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="Assistant evals")
    for col in ("group", "n", "tool", "args", "answer", "follow-ups", "grounding", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right" if col != "group" else "left", no_wrap=True)
    rows = [*report["groups"].items(), ("overall", report["overall"])]
    for name, s in rows:
        fu = s.get("follow_up_correctness")
        table.add_row(
            name, str(s["questions"]), f"{s['tool_accuracy']:.1%}", f"{s['argument_accuracy']:.1%}",
            f"{s['answer_correctness']:.1%}", "—" if fu is None else f"{fu:.1%}/{s['follow_up_questions']}",
            str(s["grounding_violations"]), f"{s['p50_ms']:.0f}", f"{s['p95_ms']:.0f}",
        )  # fmt: skip
    console.print(table)


def load_baseline(path: Path = BASELINE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def regressions(report: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Guarded metrics that fell below the baseline recorded for this database size (overall and per language)."""
    entry = baseline.get("by_customers", {}).get(str(report.get("customers")))
    if entry is None:
        return [f"no baseline recorded for {report.get('customers')} customers (run with --write-baseline)"]
    problems = []
    for group, expected in entry.get("groups", {}).items():
        actual = report["overall"] if group == "overall" else report["groups"].get(group)
        if actual is None:
            problems.append(f"{group}: missing from this run")
            continue
        for metric in GUARDED:
            want, got = expected.get(metric), actual.get(metric)
            if want is not None and got is not None and got + TOLERANCE < want:
                problems.append(f"{group} {metric}: {got:.3f} < baseline {want:.3f}")
        if expected.get("grounding_violations") is not None and actual["grounding_violations"] > expected["grounding_violations"]:
            problems.append(f"{group} grounding violations: {actual['grounding_violations']} > {expected['grounding_violations']}")
    return problems


def baseline_from(report: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The baseline file with this run recorded for its database size (other sizes kept)."""
    keep = ("questions", *GUARDED, "grounding_violations")
    groups = {"overall": {k: report["overall"].get(k) for k in keep}}
    for name, s in report["groups"].items():
        if name.startswith("all/"):
            groups[name] = {k: s.get(k) for k in keep}
    out = dict(previous or {})
    out["model"] = report.get("model")
    out.setdefault("by_customers", {})[str(report.get("customers"))] = {"groups": groups}
    return out
