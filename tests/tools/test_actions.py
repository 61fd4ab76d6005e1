"""Write tools: log_interaction and assign_customer (scope rules, audit, atomicity, undo, dry run)."""

from __future__ import annotations

import sys
import types
from datetime import timedelta

import pytest
from _coretools_data import NOW, seed_crm
from sqlmodel import Session, select

import tools.actions as actions
from storage.db import engine_for
from storage.models import AuditEntry, Customer, Interaction, PoolHistory
from tools.actions import AssignCustomerParams, LogInteractionParams, assign_customer, log_interaction
from tools.context import ToolContext
from tools.errors import FutureDate, InvalidArgument, NotFound, PermissionDenied
from tools.registry import get_tool


@pytest.fixture
def crm(sqlite_url):
    return seed_crm(sqlite_url, customers=20)


@pytest.fixture
def calls(monkeypatch):
    """A fake ``knowledge`` package recording the hook calls (the real one embeds text into Chroma)."""
    seen: dict[str, list] = {"index": [], "owner": [], "index_engine_urls": []}
    fake = types.ModuleType("knowledge")

    def index_interactions(ids, *, engine=None):
        seen["index"].append(list(ids))
        seen["index_engine_urls"].append(engine.url.render_as_string(hide_password=False) if engine else None)

    fake.index_interactions = index_interactions
    fake.update_owner = lambda cid, oid: seen["owner"].append((cid, oid))
    monkeypatch.setitem(sys.modules, "knowledge", fake)
    return seen


def _ctx(crm, email=None):
    if email is None:
        return ToolContext.system(now=NOW, database_url=crm.url)
    return ToolContext.for_email(email, now=NOW, database_url=crm.url)


def _owner(crm, cid):
    with Session(engine_for(crm.url)) as s:
        return s.get(Customer, cid).owner_id


def _count(crm, model):
    with Session(engine_for(crm.url)) as s:
        return len(s.exec(select(model)).all())


def test_log_interaction_writes_audits_and_indexes(crm, calls):
    before = _count(crm, Interaction)
    r = log_interaction(
        LogInteractionParams(customer="Chen Jing", kind="call", body="Called about the late SO-0000001 delivery.", duration_minutes=4),
        ctx=_ctx(crm, "rep1@t.crm"),
    )
    assert r.interaction.id and r.interaction.channel == "phone" and r.interaction.duration_seconds == 240
    assert r.interaction.staff_id == crm.staff["rep1"] and r.interaction.occurred_at == NOW
    assert _count(crm, Interaction) == before + 1
    assert calls["index"] == [[r.interaction.id]] and r.searchable
    # The request's own database is indexed, not whatever the default settings point at.
    assert calls["index_engine_urls"] == [crm.url]
    with Session(engine_for(crm.url)) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.tool == "log_interaction")).one()
    assert audit.action == "write" and audit.user_id == crm.staff["rep1"]
    assert f"interaction:{r.interaction.id}" in audit.records


def test_log_interaction_validation_and_dry_run(crm, calls):
    ctx = _ctx(crm, "rep1@t.crm")
    before = _count(crm, Interaction)
    r = log_interaction(LogInteractionParams(customer="Chen Jing", kind="note", body="客户想要新款手机", dry_run=True), ctx=ctx)
    assert r.dry_run and r.interaction.id is None and r.interaction.language == "zh"
    assert _count(crm, Interaction) == before and calls["index"] == []
    with pytest.raises(InvalidArgument):
        log_interaction(LogInteractionParams(customer="Chen Jing", kind="call", body="x", channel="email"), ctx=ctx)
    with pytest.raises(FutureDate):
        log_interaction(LogInteractionParams(customer="Chen Jing", kind="visit", body="x", occurred_at=NOW + timedelta(days=1)), ctx=ctx)
    with pytest.raises(InvalidArgument):
        get_tool("log_interaction")({"customer": "Chen Jing", "kind": "telepathy", "body": "x"}, ctx=ctx)
    with pytest.raises(InvalidArgument):
        get_tool("log_interaction")({"customer": "Chen Jing", "kind": "note", "body": "   "}, ctx=ctx)
    with pytest.raises(NotFound):
        log_interaction(LogInteractionParams(customer=crm.customers["west"], kind="note", body="x"), ctx=ctx)


def test_log_interaction_survives_a_missing_or_failing_index(crm, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "knowledge", types.ModuleType("knowledge"))
    r = log_interaction(LogInteractionParams(customer="Chen Jing", kind="note", body="hello"), ctx=_ctx(crm, "rep1@t.crm"))
    assert r.interaction.id and not r.searchable
    assert "index_interactions" in caplog.text

    def broken(ids):
        raise OSError("chroma is down")

    failing = types.ModuleType("knowledge")
    failing.index_interactions = broken
    monkeypatch.setitem(sys.modules, "knowledge", failing)
    r = log_interaction(LogInteractionParams(customer="Chen Jing", kind="note", body="again"), ctx=_ctx(crm, "rep1@t.crm"))
    assert r.interaction.id and not r.searchable and "crm index" in r.summary


def test_rep_claims_from_pool_and_undoes(crm, calls):
    pool = crm.customers["pool"]
    rep1 = _ctx(crm, "rep1@t.crm")
    r = assign_customer(AssignCustomerParams(customer="Pat Pool", action="claim", reason="called in"), ctx=rep1)
    assert _owner(crm, pool) == crm.staff["rep1"] and r.pool_history_id and r.from_owner.id is None
    assert calls["owner"] == [(pool, crm.staff["rep1"])]
    with Session(engine_for(crm.url)) as s:
        h = s.get(PoolHistory, r.pool_history_id)
        assert (h.action, h.from_owner_id, h.to_owner_id, h.by_user_id) == ("claim", None, crm.staff["rep1"], crm.staff["rep1"])
        assert s.exec(select(AuditEntry).where(AuditEntry.tool == "assign_customer")).one().records[1] == f"pool_history:{h.id}"
    # The name cache sees the new owner at once: rep2 can no longer find the customer.
    with pytest.raises(NotFound):
        assign_customer(AssignCustomerParams(customer="Pat Pool", action="claim"), ctx=_ctx(crm, "rep2@t.crm"))
    undo = get_tool("assign_customer")(r.undo, ctx=rep1)
    assert _owner(crm, pool) is None and undo.action == "release"
    assert _count(crm, PoolHistory) == 2


def test_rep_limits(crm, calls):
    rep1 = _ctx(crm, "rep1@t.crm")
    with pytest.raises(PermissionDenied):
        assign_customer(AssignCustomerParams(customer="Pat Pool", action="assign", to="rep2@t.crm"), ctx=rep1)
    with pytest.raises(InvalidArgument):  # already in the pool
        assign_customer(AssignCustomerParams(customer="Pat Pool", action="release"), ctx=rep1)
    with pytest.raises(NotFound):  # another rep's customer is invisible, exactly like a missing one
        assign_customer(AssignCustomerParams(customer=crm.customers["west"], action="claim"), ctx=rep1)
    with pytest.raises(InvalidArgument):  # own customer: nothing to claim
        assign_customer(AssignCustomerParams(customer=crm.customers["chen_en"], action="claim"), ctx=rep1)
    r = assign_customer(AssignCustomerParams(customer=crm.customers["chen_en"], action="release"), ctx=rep1)
    assert _owner(crm, crm.customers["chen_en"]) is None and r.undo == {"customer": crm.customers["chen_en"], "action": "claim", "undo_of": r.pool_history_id}
    with pytest.raises(PermissionDenied):
        assign_customer(AssignCustomerParams(customer="Pat Pool", action="claim"), ctx=_ctx(crm, "support@t.crm"))


def test_manager_assigns_within_team_only(crm, calls):
    west_mgr = _ctx(crm, "mgr.west@t.crm")
    wes = crm.customers["west"]
    with pytest.raises(PermissionDenied):
        assign_customer(AssignCustomerParams(customer=wes, action="assign", to="rep1@t.crm"), ctx=west_mgr)
    with pytest.raises(NotFound):  # East team's customer is outside the West manager's scope
        assign_customer(AssignCustomerParams(customer=crm.customers["wang2"], action="release"), ctx=west_mgr)
    r = assign_customer(AssignCustomerParams(customer="Pat Pool", action="assign", to="Bob West"), ctx=west_mgr)
    assert _owner(crm, crm.customers["pool"]) == crm.staff["rep3"] and r.undo["action"] == "release"
    head = _ctx(crm, "head@t.crm")
    r = assign_customer(AssignCustomerParams(customer=wes, action="assign", to="rep1@t.crm"), ctx=head)
    assert _owner(crm, wes) == crm.staff["rep1"]
    assert r.undo == {"customer": wes, "action": "assign", "to": "rep3@t.crm", "undo_of": r.pool_history_id}
    get_tool("assign_customer")(r.undo, ctx=head)
    assert _owner(crm, wes) == crm.staff["rep3"]
    with pytest.raises(InvalidArgument):
        assign_customer(AssignCustomerParams(customer=wes, action="assign", to="support@t.crm"), ctx=head)
    with pytest.raises(InvalidArgument):
        assign_customer(AssignCustomerParams(customer=wes, action="assign"), ctx=head)


def test_dry_run_writes_nothing(crm, calls):
    before = (_count(crm, PoolHistory), _count(crm, AuditEntry))
    r = assign_customer(AssignCustomerParams(customer="Pat Pool", action="claim", dry_run=True), ctx=_ctx(crm, "rep1@t.crm"))
    assert r.dry_run and r.pool_history_id is None and "dry run" in r.summary
    assert _owner(crm, crm.customers["pool"]) is None
    assert (_count(crm, PoolHistory), _count(crm, AuditEntry)) == before and calls["owner"] == []


def test_writes_are_atomic(crm, calls, monkeypatch):
    def broken_audit(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(actions, "audit_write", broken_audit)
    with pytest.raises(RuntimeError):
        assign_customer(AssignCustomerParams(customer="Pat Pool", action="claim"), ctx=_ctx(crm, "rep1@t.crm"))
    assert _owner(crm, crm.customers["pool"]) is None
    assert _count(crm, PoolHistory) == 0 and calls["owner"] == []
