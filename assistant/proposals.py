"""The writes a turn proposed, each previewed again as the user: what every edge's Confirm step shows.

The CLI prompt, the web's and Slack's Confirm buttons all start from this one list, so
they agree on which calls count as proposals and on what the preview says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from assistant.reply import Reply
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import TOOLS
from tools.results import ToolResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviewedWrite:
    tool: str
    arguments: dict[str, Any]  # without dry_run: what Confirm will run
    preview: ToolResult


def previewed_writes(reply: Reply, *, ctx: ToolContext) -> list[PreviewedWrite]:
    """Each write call of the turn that still previews cleanly (a fresh dry run, as the user in ``ctx``).

    A write that already ran during the turn (a context without ``confirm_writes``, no dry run asked)
    has nothing left to confirm; one that no longer previews is left out, because the turn's
    answer already says what went wrong.
    """
    out = []
    for call in reply.tool_calls:
        spec = TOOLS.get(call.name)
        if spec is None or spec.kind != "write" or call.error is not None:
            continue
        if not (ctx.confirm_writes or call.args.get("dry_run")):
            continue
        arguments = {k: v for k, v in call.args.items() if k != "dry_run"}
        try:
            preview = spec({**arguments, "dry_run": True}, ctx=ctx)
        except ToolError as exc:
            logger.info("write %s no longer previews: %s", call.name, exc)
            continue
        out.append(PreviewedWrite(tool=call.name, arguments=arguments, preview=preview))
    return out
