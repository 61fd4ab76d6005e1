"""``OfflineRouterModel``: a LangChain chat model that routes instead of generating.

It plugs into the same agent loop as an LLM:

- last message a ``HumanMessage``: classify, extract slots and answer with an
  ``AIMessage`` carrying real ``tool_calls`` (or a direct answer: chit-chat,
  out-of-scope, a clarifying question);
- last messages ``ToolMessage``s: compose the final answer from their artifacts.

Per-request facts (now, role, user, scope, database) come from the agent's runtime
context (``assistant.context.current_context``) when running inside the agent, else
from the ``CRM_CONTEXT {...}`` line of a system message. The model object holds no
per-user state, so one instance serves every request.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.router.compose import compose
from assistant.router.dialogue import ROUTER_KEY, read_state, read_turns
from assistant.router.gazetteer import Gazetteer, gazetteer_for, offline_gazetteer
from assistant.router.planner import decide
from assistant.router.text import detect_language, normalize
from storage.scope import Scope

CONTEXT_MARKER = "CRM_CONTEXT "


class RouterContext:
    """What the router needs to know about this request."""

    def __init__(self, *, today: date, scope: Scope, database_url: str | None, offline: bool = False) -> None:
        self.today = today
        self.scope = scope
        self.database_url = database_url
        self.offline = offline

    def gazetteer(self) -> Gazetteer:
        if self.offline:
            return offline_gazetteer()
        from storage.db import engine_for, get_engine

        engine = engine_for(self.database_url) if self.database_url else get_engine()
        try:
            return gazetteer_for(engine, self.scope)
        except Exception:  # noqa: BLE001 - no database (or no schema yet): route with the fixed vocabulary
            return offline_gazetteer()


class OfflineRouterModel(BaseChatModel):
    """The embedded router: intent model + slot extractors + deterministic answers, no LLM."""

    bound_tools: list[str] | None = Field(default=None, description="Tool names offered by bind_tools; None = all")
    database_url: str | None = Field(default=None, description="Database for names and places; default from settings")
    offline_vocabulary: bool = Field(default=False, description="Never touch a database (tests without one)")

    @property
    def _llm_type(self) -> str:
        return "crm-offline-router"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "offline-router"}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any) -> OfflineRouterModel:
        names = [_tool_name(t) for t in tools]
        return self.model_copy(update={"bound_tools": [n for n in names if n]})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.respond_to(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self.respond_to(messages)
        chunk = AIMessageChunk(
            content=message.content,
            additional_kwargs=message.additional_kwargs,
            tool_call_chunks=[
                {"name": tc["name"], "args": json.dumps(tc["args"], ensure_ascii=False), "id": tc["id"], "index": i}
                for i, tc in enumerate(message.tool_calls)
            ],
        )
        if run_manager and isinstance(message.content, str) and message.content:
            run_manager.on_llm_new_token(message.content, chunk=ChatGenerationChunk(message=chunk))
        yield ChatGenerationChunk(message=chunk)

    # ------------------------------------------------------------ routing

    def respond_to(self, messages: list[BaseMessage]) -> AIMessage:
        state, current = read_state(messages)
        question = current[0].content if current else ""
        question = question if isinstance(question, str) else " ".join(str(p) for p in question)
        lang = detect_language(normalize(question))
        if messages and isinstance(messages[-1], ToolMessage):
            turns, _ = read_turns(messages)
            calls = turns[-1].calls if turns else []
            return AIMessage(content=compose(calls, lang=lang), additional_kwargs={ROUTER_KEY: {"lang": lang}})
        rctx = self._context(messages)
        available = set(self.bound_tools) if self.bound_tools is not None else None
        decision = decide(question, state=state, gazetteer=rctx.gazetteer(), today=rctx.today, available=available)
        note = {"lang": decision.lang, "intent": decision.intent, "confidence": round(decision.confidence, 3), **decision.note}
        if decision.tool:
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            return AIMessage(
                content="",
                tool_calls=[{"name": decision.tool, "args": decision.args, "id": call_id, "type": "tool_call"}],
                additional_kwargs={ROUTER_KEY: note},
            )
        return AIMessage(content=decision.answer or "", additional_kwargs={ROUTER_KEY: note})

    def _context(self, messages: list[BaseMessage]) -> RouterContext:
        agent_context = _agent_context()
        if agent_context is not None:
            tc = agent_context.tool_context
            return RouterContext(today=tc.today, scope=tc.scope, database_url=tc.database_url or self.database_url,
                                 offline=self.offline_vocabulary)  # fmt: skip
        facts = _context_facts(messages)
        today = _today(facts)
        scope = _scope(facts, self.database_url) if not self.offline_vocabulary else Scope.everything()
        return RouterContext(today=today, scope=scope, database_url=facts.get("database_url") or self.database_url,
                             offline=self.offline_vocabulary)  # fmt: skip


def _tool_name(tool: Any) -> str | None:
    if isinstance(tool, dict):
        return tool.get("name") or (tool.get("function") or {}).get("name")
    return getattr(tool, "name", None) or getattr(tool, "__name__", None)


def _agent_context():
    try:
        from assistant.context import current_context
    except ImportError:
        return None
    return current_context()


def _context_facts(messages: list[BaseMessage]) -> dict[str, Any]:
    for msg in reversed(messages):
        if isinstance(msg, SystemMessage) and isinstance(msg.content, str) and CONTEXT_MARKER in msg.content:
            for line in msg.content.splitlines():
                if line.startswith(CONTEXT_MARKER):
                    try:
                        return json.loads(line[len(CONTEXT_MARKER) :])
                    except json.JSONDecodeError:
                        return {}
    return {}


def _today(facts: dict[str, Any]) -> date:
    for key in ("today", "now"):
        value = facts.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value).date() if "T" in value or " " in value else date.fromisoformat(value)
            except ValueError:
                continue
    from storage.models import utcnow

    return utcnow().date()


def _scope(facts: dict[str, Any], database_url: str | None) -> Scope:
    """The caller's scope from the CRM_CONTEXT user id; an unknown caller sees only the public pool."""
    role = facts.get("role", "admin")
    user_id = facts.get("user_id")
    if role in ("admin", "support") and user_id is None:
        return Scope.everything()
    if user_id is None:
        return Scope(include_pool=True)
    try:
        from sqlmodel import Session

        from storage.db import engine_for, get_engine
        from storage.models import StaffUser
        from tools.context import scope_for

        url = facts.get("database_url") or database_url
        with Session(engine_for(url) if url else get_engine()) as session:
            user = session.get(StaffUser, int(user_id))
            if user is None:
                return Scope(include_pool=True)
            return scope_for(user, session=session)
    except Exception:  # noqa: BLE001 - without a readable database, see the least
        return Scope(include_pool=True)
