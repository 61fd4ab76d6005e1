"""Assistant settings: which model answers, and the limits of one turn.

Read through :func:`get_settings` (cached), never at import time, so tests can set
the environment and call ``get_settings.cache_clear()``. A placeholder secret such
as ``sk-...`` or ``changeme`` is refused here, at start, rather than sent to a
server that would answer with a confusing 401 mid-conversation.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
# Values people paste from templates; any of these means "no real key was configured".
_PLACEHOLDER = re.compile(
    r"^(sk-?\.{2,}|sk-x+|x+|\.+|changeme|change-me|replace-?me|your[-_ ]?(api[-_ ]?)?key.*|<.*>|todo|none|null|secret)$",
    re.IGNORECASE,
)
_MODEL_SPEC = re.compile(r"^(offline|openai:[\w.:/@-]+)$")


class AssistantSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    model: str | None = Field(
        default=None,
        description="'offline' (the embedded router) or 'openai:<model>'. Default: offline unless OPENAI_API_KEY is set.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "CRM_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "CRM_OPENAI_BASE_URL"),
        description="Any OpenAI-compatible server: Ollama, vLLM, llama.cpp (e.g. http://127.0.0.1:11434/v1).",
    )
    max_steps: int = Field(default=6, ge=1, le=50, description="Model calls allowed in one turn (tool loops included).")
    history_turns: int = Field(default=12, ge=1, le=200, description="Questions a model sees per call, this one included, with their answers.")
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds one model call may take before it is abandoned.")
    llm_max_retries: int = Field(default=1, ge=0, le=10)
    llm_temperature: float | None = Field(default=0.0, description="None leaves the server's default (some models reject 0).")
    llm_stream: bool = Field(default=False, description="Stream tokens from the LLM (crm chat streams regardless).")
    price_input_per_mtok: float | None = Field(default=None, description="USD per million input tokens; overrides the table.")
    price_output_per_mtok: float | None = Field(default=None, description="USD per million output tokens.")
    rate_limit_per_minute: int = Field(
        default=30, ge=0, description="Questions one user may ask per minute in the web chat and Slack; 0 disables.")

    @field_validator("openai_api_key")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not raw:
            return None
        if _PLACEHOLDER.match(raw):
            raise ValueError("OPENAI_API_KEY holds a placeholder, not a key; set a real key or unset it")
        return SecretStr(raw)

    @field_validator("model")
    @classmethod
    def _known_model_spec(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not _MODEL_SPEC.match(value):
            raise ValueError(f"CRM_MODEL must be 'offline' or 'openai:<model>', got {value!r}")
        return value

    @property
    def model_spec(self) -> str:
        """The effective model: CRM_MODEL, else an OpenAI model when a key is set, else the offline router."""
        if self.model:
            return self.model
        return f"openai:{DEFAULT_OPENAI_MODEL}" if self.openai_api_key else "offline"

    @property
    def is_offline(self) -> bool:
        return self.model_spec == "offline"

    @property
    def recursion_limit(self) -> int:
        # LangGraph counts graph steps, not model calls: each model call plus its tool round is about
        # two steps, and the middleware hooks add one each; leave headroom for them.
        return self.max_steps * 3 + 2


@lru_cache
def get_settings() -> AssistantSettings:
    try:
        return AssistantSettings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ConfigError(f"assistant settings are invalid: {problems}") from None
