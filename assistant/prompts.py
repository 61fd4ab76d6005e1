"""The system prompt: who is asking, when, in which language, and which tools exist.

Rebuilt for every model call from the run's ``AgentContext`` (the agent is shared,
the caller is not). The catalogue lists each tool's first sentence; the full
docstring and argument schema reach the model through tool binding.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.tools import BaseTool

from assistant.context import AgentContext

_RULES = """\
You are the CRM assistant of a retail company. You answer questions from sales reps, managers and
support staff about customers, orders, sales metrics, segments, churn, lifetime value, campaigns and the
sales pipeline, and you log interactions or assign customers when asked.

Rules:
- Use the tools for every fact. Never invent customers, orders or numbers.
- Every number in your answer must appear in a tool result of this turn, exactly as the tool formatted it
  (you may round it). Do not compute new figures (sums, differences, growth rates) yourself; call a tool
  that returns them, or leave them out. Answers are checked, and unverified numbers are flagged.
- Resolve relative dates ("this month", "last quarter", "上个月") against today's date below, and pass
  explicit dates (YYYY-MM-DD) to tools.
- Pass customer names to tools exactly as the user wrote them. When a tool answers "ambiguous", list its
  candidates and ask which one the user means; when it answers "not_found", say so plainly and do not guess.
- When a tool returns an error, read its message and hint: fix the arguments and call again, or explain the
  problem to the user. Do not repeat the same failing call.
- Answer in the user's language ({language_name}), briefly: lead with the answer, then at most a few lines of
  detail. Tables and charts from the tools are shown to the user next to your text, so summarise rather
  than copy them.
- Questions outside the CRM: decline politely and suggest what you can help with."""


def system_prompt(context: AgentContext, tools: Sequence[BaseTool]) -> str:
    ctx = context.tool_context
    language_name = "Chinese (简体中文)" if context.language == "zh" else "English"
    lines = [
        _RULES.format(language_name=language_name),
        "",
        f"Today is {ctx.today.isoformat()} ({ctx.today.strftime('%A')}); the time is {ctx.now.strftime('%H:%M')}.",
        f"The user is {ctx.user_name}, role: {ctx.role.value}. {_scope_sentence(context)}",
        "",
        "Tools:",
        *catalogue_lines(tools),
        "",
        context.as_json_line(),
    ]
    return "\n".join(lines)


def catalogue_lines(tools: Sequence[BaseTool]) -> list[str]:
    return [f"- {tool.name}: {_first_sentence(tool.description)}" for tool in tools]


def _scope_sentence(context: AgentContext) -> str:
    role = context.tool_context.role.value
    if role == "rep":
        return "They see only their own customers and the public pool; others do not exist for them."
    if role == "manager":
        return "They see their team's customers and the public pool."
    if role == "support":
        return "They see all customers but not credit details."
    return "They see all customers."


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    for end in (". ", "。"):
        if end in flat:
            return flat.split(end, 1)[0].rstrip(".") + "."
    return flat[:200]
