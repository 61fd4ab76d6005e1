"""Erasure outside the SQL database: Chroma (API and files), re-indexing, the assistant's memory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _gdpr_data import ADDRESS, EMAIL, NAME, PHONE, leftovers, seed
from sqlmodel import Session, select

from storage.models import AuditEntry
from tools import get_tool
from tools.context import ToolContext
from tools.gdpr import erase_customer

# How the target's values look in stored chunks (search text is lower-cased) and raw files.
RESIDUE = re.compile(rb"marrowbone|zquorvin|900123|zelda\.quorvin@|zelda quorvin(?!son)|kiln door hinge", re.IGNORECASE)


@pytest.fixture
def indexed(sqlite_url):
    from knowledge.indexing import sync_index
    from knowledge.store import forget_clients

    forget_clients()
    crm = seed(sqlite_url)
    sync_index()
    yield crm
    forget_clients()


def admin(crm) -> ToolContext:
    return ToolContext.for_email("admin@gdpr.test", database_url=crm.url)


def chunks_of(customer_id: int) -> list[str]:
    from knowledge.store import get_collection

    return get_collection().get(where={"customer_id": customer_id}, include=[])["ids"]


def store_text() -> str:
    from knowledge.store import get_collection

    everything = get_collection().get(include=["documents", "metadatas"])
    return json.dumps([everything["documents"], everything["metadatas"]], ensure_ascii=False)


def residue_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and RESIDUE.search(p.read_bytes()))


def test_vectors_are_removed_and_reindexing_does_not_bring_them_back(indexed):
    from knowledge.indexing import sync_index
    from knowledge.retrieval import search
    from storage.scope import Scope

    assert len(chunks_of(indexed.target)) == 2
    assert RESIDUE.search(store_text().encode())
    result = erase_customer(admin(indexed), customer=indexed.target)
    assert result.vectors_removed == 2 and result.reindexed == 1 and result.complete
    assert chunks_of(indexed.target) == []
    assert not RESIDUE.search(store_text().encode())  # Bruno's note was re-embedded without the mention
    report = sync_index()
    assert (report.added, report.changed) == (0, 0)
    assert chunks_of(indexed.target) == []
    hits = search("ship the kiln to Marrowbone Lane", scope=Scope.everything(), limit=10)
    assert all(h.customer_id != indexed.target for h in hits)
    history = get_tool("interaction_history")({"query": "kiln door hinge arrived bent"}, ctx=admin(indexed))
    assert all(h.customer_id != indexed.target for h in history.hits)
    text = json.dumps(history.model_dump(mode="json"), ensure_ascii=False)
    assert all(v not in text for v in (PHONE, EMAIL, ADDRESS, NAME + " "))


def test_a_failed_vector_removal_is_reported_and_erasing_again_finishes_it(indexed, monkeypatch):
    import knowledge.erase

    def unreachable(_customer_id):
        raise ConnectionError("vector store unreachable")

    monkeypatch.setattr(knowledge.erase, "erase_customer", unreachable)
    first = erase_customer(admin(indexed), customer=indexed.target)
    assert not first.complete and "unreachable" in first.vectors_error
    assert any("again" in line for line in first.lines())
    assert leftovers(indexed.engine) == []  # the database part committed
    assert len(chunks_of(indexed.target)) == 2
    monkeypatch.undo()
    second = erase_customer(admin(indexed), customer=indexed.target)
    assert second.already_erased and second.vectors_removed == 2 and second.complete
    assert "removed 2 leftover vector chunks" in "\n".join(second.lines())
    assert chunks_of(indexed.target) == []
    with Session(indexed.engine) as s:
        outcomes = s.exec(select(AuditEntry.outcome).where(AuditEntry.tool == "gdpr.erase_outside_db")
                          .order_by(AuditEntry.id)).all()
    assert outcomes == ["incomplete", "ok"]


def test_purge_leaves_no_erased_text_in_the_store_files(indexed, crm_home):
    from typer.testing import CliRunner

    from integrations.cli.app import app

    chroma = crm_home / "chroma"
    assert residue_files(chroma)
    erase_customer(admin(indexed), customer=indexed.target)
    assert residue_files(chroma)  # deleted through the API, still in Chroma's log and free pages
    run = CliRunner().invoke(app, ["gdpr", "purge-index", "--json"])
    assert run.exit_code == 0, run.output
    purge = json.loads(run.output)
    assert purge["vacuumed"] is True and purge["interactions"] == 2  # Bruno's and the namesake's notes
    assert residue_files(crm_home) == []  # Chroma, the in-process index and the CRM database alike
    assert chunks_of(indexed.target) == [] and chunks_of(indexed.customers["bruno"])


def test_conversations_that_mention_the_customer_are_forgotten(crm_home):
    from langchain_core.messages import HumanMessage, ToolMessage
    from langgraph.checkpoint.base import empty_checkpoint

    from assistant.agent import checkpointer
    from assistant.gdpr_memory import forget_conversations

    saver = checkpointer()
    threads = {
        "t-zelda": [HumanMessage(f"phone of {NAME}?"), ToolMessage(f"{NAME}: {PHONE}", tool_call_id="c1")],
        "t-email": [HumanMessage(f"who is {EMAIL.upper()}?")],
        "t-other": [HumanMessage("monthly revenue this year")],
    }
    for thread_id, messages in threads.items():
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": messages}
        saver.put({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}, checkpoint, {}, {})
    assert forget_conversations([NAME, PHONE, EMAIL]) == 2  # the email typed in capitals too
    assert forget_conversations([NAME]) == 0
    for thread_id, kept in (("t-zelda", False), ("t-email", False), ("t-other", True)):
        found = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
        assert (found is not None) == kept, thread_id
    raw = b"".join(p.read_bytes() for p in crm_home.glob("checkpoints.sqlite*"))
    assert PHONE.encode() not in raw and NAME.encode() not in raw
