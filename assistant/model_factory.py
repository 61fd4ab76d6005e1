"""Build the chat model named by settings: the offline router, OpenAI, or any OpenAI-compatible server.

``openai:<model>`` with OPENAI_BASE_URL set talks to Ollama, vLLM or llama.cpp through
the same client; such servers often need no key, so a dummy one is sent. Models are
cached per settings, because clients hold connection pools worth reusing.
"""

from __future__ import annotations

import threading

from langchain_core.language_models import BaseChatModel

from assistant.errors import ConfigError
from assistant.settings import AssistantSettings, get_settings

# Local OpenAI-compatible servers ignore the key, but the client insists on one.
_NO_KEY = "sk-no-key-required"
_cache: dict[tuple, BaseChatModel] = {}
_lock = threading.Lock()


def model_label(settings: AssistantSettings | None = None) -> str:
    """How replies name the model: 'offline', 'openai:gpt-4o-mini', 'openai:llama3@http://host/v1'."""
    settings = settings or get_settings()
    spec = settings.model_spec
    if spec != "offline" and settings.openai_base_url:
        return f"{spec}@{settings.openai_base_url}"
    return spec


def build_chat_model(settings: AssistantSettings | None = None, *, streaming: bool | None = None) -> BaseChatModel:
    settings = settings or get_settings()
    stream = settings.llm_stream if streaming is None else streaming
    key = (settings.model_spec, settings.openai_base_url, stream, settings.llm_timeout, settings.llm_max_retries,
           settings.llm_temperature, settings.openai_api_key.get_secret_value() if settings.openai_api_key else None)
    with _lock:
        if key not in _cache:
            _cache[key] = _build(settings, stream=stream)
        return _cache[key]


def _build(settings: AssistantSettings, *, stream: bool) -> BaseChatModel:
    spec = settings.model_spec
    if spec == "offline":
        return _offline_router()
    name = spec.removeprefix("openai:")
    if settings.openai_api_key is None and not settings.openai_base_url:
        raise ConfigError(f"CRM_MODEL={spec} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
    from langchain_openai import ChatOpenAI

    kwargs: dict = {}
    if settings.llm_temperature is not None:
        kwargs["temperature"] = settings.llm_temperature
    return ChatOpenAI(
        model=name,
        api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else _NO_KEY,
        base_url=settings.openai_base_url,
        # Chat Completions is what every compatible server implements; the Responses API is OpenAI-only.
        use_responses_api=False,
        streaming=stream,
        stream_usage=True,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        **kwargs,
    )


def _offline_router() -> BaseChatModel:
    try:
        from assistant.router import OfflineRouterModel
    except ImportError as exc:
        raise ConfigError(
            f"the offline router is not available ({exc}); set CRM_MODEL=openai:<model> with OPENAI_API_KEY "
            "or OPENAI_BASE_URL"
        ) from None
    return OfflineRouterModel()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
