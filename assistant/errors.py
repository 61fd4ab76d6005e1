"""Errors of the assistant, sorted by who reads them.

Tool errors (``tools.errors.ToolError``) never arrive here: the tool adapter turns
them into tool messages the model reads and acts on. What remains is for people:

    AssistantError                 root; ``str(err)`` is safe to show a user
    ├── ConfigError                bad settings, refused at start (placeholder key, unknown CRM_MODEL)
    └── TurnFailed                 one turn could not finish; ``respond`` turns it into a Reply with ``error``
        ├── ModelTimeout           the model did not answer within CRM_LLM_TIMEOUT
        ├── ModelUnavailable       the model server refused, failed or could not be reached
        └── StepLimitExceeded      the model kept calling tools past CRM_MAX_STEPS

Anything else escaping ``respond`` is a bug.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Root of assistant errors; the message is safe to show a user."""

    code = "assistant_error"


class ConfigError(AssistantError):
    code = "config_error"


class TurnFailed(AssistantError):
    code = "turn_failed"


class ModelTimeout(TurnFailed):
    code = "model_timeout"


class ModelUnavailable(TurnFailed):
    code = "model_unavailable"


class StepLimitExceeded(TurnFailed):
    code = "step_limit"
