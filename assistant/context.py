"""Per-turn facts that travel with one agent run as LangGraph runtime context.

The compiled agent is shared by every request, so nothing about the caller may live
in it. Each ``invoke`` passes an ``AgentContext``; tools and the offline router read
it with :func:`current_context` (a context variable LangGraph sets for the run), and
the system prompt carries the same facts to any model as a ``CRM_CONTEXT`` JSON line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tools.context import ToolContext

CONTEXT_MARKER = "CRM_CONTEXT "


@dataclass(frozen=True)
class AgentContext:
    tool_context: ToolContext
    language: str = "en"
    question: str = ""
    # Tool content for this run's model carries PII only as tokens (assistant.pii_tokens). On by default,
    # so a run that does not say which model it serves is treated as talking to an external one;
    # respond() turns it off for the offline router, whose input never leaves the process.
    protect_pii: bool = True
    # token -> role-visible value, filled by the tool adapter as tools run (streamed text is de-tokenized from it).
    pii_vault: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def as_json_line(self) -> str:
        """The line the system prompt carries: what a model may know about this request (no secrets, no URLs)."""
        ctx = self.tool_context
        facts = {
            "now": ctx.now.isoformat(timespec="seconds"),
            "today": ctx.today.isoformat(),
            "role": ctx.role.value,
            "user": ctx.user_name,
            "user_id": ctx.user_id,
            "language": self.language,
            "channel": ctx.channel,
        }
        return CONTEXT_MARKER + json.dumps(facts, ensure_ascii=False)


def parse_context_line(text: str) -> dict | None:
    """The facts dict from a system prompt's ``CRM_CONTEXT {...}`` line, or None."""
    for line in text.splitlines():
        if line.startswith(CONTEXT_MARKER):
            try:
                return json.loads(line[len(CONTEXT_MARKER) :])
            except json.JSONDecodeError:
                return None
    return None


def current_context() -> AgentContext | None:
    """The AgentContext of the agent run this code executes in, or None outside a run."""
    try:
        from langgraph.runtime import get_runtime

        runtime = get_runtime()
    except (RuntimeError, KeyError, AttributeError):
        return None
    context = getattr(runtime, "context", None) if runtime is not None else None
    return context if isinstance(context, AgentContext) else None
