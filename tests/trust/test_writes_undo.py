"""Undoing assignments in the tool layer: undo_of checks, compare-and-set, audit rows and pool history.

Runs on SQLite and, with CRM_TEST_POSTGRES, on PostgreSQL. A fake ``knowledge`` module keeps
Chroma out of it (the owner sync after a write is not what is tested here).
"""

from __future__ import annotations

import sys
import threading
import types

import pytest
from _writes_data import NOW, owner_of, pool_history, seed, write_audits

from tools import InvalidArgument, NotFound, PermissionDenied, ToolContext, get_tool
from tools.assign_undo import Conflict, undo_arguments_for

assign = get_tool("assign_customer")


@pytest.fixture
def crm(database_url, monkeypatch):
    fake = types.ModuleType("knowledge")
    fake.update_owner = lambda cid, oid: None
    fake.index_interactions = lambda ids, *, engine=None: None
    monkeypatch.setitem(sys.modules, "knowledge", fake)
    return database_url, seed(database_url)


def ctx(url: str, email: str, *, channel: str = "cli") -> ToolContext:
    return ToolContext.for_email(email, now=NOW, database_url=url, channel=channel)


def test_claim_then_undo_leaves_pool_history_and_audit_rows(crm):
    url, ids = crm
    rep1 = ctx(url, "rep1@w.crm")
    done = assign({"customer": "C000001", "action": "claim"}, ctx=rep1)
    assert owner_of(url, ids["pool1"]) == ids["rep1"]
    assert done.undo == {"customer": ids["pool1"], "action": "release", "undo_of": done.pool_history_id}

    undone = assign(done.undo, ctx=rep1)
    assert owner_of(url, ids["pool1"]) is None and undone.action == "release"
    first, second = pool_history(url, ids["pool1"])
    assert (first.action, first.from_owner_id, first.to_owner_id) == ("claim", None, ids["rep1"])
    assert (second.action, second.from_owner_id, second.to_owner_id) == ("release", ids["rep1"], None)
    assert second.reason == f"undo of pool history #{first.id}" and second.by_user_id == ids["rep1"]
    audits = write_audits(url)
    assert [a.outcome for a in audits] == ["ok", "ok"]
    assert audits[1].arguments["undo_of"] == first.id and f"pool_history:{second.id}" in audits[1].records
    assert {a.user_id for a in audits} == {ids["rep1"]} and {a.channel for a in audits} == {"cli"}


def test_undo_is_refused_after_someone_else_reassigned(crm):
    url, ids = crm
    rep1, head = ctx(url, "rep1@w.crm"), ctx(url, "head@w.crm")
    done = assign({"customer": "C000002", "action": "claim"}, ctx=rep1)
    assign({"customer": ids["pool2"], "action": "assign", "to": "rep2@w.crm"}, ctx=head)
    # The customer is rep2's now, outside rep1's scope, yet rep1 made the change: the refusal says why.
    with pytest.raises(Conflict, match="owner changed since"):
        assign(done.undo, ctx=rep1)
    assert owner_of(url, ids["pool2"]) == ids["rep2"]
    assert len(pool_history(url, ids["pool2"])) == 2
    refused = write_audits(url)[-1]
    assert refused.outcome == "refused" and refused.user_id == ids["rep1"]
    assert "owner changed since" in refused.arguments["refused"]
    # The head of sales (who can see it) gets the same refusal for the stale undo.
    with pytest.raises(Conflict, match="owner changed since"):
        assign({**done.undo, "action": "release"}, ctx=head)


def test_undo_twice_is_refused_as_already_undone(crm):
    url, ids = crm
    rep1 = ctx(url, "rep1@w.crm")
    done = assign({"customer": "C000003", "action": "claim"}, ctx=rep1)
    assign(done.undo, ctx=rep1)
    with pytest.raises(Conflict, match="already undone"):
        assign(done.undo, ctx=rep1)
    assert owner_of(url, ids["pool3"]) is None and len(pool_history(url, ids["pool3"])) == 2
    assert [a.outcome for a in write_audits(url)] == ["ok", "ok", "refused"]


def test_undo_arguments_must_reverse_the_change(crm):
    url, ids = crm
    head = ctx(url, "head@w.crm")
    done = assign({"customer": ids["own1"], "action": "assign", "to": "rep2@w.crm"}, ctx=head)
    assert done.undo == {"customer": ids["own1"], "action": "assign", "to": "rep1@w.crm",
                         "undo_of": done.pool_history_id}
    with pytest.raises(InvalidArgument, match="do not reverse"):
        assign({**done.undo, "to": "rep3@w.crm"}, ctx=head)
    with pytest.raises(InvalidArgument, match="not a change of this customer"):
        assign({**done.undo, "customer": ids["own2"]}, ctx=head)
    assert owner_of(url, ids["own1"]) == ids["rep2"]
    assign(done.undo, ctx=head)
    assert owner_of(url, ids["own1"]) == ids["rep1"]


def test_undo_runs_with_the_callers_current_rules(crm):
    url, ids = crm
    head, rep2 = ctx(url, "head@w.crm"), ctx(url, "rep2@w.crm")
    done = assign({"customer": ids["own2"], "action": "assign", "to": "rep2@w.crm"}, ctx=head)
    # rep2 now owns it and may see it, but a rep cannot assign a customer to someone else.
    with pytest.raises(PermissionDenied):
        assign(done.undo, ctx=rep2)
    # Someone who cannot see the customer is told it does not exist.
    with pytest.raises(NotFound):
        assign(done.undo, ctx=ctx(url, "rep3@w.crm"))
    assert owner_of(url, ids["own2"]) == ids["rep2"]
    assert [a.outcome for a in write_audits(url)] == ["ok", "refused", "refused"]


def test_racing_undos_write_once(crm):
    url, ids = crm
    rep1 = ctx(url, "rep1@w.crm")
    done = assign({"customer": "C000004", "action": "claim"}, ctx=rep1)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def undo() -> None:
        barrier.wait()
        try:
            assign(done.undo, ctx=rep1)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=undo) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]
    assert owner_of(url, ids["pool4"]) is None and len(pool_history(url, ids["pool4"])) == 2


def test_racing_claims_of_one_pool_customer_write_once(crm):
    url, ids = crm
    results: list[str] = []
    barrier = threading.Barrier(2)

    def claim(email: str) -> None:
        barrier.wait()
        try:
            assign({"customer": ids["pool5"], "action": "claim"}, ctx=ctx(url, email))
            results.append(email)
        except (Conflict, NotFound, PermissionDenied):
            results.append("lost")

    threads = [threading.Thread(target=claim, args=(e,)) for e in ("rep1@w.crm", "rep2@w.crm")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count("lost") == 1
    assert len(pool_history(url, ids["pool5"])) == 1


def test_undo_arguments_for_history_ids_and_last(crm):
    url, ids = crm
    rep1 = ctx(url, "rep1@w.crm")
    claim = assign({"customer": "C000001", "action": "claim"}, ctx=rep1)
    release = assign({"customer": ids["own1"], "action": "release"}, ctx=rep1)
    assert undo_arguments_for(rep1, last=True) == release.undo == {
        "customer": ids["own1"], "action": "claim", "undo_of": release.pool_history_id}
    assert undo_arguments_for(rep1, history_id=claim.pool_history_id) == claim.undo
    assign(release.undo, ctx=rep1)
    # --last skips the undo itself: it names the change, which is already undone.
    assert undo_arguments_for(rep1, last=True)["undo_of"] == release.pool_history_id
    with pytest.raises(NotFound):  # a change rep3 did not make, of a customer rep3 cannot see
        undo_arguments_for(ctx(url, "rep3@w.crm"), history_id=claim.pool_history_id)
    with pytest.raises(NotFound):
        undo_arguments_for(ctx(url, "rep2@w.crm"), last=True)
