"""``respond``: the one entry point every edge calls. One question in, one ``Reply`` out.

The turn runs through the shared agent (offline router or LLM alike); the reply is
assembled from the messages that turn added: tables, charts and citations from the
tool results, the tool calls with their arguments, and the final answer after the
grounding check. Failures a user should hear about (a model timeout, a server
down, a runaway tool loop) come back as a Reply with ``error`` set, in the
question's language; configuration errors raise ``ConfigError`` before any work.
Every turn that starts, answered or not, leaves its question and tool calls in the audit
log (``assistant.audit``).
"""

from __future__ import annotations

import logging
import time
import uuid
import warnings
from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from assistant.agent import get_agent, run_turn
from assistant.audit import messages_after_failure, record_turn
from assistant.context import AgentContext
from assistant.errors import ModelTimeout, StepLimitExceeded, TurnFailed
from assistant.grounding import ground
from assistant.inputs import clean_question
from assistant.model_factory import build_chat_model, model_label
from assistant.pii_tokens import detokenize, guard_stream, needs_protection, restore_arguments, turn_vault
from assistant.reply import Language, Reply, ReplyError, ToolCallRecord
from assistant.settings import AssistantSettings, get_settings
from assistant.usage import turn_usage
from tools.context import ToolContext
from tools.errors import ToolError
from tools.results import ChartSpec, Citation, ToolResult

logger = logging.getLogger(__name__)

_EMPTY = {"en": "Please type a question.", "zh": "请输入一个问题。"}
_NO_ANSWER = {"en": "Sorry, I could not produce an answer to that.", "zh": "抱歉，我没能回答这个问题。"}
_FAILURE = {
    "model_timeout": {"en": "The language model did not answer in time ({detail}). Please try again.",
                      "zh": "语言模型没有及时回答（{detail}），请稍后再试。"},
    "step_limit": {"en": "I could not finish this question within the allowed number of steps ({detail}). "
                         "Please ask it more specifically.",
                   "zh": "这个问题在允许的步骤内没能完成（{detail}），请问得更具体一些。"},
    "default": {"en": "The assistant could not answer: {detail}.", "zh": "助手暂时无法回答：{detail}。"},
}


def detect_language(text: str) -> Language:
    """The router's rule, so the reply's label matches the language its text is written in.

    A Chinese name inside an English sentence stays English; Chinese with a few English words is Chinese.
    """
    from assistant.router.text import detect_language as by_weight

    return "zh" if by_weight(text) == "zh" else "en"


def new_thread_id() -> str:
    return uuid.uuid4().hex


def respond(
    question: str,
    *,
    context: ToolContext,
    thread_id: str | None = None,
    model: BaseChatModel | None = None,
    on_token: Callable[[str], None] | None = None,
    render_charts: bool = True,
) -> Reply:
    """Answer one question for the caller in ``context``; ``thread_id`` continues an earlier conversation.

    ``model`` overrides the configured model (tests, evals); ``on_token`` receives answer text as it
    streams (LLM mode); ``render_charts=False`` skips drawing PNGs (the specs are still returned).
    """
    started = time.perf_counter()
    settings = get_settings()
    question = clean_question(question)  # no NUL, control characters or lone surrogates: no database stores them
    language = detect_language(question)
    thread_id = thread_id or new_thread_id()
    if model is None:
        chat_model = build_chat_model(settings, streaming=True if on_token and not settings.is_offline else None)
        label = model_label(settings)
    else:
        chat_model, label = model, _label_of(model)

    def reply(**fields) -> Reply:
        return Reply(language=language, model=label, thread_id=thread_id,
                     latency_ms=round((time.perf_counter() - started) * 1000, 2), **fields)

    def audited(result: Reply, *, messages: Sequence[BaseMessage] = (), outcome: str | None = None) -> Reply:
        # Every path that answers comes through here: the question and its tool calls go to audit_log.
        record_turn(context=context, question=question, thread_id=thread_id, messages=messages, outcome=outcome,
                    model=label, language=language)
        return result

    if not question:
        return audited(reply(answer=_EMPTY[language]), outcome="empty")
    agent = get_agent(chat_model, history_turns=settings.history_turns)
    agent_context = AgentContext(tool_context=context, language=language, question=question,
                                 protect_pii=needs_protection(chat_model))
    messages: list[BaseMessage] = []
    try:
        messages = run_turn(agent, question=question, context=agent_context, thread_id=thread_id, settings=settings,
                            on_token=guard_stream(on_token, agent_context))
        result = reply(**assemble(messages, question=question, language=language, model=label, settings=settings,
                                  render_charts=render_charts))
    except TurnFailed as exc:
        logger.warning("turn failed on thread %s: %s", thread_id, exc)
        done = messages_after_failure(agent, thread_id=thread_id, question=question)
        return audited(reply(answer=_failure_text(exc, language), error=ReplyError(code=exc.code, message=str(exc))),
                       messages=done, outcome=exc.code)
    except Exception:
        # A bug, re-raised to the edge; the audit still shows the question and whatever tools ran.
        record_turn(context=context, question=question, thread_id=thread_id, outcome="internal_error", model=label,
                    language=language,
                    messages=messages or messages_after_failure(agent, thread_id=thread_id, question=question))
        raise
    return audited(result, messages=messages)


def assemble(
    messages: Sequence[BaseMessage],
    *,
    question: str,
    language: Language,
    model: str,
    settings: AssistantSettings,
    render_charts: bool = True,
) -> dict:
    """Reply fields from one turn's messages (question first, final answer last)."""
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    by_call = {m.tool_call_id: m for m in tool_messages}
    vault = turn_vault(messages)  # PII tokens an LLM was sent -> role-visible values (assistant.pii_tokens)
    calls: list[ToolCallRecord] = []
    for message in messages:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls.append(ToolCallRecord(name=call["name"], args=restore_arguments(call["args"], vault),
                                            error=_error_code(by_call.get(call["id"]))))
    artifacts = [m.artifact for m in tool_messages]
    results = [a for a in artifacts if isinstance(a, ToolResult)]

    final = next((m for m in reversed(messages) if isinstance(m, AIMessage) and not m.tool_calls), None)
    answer = final.text.strip() if final is not None else ""
    if not answer:
        answer = "\n\n".join(r.summary_for(language) for r in results) or _NO_ANSWER[language]
    answer = detokenize(answer, vault=vault, language=language)
    answer, grounding = ground(answer, artifacts=artifacts, contents=[m.text for m in tool_messages],
                               tool_args=[c.args for c in calls], question=question, language=language)
    if not grounding.ok:
        logger.warning("grounding: violations=%s repaired=%s", grounding.violations, grounding.repaired)

    chart_specs = [r.chart for r in results if r.chart is not None]
    return {
        "answer": answer,
        "tables": [r.table for r in results if r.table is not None and r.table.rows],
        "charts": _render(chart_specs) if render_charts else [],
        "chart_specs": chart_specs,
        "citations": _dedupe([c for r in results for c in r.citations]),
        "tool_calls": calls,
        "grounding": grounding,
        "usage": turn_usage(messages, model_label=model, settings=settings),
    }


def _error_code(message: ToolMessage | None) -> str | None:
    if message is None or message.status != "error":
        return None
    artifact = message.artifact
    return artifact.code if isinstance(artifact, ToolError) else "error"


def _render(specs: list[ChartSpec]) -> list[str]:
    from storage.settings import get_settings as storage_settings
    from tools.charts import render_chart

    out_dir = storage_settings().home / "charts"
    paths = []
    for spec in specs:
        try:
            with warnings.catch_warnings():
                # Without a CJK font installed, matplotlib warns once per missing glyph; the PNG still draws.
                warnings.filterwarnings("ignore", message="Glyph .* missing from font")
                paths.append(str(render_chart(spec, out_dir)))
        except Exception:  # noqa: BLE001 - a chart that fails to draw must not cost the user the answer
            logger.exception("could not draw chart %r", spec.title)
    return paths


def _dedupe(citations: list[Citation]) -> list[Citation]:
    seen: dict[tuple[str, int], Citation] = {}
    for c in citations:
        seen.setdefault((c.kind, c.id), c)
    return list(seen.values())


def _failure_text(exc: TurnFailed, language: Language) -> str:
    key = "model_timeout" if isinstance(exc, ModelTimeout) else "step_limit" if isinstance(exc, StepLimitExceeded) else (
        "default"
    )
    return _FAILURE[key][language].format(detail=str(exc))


def _label_of(model: BaseChatModel) -> str:
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    if isinstance(name, str) and name:
        return f"openai:{name}" if model._llm_type.startswith("openai") else name
    return model._llm_type
