"""Slack settings: the app's tokens and where the Slack Web API lives.

Read through :func:`get_settings` (cached), never at import time, so tests can set the
environment and call ``get_settings.cache_clear()``. Placeholder secrets pasted from a
template (``xoxb-your-token``, ``changeme``) are refused here, at start, rather than
surfacing later as a confusing ``invalid_auth`` in the middle of a conversation.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from integrations.slack.errors import SlackConfigError

_PLACEHOLDER = re.compile(
    r"^(x+|\.+|\*+|-+|changeme|change-me|replace-?me|your[-_ ]?.*|<.*>|\{.*\}|todo|none|null|secret|token|"
    r"\.\.\..*|x+-x+.*)$",
    re.IGNORECASE,
)
_PREFIX = {"bot_token": "xoxb-", "app_token": "xapp-"}


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLACK_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = Field(default=None, description="Bot token (xoxb-…): every Web API call.")
    app_token: SecretStr | None = Field(default=None, description="App-level token (xapp-…): Socket Mode only.")
    signing_secret: SecretStr | None = Field(default=None, description="Verifies HTTP requests from Slack.")
    api_url: str = Field(default="https://slack.com/api/", description="Slack Web API base URL (a fake one in tests).")
    command: str = Field(default="/crm", pattern=r"^/[\w-]+$", description="The slash command the manifest declares.")
    digest_channel: str | None = Field(
        default=None, description="Channel id (C…) for the managers' alert digest; `crm schedule set digest --channel` overrides."
    )
    report_channel: str | None = Field(
        default=None, description="Channel id for scheduled reports (VIP report); defaults to the digest channel."
    )
    public_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CRM_PUBLIC_URL", "SLACK_PUBLIC_URL"),
        description="Base URL of the web chat; when set, cited customers link to its customer pages.",
    )

    @field_validator("bot_token", "app_token", "signing_secret")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None, info) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not raw:
            return None
        prefix = _PREFIX.get(info.field_name)
        env_name = f"SLACK_{info.field_name.upper()}"
        if prefix and not raw.startswith(prefix):
            raise ValueError(f"{env_name} must start with {prefix!r} (copy it from the app's settings page)")
        if _PLACEHOLDER.match(raw.removeprefix(prefix or "")):
            raise ValueError(f"{env_name} holds a placeholder, not a real value")
        return SecretStr(raw)

    @field_validator("api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # WebClient joins base_url and the method name by plain concatenation.
        return value if value.endswith("/") else value + "/"

    @property
    def http_ready(self) -> bool:
        """HTTP mode (Events API at /slack/events) needs the bot token and the signing secret."""
        return self.bot_token is not None and self.signing_secret is not None

    @property
    def socket_ready(self) -> bool:
        return self.bot_token is not None and self.app_token is not None

    def require_socket_mode(self) -> None:
        missing = [name for name, v in (("SLACK_BOT_TOKEN", self.bot_token), ("SLACK_APP_TOKEN", self.app_token)) if v is None]
        if missing:
            raise SlackConfigError(f"Socket Mode needs {' and '.join(missing)} (see README: Install the Slack app)")

    def require_http(self) -> None:
        missing = [name for name, v in (("SLACK_BOT_TOKEN", self.bot_token),
                                        ("SLACK_SIGNING_SECRET", self.signing_secret)) if v is None]
        if missing:
            raise SlackConfigError(f"the Slack events endpoint needs {' and '.join(missing)}")


@lru_cache
def get_settings() -> SlackSettings:
    try:
        return SlackSettings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise SlackConfigError(f"Slack settings are invalid: {problems}") from None
