"""Block Kit for alerts: an owner's DM, the managers' digest, and the scheduled VIP report.

``lang`` is ``en``, ``zh`` or ``both`` (each reason in English, then Chinese). Customer names
are escaped (they are data, not markup) and link to the web chat's customer page when the
public URL is set. Messages stay inside Slack's limits (50 blocks, 3,000 characters a section):
callers split alerts into batches of ``DM_BATCH`` / ``DIGEST_BATCH``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from integrations.slack.blocks import clip, context, escape, section
from tools.alerts import Alert
from tools.alerts_text import SEVERITY_ZH, title
from tools.results import ToolResult

DM_BATCH = 20  # 2 blocks each + header: well under 50 blocks
DIGEST_BATCH = 100  # lines of ~250 characters: about 10 sections, well under 50 blocks
EMOJI = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":white_circle:"}


def _t(lang: str, en: str, zh: str) -> str:
    if lang == "zh":
        return zh
    if lang == "both":
        return f"{en} / {zh}"
    return en


def _name(alert: Alert, public_url: str | None) -> str:
    name = escape(alert.customer_name)
    if public_url:
        return f"<{public_url.rstrip('/')}/customers/{alert.customer_id}|{name}>"
    return f"*{name}*"


def _reason(alert: Alert, lang: str) -> str:
    if lang == "both":
        return f"{escape(alert.reason)}\n_{escape(alert.reason_zh)}_"
    return escape(alert.reason_for(lang))


def _title(alert: Alert, lang: str) -> str:
    return _t(lang, title(alert.kind), title(alert.kind, "zh"))


def header(text_value: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text_value, 150), "emoji": True}}


def owner_message(alerts: list[Alert], *, lang: str = "en", public_url: str | None = None) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for one owner's DM."""
    n = len(alerts)
    head = _t(lang, f"{n} new alert{'s' if n != 1 else ''} on your customers", f"你的客户有 {n} 条新预警")
    blocks = [header(head)]
    for a in alerts:
        severity = _t(lang, a.severity, SEVERITY_ZH[a.severity])
        blocks.append(section(f"{EMOJI[a.severity]} *{_title(a, lang)}* · {_name(a, public_url)}\n{_reason(a, lang)}"))
        blocks.append(context(f"{severity} · `{a.key}`"))
    return head + ": " + "; ".join(f"{title(a.kind)} {a.customer_name}" for a in alerts[:5]), blocks


def digest_message(alerts: list[Alert], *, since: date, lang: str = "en",
                   public_url: str | None = None) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for the managers' channel: alerts grouped by owner, the public pool last."""
    n = len(alerts)
    head = _t(lang, f"Alert digest: {n} alert{'s' if n != 1 else ''} since {since.isoformat()}",
              f"预警汇总：{since.isoformat()} 以来共 {n} 条")
    counts: dict[str, int] = defaultdict(int)
    for a in alerts:
        counts[a.kind] += 1
    overview = ", ".join(f"{_title_kind(k, lang)} {c}" for k, c in counts.items())
    blocks = [header(head), context(overview)]
    groups: dict[tuple[bool, str], list[Alert]] = defaultdict(list)
    for a in alerts:
        groups[(a.in_pool, a.owner_name)].append(a)
    for (in_pool, owner), items in sorted(groups.items()):
        who = _t(lang, "Public pool", "公海") if in_pool else escape(owner)
        lines = [f"*{who}* ({len(items)})"]
        lines += [f"{EMOJI[a.severity]} {_title(a, lang)} · {_name(a, public_url)}: {_reason(a, lang)}" for a in items]
        for chunk in _chunks(lines):
            blocks.append(section(chunk))
    if len(blocks) > 50:  # cannot happen with DIGEST_BATCH lines of clipped length, but Slack refuses more
        blocks = blocks[:49] + [context(_t(lang, "(truncated)", "（已截断）"))]
    return head, blocks


def _title_kind(kind: str, lang: str) -> str:
    return _t(lang, title(kind), title(kind, "zh"))


def _chunks(lines: list[str], limit: int = 2900) -> list[str]:
    out, current = [], ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out


def report_message(result: ToolResult, *, label: str, lang: str = "en") -> tuple[str, list[dict]]:
    """(fallback text, blocks) for a scheduled report: its summary and table, charts follow in the thread."""
    head = _t(lang, f"VIP report {label}", f"VIP 报告 {label}")
    body_lang = "zh" if lang == "zh" else "en"
    blocks = [header(head), *result.to_blocks(lang=body_lang)]
    if lang == "both" and result.summary_zh:
        blocks.insert(2, section(escape(result.summary_zh)))
    return clip(f"{head}: {result.summary_for(body_lang)}", 3000), blocks
