"""The assistant: one entry point, ``respond``, over an agent that runs the offline router or any
OpenAI-compatible LLM with the same tools, memory per thread, and grounded answers.

Public surface for the edges (terminal, Slack, web) and the evals. Importing it loads
LangChain and LangGraph, so edges import it inside the commands that need it.
"""

from __future__ import annotations

from assistant.context import CONTEXT_MARKER, AgentContext, current_context, parse_context_line
from assistant.errors import (
    AssistantError,
    ConfigError,
    ModelTimeout,
    ModelUnavailable,
    StepLimitExceeded,
    TurnFailed,
)
from assistant.inputs import MAX_QUESTION_CHARS, clean_question, too_long_message
from assistant.ratelimit import RateLimiter, check_question, limited_message
from assistant.reply import Grounding, Reply, ReplyError, ToolCallRecord, Usage
from assistant.respond import detect_language, new_thread_id, respond
from assistant.settings import AssistantSettings, get_settings

__all__ = [
    "CONTEXT_MARKER",
    "MAX_QUESTION_CHARS",
    "AgentContext",
    "AssistantError",
    "AssistantSettings",
    "ConfigError",
    "Grounding",
    "ModelTimeout",
    "ModelUnavailable",
    "RateLimiter",
    "Reply",
    "ReplyError",
    "StepLimitExceeded",
    "ToolCallRecord",
    "TurnFailed",
    "Usage",
    "check_question",
    "clean_question",
    "current_context",
    "detect_language",
    "get_settings",
    "limited_message",
    "new_thread_id",
    "parse_context_line",
    "respond",
    "too_long_message",
]
