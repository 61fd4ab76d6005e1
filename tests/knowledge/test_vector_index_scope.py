"""The in-process index never widens scope: its selections hold exactly the rows the filter allows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _index_checks import synthetic_rows
from sqlmodel import Session

from knowledge import chroma_legs
from knowledge.index_rows import RowBatch
from knowledge.keywords import query_terms
from knowledge.retrieval import current_index, search
from knowledge.row_filter import RowFilter
from knowledge.segment import Segment
from knowledge.vector_index import IndexState
from storage.db import engine_for
from storage.models import Customer
from storage.scope import Scope


def _allowed(metas: list[dict], f: RowFilter) -> set[str]:
    def ok(m: dict) -> bool:
        return ((f.owners is None or m["owner_id"] in f.owners)
                and (f.customers is None or m["customer_id"] in f.customers)
                and (f.channels is None or m["channel"] in f.channels)
                and (f.kinds is None or m["kind"] in f.kinds)
                and (f.staff is None or m["staff_id"] in f.staff)
                and (f.start is None or m["occurred_at"] >= f.start)
                and (f.end is None or m["occurred_at"] < f.end))
    return {f"i{m['interaction_id']}:0" for m in metas if ok(m)}


def _random_filters(n: int):
    rng = np.random.default_rng(17)
    for _ in range(n):
        pick = rng.random(6) < 0.5
        start = 1_700_000_000 + int(rng.integers(0, 10**7))
        yield RowFilter(
            owners=tuple(int(x) for x in rng.choice(5, size=int(rng.integers(0, 3)), replace=False)) if pick[0] else None,
            customers=tuple(int(x) for x in rng.integers(1, 40, size=int(rng.integers(0, 4)))) if pick[1] else None,
            channels=("email", "chat") if pick[2] else None,
            kinds=("ticket",) if pick[3] else None,
            staff=(1, 3) if pick[4] else None,
            start=start if pick[5] else None,
            end=start + 3_000_000 if pick[5] else None,
        )


@pytest.fixture(scope="module")
def state_and_metas():
    # Three segments and some dead rows, as a live index has after a few writes.
    parts = [synthetic_rows(200, seed=s, start_id=1_000 * s) for s in range(3)]
    segments = tuple(Segment.build(RowBatch.from_chroma(*p), name=f"seg-{i}") for i, p in enumerate(parts))
    dead = np.zeros(segments[1].n, dtype=bool)
    dead[::5] = True
    killed = set(segments[1].keys(np.flatnonzero(dead)))
    metas = [m for p in parts for cid, m in zip(p[0], p[2], strict=True) if cid not in killed]
    return IndexState(token="t", dims=384, segments=segments, dead=(None, dead, None)), metas


def test_selections_hold_exactly_the_allowed_rows(state_and_metas):
    state, metas = state_and_metas
    for f in itertools.chain(_random_filters(150), [RowFilter(owners=(-1,)), RowFilter(customers=(-1,))]):
        selected = {key for i, sel in enumerate(state.selections(f)) for key in state.segments[i].keys(sel.all_rows())}
        assert selected == _allowed(metas, f), f


def test_both_legs_read_only_selected_rows(state_and_metas):
    state, metas = state_and_metas
    rng = np.random.default_rng(2)
    for f in _random_filters(40):
        allowed = _allowed(metas, f)
        sels = state.selections(f)
        q = rng.normal(size=384).astype(np.float32)
        found = {state.key(ref) for ref, _ in state.nearest(q / np.linalg.norm(q), sels, 50)}
        assert found <= allowed and len(found) == min(50, len(allowed))
        for term in query_terms("refund delivery 快递 so-01005 \"about refund\""):
            for i, (rows, _) in enumerate(state.term(term, sels)):
                assert set(state.segments[i].keys(rows)) <= allowed


def test_a_customer_filter_cannot_reach_outside_the_owner_scope(state_and_metas):
    state, metas = state_and_metas
    foreign = next(m["customer_id"] for m in metas if m["owner_id"] == 3)
    sels = state.selections(RowFilter(owners=(1, 0), customers=(foreign,)))
    assert sum(s.count for s in sels) == 0


@pytest.mark.parametrize(
    "query",
    ["Bob's codeword is purple elephant invoice 777", "purple elephant", "777", "\"purple elephant\"", "Bob Smith"],
)
def test_a_rep_never_gets_another_reps_customer_from_the_index(indexed, monkeypatch, query):
    assert current_index() is not None
    monkeypatch.setattr(chroma_legs, "vector_leg", lambda *a, **k: pytest.fail("searched Chroma"))
    monkeypatch.setattr(chroma_legs, "keyword_leg", lambda *a, **k: pytest.fail("searched Chroma"))
    rep_a = Scope(owner_ids=frozenset({indexed.staff["rep_a"]}), include_pool=True)
    found = search(query, scope=rep_a, limit=50)
    assert {h.customer_id for h in found} <= {indexed.customers[k] for k in ("alice", "chen", "pool")}
    rep_b = Scope(owner_ids=frozenset({indexed.staff["rep_b"]}), include_pool=True)
    assert search(query, scope=rep_b, limit=1)[0].external_id == "INT-b1"


def test_a_stale_owner_in_the_index_is_caught_by_the_sql_check(indexed):
    # SQL moves Bob to rep A; nobody tells the index, which still files him under rep B.
    with Session(engine_for(indexed.url)) as s:
        s.get(Customer, indexed.customers["bob"]).owner_id = indexed.staff["rep_a"]
        s.commit()
    rep_b = Scope(owner_ids=frozenset({indexed.staff["rep_b"]}), include_pool=True)
    assert "INT-b1" not in {h.external_id for h in search("purple elephant", scope=rep_b, limit=20)}


def test_unfiltered_queries_on_a_large_index_use_chroma_s_graph_for_meaning_only(indexed, monkeypatch):
    from knowledge import retrieval

    monkeypatch.setattr(retrieval, "HNSW_UNFILTERED_ROWS", 0)
    calls = []
    original = chroma_legs.vector_leg
    monkeypatch.setattr(chroma_legs, "vector_leg", lambda *a, **k: (calls.append(a[2]), original(*a, **k))[1])
    monkeypatch.setattr(chroma_legs, "keyword_leg", lambda *a, **k: pytest.fail("keywords went to Chroma"))
    hit = search("parcel arrived two weeks late", scope=Scope.everything(), limit=1)[0]
    assert hit.external_id == "INT-a1" and hit.vector_rank == 1 and "parcel" in hit.matched_terms
    assert calls == [None]  # no where clause: only for queries that narrow nothing
    rep_a = Scope(owner_ids=frozenset({indexed.staff["rep_a"]}), include_pool=True)
    search("parcel arrived two weeks late", scope=rep_a, limit=1)
    assert calls == [None]  # a scoped query stays on the index
