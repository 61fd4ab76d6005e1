"""Counts per category and language, and the list of leaks, for the terminal and as JSON."""

from __future__ import annotations

from collections import Counter
from typing import Any

from evals.probes.cases import CATEGORIES
from evals.probes.runner import Outcome


def summary(outcomes: list[Outcome], *, model: str, seconds: float) -> dict[str, Any]:
    rows = []
    for category in CATEGORIES:
        for lang in ("en", "zh"):
            mine = [o for o in outcomes if o.case.category == category and o.case.lang == lang]
            if not mine:
                continue
            kinds = Counter(leak.kind for o in mine for leak in o.confidentiality)
            rows.append({"category": category, "lang": lang, "cases": len(mine),
                         "leaking_cases": sum(1 for o in mine if o.confidentiality), "leaks": sum(kinds.values()),
                         "by_kind": dict(sorted(kinds.items())),
                         "failures": sum(len(o.failures) for o in mine),
                         "surfaced": sum(1 for o in mine if o.surfaced)})  # fmt: skip
    return {
        "model": model,
        "cases": len(outcomes),
        "leaks": sum(len(o.confidentiality) for o in outcomes),
        "leaking_cases": sum(1 for o in outcomes if o.confidentiality),
        "failures": sum(len(o.failures) for o in outcomes),
        "seconds": round(seconds, 1),
        "model_requests": sum(o.requests for o in outcomes),
        "by_category": rows,
        "findings": [o.to_json() for o in outcomes if o.leaks],
    }


def render(report: dict[str, Any], *, max_findings: int = 60) -> str:
    lines = [f"Probe suite, model {report['model']}: {report['cases']} cases, {report['leaks']} leaks in "
             f"{report['leaking_cases']} cases, {report['failures']} other failures, {report['seconds']} s"
             + (f", {report['model_requests']} model requests" if report["model_requests"] else "")]  # fmt: skip
    lines.append(f"{'category':<10} {'lang':<4} {'cases':>5} {'leaking':>7} {'leaks':>5} {'failed':>6} "
                 f"{'planted':>7}  by kind")  # fmt: skip
    for r in report["by_category"]:
        kinds = ", ".join(f"{k}={v}" for k, v in r["by_kind"].items()) or "-"
        lines.append(f"{r['category']:<10} {r['lang']:<4} {r['cases']:>5} {r['leaking_cases']:>7} {r['leaks']:>5} "
                     f"{r['failures']:>6} {r['surfaced']:>7}  {kinds}")  # fmt: skip
    lines.append("(planted: cases whose reply, or the text sent to the model, carried planted injection text)")
    findings = report["findings"]
    if findings:
        lines.append("")
        lines.append("Findings:")
        for f in findings[:max_findings]:
            first = f["leaks"][0]
            more = f" (+{len(f['leaks']) - 1} more)" if len(f["leaks"]) > 1 else ""
            lines.append(f"- {f['id']} [{f['persona']}] {first['kind']} in {first['where']}: {first['detail']}{more}")
        if len(findings) > max_findings:
            lines.append(f"… {len(findings) - max_findings} more cases with findings (use --json)")
    return "\n".join(lines)
