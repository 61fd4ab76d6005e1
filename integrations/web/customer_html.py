"""The customer page's HTML: the 360° view from ``customer_profile``, every value escaped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from integrations.web.templates import esc


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def customer_body(result, *, chart_url: str | None) -> str:
    """``result`` is a ``CustomerProfileResult``."""
    c, k, a = result.customer, result.kpis, result.analytics
    owner = '<span class="badge pool">public pool</span>' if c.in_pool else f'<span class="badge">{esc(c.owner)}</span>'
    tags = "".join(f'<span class="tag">{esc(t)}</span>' for t in c.tags)
    credit = ('<span class="muted">hidden for your role</span>' if c.credit_hidden
              else f"{esc(c.credit_rating or '—')}, overdue {esc(money(c.overdue_amount))}")
    social = ", ".join(f"{esc(k_)}: {esc(v)}" for k_, v in (c.social_handles or {}).items()) or _missing(c, "social_handles")
    contact = _fields([
        ("Phone", esc(c.phone) if c.phone else _missing(c, "phone")),
        ("Email", esc(c.email) if c.email else _missing(c, "email")), ("Social", social),
        ("Preferred channel", esc(c.preferred_channel or "—")), ("Language", esc(c.language or "—")),
        ("Marketing consent", "yes" if c.marketing_consent else "no"), ("Followers", f"{c.follower_count:,}"),
    ])
    person = _fields([
        ("Gender / age", f"{esc(c.gender or '—')} / {esc(c.age if c.age is not None else c.age_band or '—')}"),
        ("Occupation", esc(c.occupation or "—")),
        ("Location", esc(", ".join(x for x in (c.city, c.region, c.country) if x) or "—")),
        ("Address", esc(c.address) if c.address else _missing(c, "address")),
        ("Customer since", f"{esc(_d(c.acquired_on))} ({esc(c.acquisition_source or '—')})"),
        ("Loyalty", f"{esc(c.loyalty_tier or '—')}, {c.loyalty_points:,} points"), ("Credit", credit),
    ])
    last = f"{_d(k.last_purchase)} ({k.days_since_last} days ago)" if k.last_purchase else "never"
    kpis = "".join(
        f'<div class="kpi"><div class="kpi-value">{esc(v)}</div><div class="kpi-label">{esc(label)}</div></div>'
        for label, v in (
            ("Lifetime spend", money(k.lifetime_spend)), ("Orders", f"{k.orders:,}"),
            ("Average order", money(k.average_order_value)), ("Last purchase", last),
            ("Usual gap (days)", "—" if k.usual_gap_days is None else f"{k.usual_gap_days:.0f}"),
            ("Spend, last 90 days", money(k.spend_90d)), ("Spend, 90 days before", money(k.spend_prev_90d)),
            ("Returned / cancelled", f"{k.returned_orders} / {k.cancelled_orders}"),
        )
    )
    churn = "—" if a.churn_probability is None else f"{a.churn_probability:.0%}"
    analytics = _fields([
        ("RFM segment", esc(a.rfm_segment or "—")), ("Value tier", esc(a.value_tier or "—")),
        ("Cluster", esc("—" if a.cluster is None else a.cluster)),
        ("Churn risk", esc(churn) + (f" — {esc('; '.join(a.churn_reasons))}" if a.churn_reasons else "")),
        ("CLV (12 months)", esc(money(a.clv))),
        ("Probability alive", esc("—" if a.p_alive is None else f"{a.p_alive:.0%}")),
        ("As of", esc(f"{_d(a.as_of)} ({a.source})")),
    ])
    chart = (f'<figure class="chart"><img src="{esc(chart_url)}" alt="{esc(result.chart.title)}">'
             f"<figcaption>{esc(result.chart.title)}</figcaption></figure>") if chart_url and result.chart else ""
    return f"""
<header class="customer-head">
  <h1 id="customer-name">{esc(c.name)} <span class="muted">{esc(c.external_id or c.id)}</span></h1>
  <div>Owner: {owner} {tags}</div>
  <p class="summary">{esc(result.summary)}</p>
</header>
<section class="kpis">{kpis}</section>
<section class="cards">
  <div class="card"><h2>Contact</h2>{contact}</div>
  <div class="card"><h2>Profile</h2>{person}</div>
  <div class="card"><h2>Analytics</h2>{analytics}</div>
</section>
{chart}
<section class="card"><h2>Open tickets ({len(result.open_tickets)})</h2>{_interactions(result.open_tickets)}</section>
<section class="card"><h2>Latest interactions</h2>{_interactions(result.latest_interactions)}</section>
"""


def _missing(card, field: str) -> str:
    """An empty PII value: hidden by the role's policy (tools.pii), or simply not on file."""
    return '<span class="muted">hidden for your role</span>' if field in card.masked_fields else "—"


def _fields(rows: Iterable[tuple[str, str]]) -> str:
    # Values arrive escaped (some carry markup of our own); labels are ours.
    return '<dl class="fields">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _interactions(items) -> str:
    if not items:
        return '<p class="muted">None.</p>'
    rows = "".join(
        f"<tr><td>{esc(f'{i.occurred_at:%Y-%m-%d %H:%M}')}</td><td>{esc(i.kind)}</td><td>{esc(i.channel)}</td>"
        f"<td>{esc(i.subject or '')}</td><td>{esc(i.staff or '—')}</td><td>{esc(i.ticket_status or '')}</td>"
        f"<td class='num'>{esc('' if i.sentiment is None else f'{i.sentiment:+.2f}')}</td></tr>"
        for i in items
    )
    return ('<table class="data"><thead><tr><th>When</th><th>Kind</th><th>Channel</th><th>Subject</th><th>Staff</th>'
            f"<th>Ticket</th><th>Sentiment</th></tr></thead><tbody>{rows}</tbody></table>")


def _d(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d")
