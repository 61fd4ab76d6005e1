"""The process environment one probe run needs, set and restored as a unit.

The settings of each package are read from the environment through cached getters,
so the run sets CRM_HOME, the database, the Chroma directory (static MiniLM embeddings:
indexing the world takes seconds, not a minute) and the model, then clears every cache
that holds a client, an agent or a settings object, and does the same on the way out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evals.probes.world import world_url

SCRIPTED_MODEL = "openai:gpt-4o-mini"
_KEYS = ("CRM_HOME", "CRM_DATABASE_URL", "CRM_CHROMA_PATH", "CRM_CHROMA_URL", "CRM_EMBEDDING", "CRM_MODEL",
         "OPENAI_API_KEY", "CRM_OPENAI_API_KEY", "OPENAI_BASE_URL", "CRM_OPENAI_BASE_URL", "CRM_LLM_TIMEOUT",
         "CRM_LLM_MAX_RETRIES", "CRM_LLM_STREAM", "CRM_MAX_STEPS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # fmt: skip


@contextmanager
def probe_environment(home: Path, *, model: str = "offline", base_url: str | None = None) -> Iterator[None]:
    """``model``: "offline" (the router) or "llm-scripted" (an OpenAI-protocol server at ``base_url``)."""
    if model not in ("offline", "llm-scripted"):
        raise ValueError(f"unknown probe model {model!r}; use offline or llm-scripted")
    if model == "llm-scripted" and not base_url:
        raise ValueError("the llm-scripted model needs the scripted server's base_url")
    values: dict[str, str | None] = {key: None for key in _KEYS}
    values |= {
        "CRM_HOME": str(home),
        "CRM_DATABASE_URL": world_url(home),
        "CRM_CHROMA_PATH": str(home / "chroma"),
        "CRM_EMBEDDING": "minilm-static",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "CRM_MODEL": "offline" if model == "offline" else SCRIPTED_MODEL,
    }
    if model == "llm-scripted":
        values |= {"OPENAI_BASE_URL": base_url, "CRM_LLM_TIMEOUT": "20", "CRM_LLM_MAX_RETRIES": "0",
                   "CRM_MAX_STEPS": "8"}  # fmt: skip
    saved = {key: os.environ.get(key) for key in _KEYS}
    _apply(values)
    try:
        yield
    finally:
        _apply(saved)


def _apply(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_caches()


def reset_caches() -> None:
    """Forget every cached settings object, model, agent, vector client and name index."""
    from assistant.agent import reset as reset_agents
    from assistant.model_factory import clear_cache
    from assistant.settings import get_settings as assistant_settings
    from knowledge.settings import get_settings as knowledge_settings
    from knowledge.store import forget_clients
    from storage.settings import get_settings as storage_settings
    from tools.lookup import invalidate_name_cache

    for getter in (storage_settings, knowledge_settings, assistant_settings):
        getter.cache_clear()
    clear_cache()
    reset_agents()
    forget_clients()
    invalidate_name_cache()
