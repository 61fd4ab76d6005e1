"""Conversation state for follow-ups, read back from the message list.

The checkpointer keeps every message of a thread, so the router needs no memory of
its own: the previous tool calls (with their arguments), the tool results or errors
(an ``Ambiguous`` error's candidates) and the router's own notes on its direct
answers (``additional_kwargs["router"]``: e.g. "awaiting a customer for
purchase_history") are all in the list. Artifacts from earlier processes come back
from the checkpoint as plain dicts, so every reader here accepts both shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

ROUTER_KEY = "router"


@dataclass
class Call:
    name: str
    args: dict[str, Any]
    id: str | None = None
    result: Any = None  # ToolResult, ToolError, dict (reloaded), or None
    error: dict | None = None  # the error JSON when the call failed


@dataclass
class Turn:
    question: str
    calls: list[Call] = field(default_factory=list)
    note: dict | None = None  # the router's note on a direct answer
    answer: str | None = None


@dataclass
class DialogueState:
    turns: list[Turn]

    @property
    def last_turn(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def last_call(self) -> Call | None:
        """The latest tool call that succeeded, else the latest one at all."""
        calls = [c for t in self.turns for c in t.calls]
        for c in reversed(calls):
            if c.error is None:
                return c
        return calls[-1] if calls else None

    def last_customer(self) -> str | int | None:
        """The customer the conversation is about: the latest one a tool resolved, else the latest named."""
        for turn in reversed(self.turns):
            for call in reversed(turn.calls):
                if call.error is not None:
                    continue
                cited = single_customer(call.result)
                if cited is not None and call.args.get("customer") is not None:
                    return cited
                if call.args.get("customer") is not None:
                    return call.args["customer"]
                if cited is not None:
                    return cited
            if turn.note and turn.note.get("customer") is not None:
                return turn.note["customer"]
        return None

    def pending_ambiguity(self) -> tuple[Call, list[dict]] | None:
        """The call that failed as ambiguous in the previous turn, and its candidates."""
        turn = self.last_turn
        if not turn:
            return None
        for call in turn.calls:
            if call.error and call.error.get("error") == "ambiguous" and call.error.get("candidates"):
                return call, list(call.error["candidates"])
        return None

    def awaiting(self) -> dict | None:
        """The router's own open question from the previous turn ("which customer?")."""
        turn = self.last_turn
        return turn.note if turn and turn.note and turn.note.get("awaiting") else None


def read_state(messages: list[BaseMessage]) -> tuple[DialogueState, list[BaseMessage]]:
    """Earlier turns, and the messages of the current turn (from its HumanMessage on)."""
    turns, current_start = read_turns(messages)
    history = turns[:-1] if turns else []
    return DialogueState(history), messages[current_start:]


def read_turns(messages: list[BaseMessage]) -> tuple[list[Turn], int]:
    """Every turn, the current one last, and the index where the current turn starts."""
    turns: list[Turn] = []
    current_start = 0
    by_id: dict[str, Call] = {}
    for i, msg in enumerate(messages):
        if isinstance(msg, HumanMessage):
            turns.append(Turn(question=_text(msg)))
            current_start = i
        elif isinstance(msg, AIMessage) and turns:
            for tc in msg.tool_calls or []:
                call = Call(name=tc["name"], args=dict(tc.get("args") or {}), id=tc.get("id"))
                turns[-1].calls.append(call)
                if call.id:
                    by_id[call.id] = call
            note = (msg.additional_kwargs or {}).get(ROUTER_KEY)
            if isinstance(note, dict) and not msg.tool_calls:
                turns[-1].note = note
            if not msg.tool_calls:
                turns[-1].answer = _text(msg)
        elif isinstance(msg, ToolMessage):
            call = by_id.get(msg.tool_call_id)
            if call is not None:
                call.result, call.error = artifact_and_error(msg)
    return turns, current_start


def artifact_and_error(msg: ToolMessage) -> tuple[Any, dict | None]:
    artifact = msg.artifact
    error = None
    if msg.status == "error" or _is_error(artifact):
        error = _error_dict(artifact, msg.content)
    return artifact, error


def _is_error(artifact: Any) -> bool:
    if artifact is None:
        return False
    if hasattr(artifact, "code") and hasattr(artifact, "to_dict"):
        return True
    return isinstance(artifact, dict) and "error" in artifact and "summary" not in artifact


def _error_dict(artifact: Any, content: Any) -> dict:
    if hasattr(artifact, "to_dict"):
        try:
            return artifact.to_dict()
        except Exception:  # noqa: BLE001 - fall back to the message text
            pass
    if isinstance(artifact, dict) and "error" in artifact:
        return artifact
    try:
        data = json.loads(content) if isinstance(content, str) else None
    except json.JSONDecodeError:
        data = None
    return data if isinstance(data, dict) else {"error": "tool_error", "message": str(content)}


def single_customer(result: Any) -> int | None:
    """The customer id a result is about, when it cites exactly one customer first."""
    citations = _get(result, "citations") or []
    customers = [c for c in citations if _get(c, "kind") == "customer"]
    ids = {_get(c, "id") for c in customers}
    if len(ids) == 1:
        return next(iter(ids))
    return None


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _text(msg: BaseMessage) -> str:
    content = msg.content
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append(part.get("text", ""))
    return " ".join(parts)
