"""The interaction_history tool: latest N, period and channel filters, search, citations, scope."""

from __future__ import annotations

from datetime import date

import pytest
from _knowledge_data import NOW

from tools.context import ToolContext
from tools.errors import FutureDate, NotFound
from tools.interaction_history import InteractionHistoryParams, interaction_history
from tools.registry import get_tool


def _ctx(crm, email: str | None = None) -> ToolContext:
    if email is None:
        return ToolContext.system(now=NOW, database_url=crm.url)
    return ToolContext.for_email(email, now=NOW, database_url=crm.url)


def test_latest_interactions_of_a_customer_newest_first(indexed):
    result = interaction_history(InteractionHistoryParams(customer="Alice Wang", limit=2), ctx=_ctx(indexed))
    assert result.mode == "latest"
    assert [h.external_id for h in result.hits] == ["INT-a3", "INT-a2"]
    assert result.customer_name == "Alice Wang"
    assert [c.label for c in result.citations] == ["INT-a3", "INT-a2"]
    # Each row cites id, date, channel, kind, staff and customer.
    assert result.table.rows[0][:6] == ["INT-a3", "2026-11-12", "chat", "note", "Rita Rep", "Alice Wang"]


def test_period_and_channel_filters(indexed):
    params = InteractionHistoryParams(
        customer="C0001", period={"start": "2026-10-01", "end": "2026-10-31"}, channels="phone"
    )
    result = interaction_history(params, ctx=_ctx(indexed))
    assert [h.external_id for h in result.hits] == ["INT-a1"]
    with pytest.raises(FutureDate):
        interaction_history(InteractionHistoryParams(period={"start": date(2027, 1, 1)}), ctx=_ctx(indexed))


def test_search_within_one_customer_by_meaning(indexed):
    result = interaction_history(
        InteractionHistoryParams(customer="Alice Wang", query="did she complain about delivery?"), ctx=_ctx(indexed)
    )
    assert result.mode == "search"
    assert result.hits[0].external_id == "INT-a1"
    assert {h.customer_name for h in result.hits} == {"Alice Wang"}


def test_search_across_customers_in_a_period(indexed):
    result = interaction_history(
        InteractionHistoryParams(query="who mentioned a refund", period={"start": "2026-11-01"}), ctx=_ctx(indexed)
    )
    assert result.hits[0].external_id in {"INT-a2", "INT-c2"}
    assert all(h.occurred_at.date() >= date(2026, 11, 1) for h in result.hits)


def test_rep_cannot_name_another_reps_customer(indexed):
    rita = _ctx(indexed, "rita@example.com")
    with pytest.raises(NotFound):
        interaction_history(InteractionHistoryParams(customer="Bob Smith", query="delivery"), ctx=rita)
    found = interaction_history(InteractionHistoryParams(query="purple elephant invoice 777", limit=50), ctx=rita)
    assert "INT-b1" not in {h.external_id for h in found.hits}


def test_registered_and_renders(indexed):
    spec = get_tool("interaction_history")
    result = spec({"customer": "陈静", "query": "退款"}, ctx=_ctx(indexed))
    assert result.hits[0].external_id == "INT-c2"
    text = result.to_text()
    assert "INT-c2" in text and "退款" in text
    assert result.to_blocks()
    assert "interaction id" in spec.description


def test_search_before_indexing_says_the_index_is_empty(kcrm):
    from tools.errors import ToolError

    with pytest.raises(ToolError, match="index is empty"):
        interaction_history(InteractionHistoryParams(query="refund"), ctx=_ctx(kcrm))
    # Listing needs no index.
    assert interaction_history(InteractionHistoryParams(customer="Alice Wang"), ctx=_ctx(kcrm)).hits
