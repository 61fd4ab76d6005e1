"""The offline router: a LangChain chat model that answers by routing to the CRM tools.

Intent model (``intent``), slot extractors (``timeexpr``, ``entities``, ``slots``),
argument builders (``arguments``), dialogue state (``dialogue``), decisions
(``planner``) and deterministic answers (``compose``, ``replies``).
"""

from assistant.router.model import OfflineRouterModel

__all__ = ["OfflineRouterModel"]
