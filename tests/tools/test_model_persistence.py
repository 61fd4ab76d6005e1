"""Slow first calls load from disk in a new process: targeting fit, association rules, preference baselines.

A "new process" is simulated by clearing each module's in-memory cache and making the
expensive step raise: the second call must still answer, from ``CRM_HOME/models``.
"""

from __future__ import annotations

from datetime import date

import pytest
from analytics_fixtures import demo_database, demo_now

from tools import ToolContext, association_rules, get_tool, preference_stats, targeting
from tools.read_cache import READS

TODAY = date(2025, 6, 18)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    return demo_database(tmp_path_factory, customers=900, seed=3, today=TODAY)


def _fresh_process(monkeypatch, module, expensive: str) -> None:
    for name in ("_CACHE", "_BASES", "_RULES", "_BASKETS"):
        if hasattr(module, name):
            getattr(module, name).clear()
    READS.clear()

    def refuse(*args, **kwargs):
        raise AssertionError(f"{module.__name__}.{expensive} ran again instead of loading the saved copy")

    monkeypatch.setattr(module, expensive, refuse)


def test_targeting_model_is_reused_from_disk(url, monkeypatch):
    ctx = ToolContext.system(now=demo_now(TODAY), database_url=url)
    first = get_tool("campaign_targets")({"size": 20}, ctx=ctx)
    _fresh_process(monkeypatch, targeting, "_fit")
    again = get_tool("campaign_targets")({"size": 20}, ctx=ctx)
    assert [t.customer_id for t in again.targets] == [t.customer_id for t in first.targets]
    assert again.model == first.model


def test_association_rules_are_reused_from_disk(url, monkeypatch):
    ctx = ToolContext.system(now=demo_now(TODAY), database_url=url)
    first = get_tool("cross_sell")({"limit": 5}, ctx=ctx)
    _fresh_process(monkeypatch, association_rules, "mine_rules")
    again = get_tool("cross_sell")({"limit": 5}, ctx=ctx)
    assert again.rules == first.rules and again.baskets == first.baskets


def test_preference_baselines_are_reused_from_disk(url, monkeypatch):
    ctx = ToolContext.system(now=demo_now(TODAY), database_url=url)
    first = get_tool("purchase_preferences")({"tier": "vip"}, ctx=ctx)
    _fresh_process(monkeypatch, preference_stats, "_population")
    again = get_tool("purchase_preferences")({"tier": "vip"}, ctx=ctx)
    assert again.model_dump() == first.model_dump()


def test_a_rebuilt_database_does_not_reuse_old_rules(tmp_path, monkeypatch):
    """Same URL, different data: the disk key carries the data fingerprint, so the rules are mined again."""
    from storage.demo import generate

    url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    ctx = ToolContext.system(now=demo_now(TODAY), database_url=url)
    generate(customers=400, seed=11, today=TODAY, url=url)
    get_tool("cross_sell")({"limit": 5}, ctx=ctx)
    generate(customers=450, seed=12, today=TODAY, url=url, reset=True)
    association_rules._RULES.clear()
    association_rules._BASKETS.clear()
    calls = []
    real = association_rules.mine_rules
    monkeypatch.setattr(association_rules, "mine_rules", lambda *a, **k: calls.append(1) or real(*a, **k))
    get_tool("cross_sell")({"limit": 5}, ctx=ctx)
    assert calls, "rules of the old database were served from the disk cache"
