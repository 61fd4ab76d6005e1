"""Token counts and cost of the model calls in one turn, logged per call.

Counts come from each AIMessage's ``usage_metadata`` (with ``stream_usage=True`` a
streamed answer carries them too). Prices are list prices in USD per million tokens
at the time of writing; CRM_PRICE_INPUT_PER_MTOK / CRM_PRICE_OUTPUT_PER_MTOK override
them, and an unknown model (a local server) gets no cost rather than a wrong one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage

from assistant.reply import Usage
from assistant.settings import AssistantSettings

logger = logging.getLogger("assistant.llm")

# (input, output) USD per 1M tokens. Longest matching prefix wins, so dated snapshots match too.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
}


def price_for(model_name: str, settings: AssistantSettings) -> tuple[float, float] | None:
    if settings.price_input_per_mtok is not None or settings.price_output_per_mtok is not None:
        return (settings.price_input_per_mtok or 0.0, settings.price_output_per_mtok or 0.0)
    name = model_name.split(":", 1)[-1].lower()
    matches = [key for key in PRICES_PER_MTOK if name.startswith(key)]
    return PRICES_PER_MTOK[max(matches, key=len)] if matches else None


def turn_usage(messages: Sequence[BaseMessage], *, model_label: str, settings: AssistantSettings) -> Usage:
    """Sum usage over the turn's AI messages, logging one line per model call."""
    usage = Usage()
    total_cost: float | None = 0.0
    for message in messages:
        if not isinstance(message, AIMessage):
            continue
        usage.model_calls += 1
        meta = message.usage_metadata or {}
        tokens_in, tokens_out = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
        usage.input_tokens += tokens_in
        usage.output_tokens += tokens_out
        served_by = (message.response_metadata or {}).get("model_name") or model_label
        price = price_for(served_by, settings)
        if not meta:
            cost: float | None = 0.0  # the offline router spends no tokens
        else:
            cost = None if price is None else (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000
        total_cost = None if cost is None or total_cost is None else total_cost + cost
        if meta:
            logger.info(
                "llm call model=%s input_tokens=%d output_tokens=%d cost_usd=%s",
                served_by, tokens_in, tokens_out, "unknown" if cost is None else f"{cost:.6f}",
            )
    usage.cost_usd = None if total_cost is None else round(total_cost, 6)
    return usage
