"""The web chat: FastAPI pages, a JSON API (/api/ask, /api/threads) and SSE streaming over ``assistant.respond``.

Public surface: ``create_app`` (served by ``crm serve``) and the settings.
"""

from integrations.web.app import create_app
from integrations.web.settings import WebConfigError, WebSettings, get_settings

__all__ = ["WebConfigError", "WebSettings", "create_app", "get_settings"]
