"""Run the question set through ``assistant.respond`` and score every reply.

Read questions run first, then dialogues (one thread each), then writes (they
change the database the reads were scored on). Expected answers are computed before
each question is asked, from the same database copy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evals.fixtures import (
    EVAL_NOW,
    Entities,
    Persona,
    build_database,
    drop_copy,
    load_persona,
    pick_entities,
    working_copy,
)
from evals.oracle import expectation
from evals.questions import Item
from evals.scoring import check_answer, check_args


@dataclass
class Outcome:
    item: Item
    question: str
    tool_ok: bool
    args_ok: bool
    answer_ok: bool
    grounded: bool
    latency_ms: float
    called: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    answer: str = ""

    @property
    def correct(self) -> bool:
        return self.tool_ok and self.args_ok and self.answer_ok

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.item.id, "persona": self.item.persona, "lang": self.item.lang, "question": self.question,
            "expected_tool": self.item.tool, "called": self.called, "tool_ok": self.tool_ok, "args_ok": self.args_ok,
            "answer_ok": self.answer_ok, "grounded": self.grounded, "latency_ms": self.latency_ms,
            "reason": self.reason, "follow_up": self.item.is_follow_up, "answer": self.answer,
        }  # fmt: skip


def _order(items: list[Item]) -> list[list[Item]]:
    """Groups to run: single reads, each dialogue as one group, then writes."""
    singles = [[i] for i in items if i.dialogue is None and not i.is_write]
    dialogues: dict[str, list[Item]] = {}
    for i in items:
        if i.dialogue is not None:
            dialogues.setdefault(i.dialogue, []).append(i)
    writes = [[i] for i in items if i.dialogue is None and i.is_write]
    return singles + [sorted(d, key=lambda i: i.turn) for d in dialogues.values()] + writes


def run(items: list[Item], *, customers: int, model=None, progress: Callable[[int, int, Outcome], None] | None = None,
        status: Callable[[str], None] | None = None) -> list[Outcome]:  # fmt: skip
    from assistant import new_thread_id, respond
    from storage.db import engine_for
    from tools.context import ToolContext

    saved_chroma = os.environ.get("CRM_CHROMA_PATH")
    pristine = build_database(customers=customers, progress=status)
    url = working_copy(pristine)
    engine = engine_for(url)
    _index_interactions(engine, status)
    personas: dict[tuple[str, str], Persona] = {}
    entities: dict[tuple[str, str], Entities] = {}
    contexts: dict[tuple[str, str], ToolContext] = {}
    outcomes: list[Outcome] = []
    groups = _order(items)
    total = sum(len(g) for g in groups)
    try:
        for group in groups:
            thread = new_thread_id()
            for item in group:
                key = (item.persona, item.lang)
                if key not in personas:
                    personas[key] = load_persona(engine, *key)
                    entities[key] = pick_entities(engine, personas[key])
                    contexts[key] = ToolContext.for_email(personas[key].email, now=EVAL_NOW, database_url=url)
                ent = entities[key]
                question = ent.fill(item.question)
                exp = expectation(item.expect["kind"], item.expect, engine=engine, persona=personas[key], ent=ent)
                started = time.perf_counter()
                try:
                    reply = respond(question, context=contexts[key], thread_id=thread, model=model, render_charts=False)
                except Exception as exc:  # noqa: BLE001 - one crashing question is a failure to report, not the end of the run
                    latency = (time.perf_counter() - started) * 1000
                    outcomes.append(Outcome(item=item, question=question, tool_ok=False, args_ok=False, answer_ok=False,
                                            grounded=True, latency_ms=round(latency, 1),
                                            reason=f"exception {type(exc).__name__}: {exc}"))  # fmt: skip
                else:
                    latency = (time.perf_counter() - started) * 1000
                    outcomes.append(_score(item, question, reply, exp, ent, latency, engine))
                if progress:
                    progress(len(outcomes), total, outcomes[-1])
    finally:
        engine.dispose()
        drop_copy(url)
        if saved_chroma is None:
            os.environ.pop("CRM_CHROMA_PATH", None)
        else:
            os.environ["CRM_CHROMA_PATH"] = saved_chroma
        _clear_knowledge_settings()
    return outcomes


def _index_interactions(engine, status) -> None:
    """interaction_history searches a vector index; bring the eval's own index in line with this database."""
    import logging

    from evals.fixtures import eval_home

    # The eval keeps its own index so a run never mixes demo interactions into the user's.
    os.environ["CRM_CHROMA_PATH"] = str(eval_home() / "chroma")
    _clear_knowledge_settings()
    try:
        from knowledge.indexing import sync_index

        if status:
            status("indexing interactions")
        try:
            sync_index(engine=engine)
        except Exception as exc:  # noqa: BLE001 - e.g. built with another embedding model: rebuild once
            if "rebuild" not in str(exc):
                raise
            sync_index(engine=engine, rebuild=True)
    except Exception as exc:  # noqa: BLE001 - without an index those questions fail visibly; the rest still count
        logging.getLogger(__name__).warning("interaction index unavailable (%s: %s)", type(exc).__name__, exc)


def _clear_knowledge_settings() -> None:
    try:
        from knowledge.settings import get_settings
    except ImportError:
        return
    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()


def _score(item: Item, question: str, reply, exp, ent: Entities, latency: float, engine) -> Outcome:
    calls = [{"name": c.name, "args": c.args, "error": c.error} for c in reply.tool_calls]
    first = reply.tool_calls[0] if reply.tool_calls else None
    if item.tool is None:
        tool_ok = first is None
    else:
        tool_ok = first is not None and item.accepts(first.name)
    expected_args = item.args
    if tool_ok and first is not None and first.name != item.tool:
        # An alternative tool: hold it only to the arguments it actually has.
        expected_args = {k: v for k, v in item.args.items() if k in first.args}
    args_ok, why_args = (check_args(first.args, expected_args, ent) if tool_ok and first is not None else (tool_ok, ""))
    db_ok = exp.db_check(engine) if exp.db_check is not None else None
    answer_ok, why_answer = check_answer(reply, exp, db_ok=db_ok)
    reason = "; ".join(r for r in (
        "" if tool_ok else f"tool {first.name if first else None} != {item.tool}", why_args, why_answer) if r)  # fmt: skip
    return Outcome(
        item=item, question=question, tool_ok=tool_ok, args_ok=args_ok, answer_ok=answer_ok,
        grounded=reply.grounding.ok, latency_ms=round(latency, 1), called=calls, reason=reason, answer=reply.answer,
    )  # fmt: skip
