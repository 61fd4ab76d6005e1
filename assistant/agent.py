"""The agent loop: ``create_agent`` over the wrapped registry tools, with a SQLite checkpointer.

One compiled agent per chat model is cached and shared by every request: the
caller travels in runtime context (``AgentContext``), the conversation in the
checkpointer (CRM_HOME/checkpoints.sqlite, keyed by thread id), so a follow-up
works from another process. The middleware here does three things the stock loop
does not:

- writes the system prompt per call (today's date, the user's role, the catalogue);
- answers malformed tool calls (invalid JSON arguments) with an error tool message
  and lets the model try again, instead of ending the turn silently;
- drops a dangling tool-calling message left by an interrupted turn, which an
  OpenAI-style server would otherwise reject on the next turn.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, hook_config
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from assistant.context import AgentContext
from assistant.errors import ModelTimeout, ModelUnavailable, StepLimitExceeded, TurnFailed
from assistant.prompts import system_prompt
from assistant.settings import AssistantSettings
from assistant.tool_adapter import build_tools
from storage.settings import get_settings as storage_settings

_lock = threading.Lock()
_savers: dict[str, SqliteSaver] = {}
_agents: dict[tuple, tuple[BaseChatModel, Any]] = {}
_MAX_AGENTS = 8


class CrmMiddleware(AgentMiddleware):
    def __init__(self, *, history_turns: int = 12) -> None:
        super().__init__()
        self.history_turns = history_turns

    def wrap_model_call(self, request, handler):
        context = request.runtime.context if request.runtime is not None else None
        overrides: dict[str, Any] = {}
        if isinstance(context, AgentContext):
            tools = [t for t in request.tools if not isinstance(t, dict)]
            overrides["system_message"] = SystemMessage(system_prompt(context, tools))
        recent = recent_turns(request.messages, self.history_turns)
        if len(recent) != len(request.messages):
            overrides["messages"] = recent
        return handler(request.override(**overrides) if overrides else request)

    @hook_config(can_jump_to=["model"])
    def after_model(self, state, runtime) -> dict[str, Any] | None:
        last = state["messages"][-1] if state["messages"] else None
        if not isinstance(last, AIMessage) or not last.invalid_tool_calls:
            return None
        replies = [
            ToolMessage(
                json.dumps(
                    {
                        "error": "invalid_tool_call",
                        "message": f"the call to {call.get('name') or 'a tool'} could not be parsed: {call.get('error')}",
                        "hint": "send the arguments again as one JSON object that matches the tool's schema",
                    },
                    ensure_ascii=False,
                ),
                tool_call_id=call.get("id") or f"invalid-{i}",
                name=call.get("name") or "invalid_tool_call",
                status="error",
            )
            for i, call in enumerate(last.invalid_tool_calls)
        ]
        update: dict[str, Any] = {"messages": replies}
        if not last.tool_calls:
            update["jump_to"] = "model"  # nothing else to run: give the model its errors back
        return update

    def before_agent(self, state, runtime) -> dict[str, Any] | None:
        removals = [RemoveMessage(id=m.id) for m in _dangling(state.get("messages", [])) if m.id]
        return {"messages": removals} if removals else None


def recent_turns(messages: list[BaseMessage], turns: int) -> list[BaseMessage]:
    """The last ``turns`` questions and everything after them; cutting at a question never splits a tool call
    from its result, and keeps a long thread inside the model's context window."""
    seen = 0
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            seen += 1
            if seen == turns:
                return messages[i:]
    return messages


def _dangling(messages: list[BaseMessage]) -> list[BaseMessage]:
    """Tool-calling AI messages (and their partial replies) whose calls were never all answered."""
    out: list[BaseMessage] = []
    for i, message in enumerate(messages):
        if not isinstance(message, AIMessage):
            continue
        expected = {c["id"] for c in message.tool_calls} | {c.get("id") for c in message.invalid_tool_calls}
        expected.discard(None)
        if not expected:
            continue
        replies = []
        for later in messages[i + 1 :]:
            if not isinstance(later, ToolMessage):
                break
            replies.append(later)
        if expected - {r.tool_call_id for r in replies}:
            out += [message, *replies]
    return out


def checkpointer(path: Path | None = None) -> SqliteSaver:
    """The process's saver for CRM_HOME/checkpoints.sqlite (WAL, so several processes can share it)."""
    path = path or storage_settings().home / "checkpoints.sqlite"
    key = str(path.resolve())
    with _lock:
        saver = _savers.get(key)
        if saver is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(key, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            saver = SqliteSaver(conn)
            saver.setup()
            _savers[key] = saver
        return saver


def get_agent(model: BaseChatModel, *, saver: SqliteSaver | None = None, history_turns: int = 12) -> Any:
    saver = saver or checkpointer()
    from tools.registry import TOOLS

    key = (id(model), id(saver), tuple(TOOLS), history_turns)
    with _lock:
        cached = _agents.get(key)
        if cached is not None:
            return cached[1]
    tools = build_tools()
    middleware = [CrmMiddleware(history_turns=history_turns)]
    agent = create_agent(model, tools, middleware=middleware, context_schema=AgentContext, checkpointer=saver)
    with _lock:
        if len(_agents) >= _MAX_AGENTS:
            _agents.pop(next(iter(_agents)))
        # Keep the model referenced so its id cannot be reused by another object while cached.
        _agents[key] = (model, agent)
    return agent


def run_turn(
    agent: Any,
    *,
    question: str,
    context: AgentContext,
    thread_id: str,
    settings: AssistantSettings,
    on_token: Callable[[str], None] | None = None,
) -> list[BaseMessage]:
    """Run one turn and return the messages it added (the question, tool calls and results, the answer)."""
    human = HumanMessage(question, id=f"q-{uuid.uuid4().hex}")
    config = {"configurable": {"thread_id": thread_id}, "recursion_limit": settings.recursion_limit}
    try:
        if on_token is None:
            # Checkpoint once at the end of the turn rather than after every step: a turn is short, and
            # per-step writes cost tens of milliseconds per turn with the offline router.
            state = agent.invoke({"messages": [human]}, config, context=context, durability="exit")
        else:
            state = _stream(agent, human, config, context, on_token)
    except Exception as exc:  # noqa: BLE001 - sorted into user-facing errors below; unknown ones re-raise
        error = _turn_error(exc, settings)
        if error is exc:
            raise
        raise error from exc
    messages = state["messages"]
    starts = [i for i, m in enumerate(messages) if m.id == human.id] or [
        i for i, m in enumerate(messages) if isinstance(m, HumanMessage)
    ]
    return messages[starts[-1] :] if starts else list(messages)


def _stream(agent: Any, human: HumanMessage, config: dict, context: AgentContext, on_token) -> dict:
    state: dict = {}
    stream = agent.stream({"messages": [human]}, config, context=context, stream_mode=["messages", "values"],
                          durability="exit")
    for mode, data in stream:
        if mode == "values":
            state = data
        elif mode == "messages":
            chunk, meta = data
            if isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "model" and chunk.text:
                on_token(chunk.text)
    return state


def _turn_error(exc: Exception, settings: AssistantSettings) -> Exception:
    from langgraph.errors import GraphRecursionError

    if isinstance(exc, GraphRecursionError):
        return StepLimitExceeded(f"the model did not finish within {settings.max_steps} steps")
    if isinstance(exc, TurnFailed):
        return exc
    # Classify by the class hierarchy's names, so the offline path never has to import openai or httpx;
    # langchain_openai re-raises the client's errors as subclasses of the openai ones.
    lineage = [(cls.__module__, cls.__name__) for cls in type(exc).__mro__]
    if any(module.startswith(("openai", "httpx", "httpcore")) for module, _ in lineage):
        if any("Timeout" in name for _, name in lineage):
            return ModelTimeout(f"the model did not answer within {settings.llm_timeout:g} s")
        status = getattr(exc, "status_code", None)
        detail = f"HTTP {status}: {_short(exc)}" if status else _short(exc)
        where = f" at {settings.openai_base_url}" if settings.openai_base_url else ""
        return ModelUnavailable(f"the model server{where} failed ({detail})")
    return exc


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("…" if len(text) > 200 else "")


def reset() -> None:
    """Forget cached agents and savers (tests switch CRM_HOME between cases)."""
    with _lock:
        _agents.clear()
        for saver in _savers.values():
            saver.conn.close()
        _savers.clear()
