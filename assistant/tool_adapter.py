"""The one place where registry tools become LangChain tools.

Each ``tools.registry.ToolSpec`` is wrapped as a ``RegistryTool`` whose arguments
schema is the params model's JSON schema, so the offline router and any LLM see
the same contract. A call returns ``content_and_artifact``:

- success: content = ``result.to_prompt()``, artifact = the ``ToolResult``;
- ``ToolError``: content = the error's JSON ``{"error", "message", "hint", "candidates"}``,
  artifact = the error, and the ToolMessage has ``status="error"`` so the model
  knows to retry or ask the user.

When the run's ``AgentContext.protect_pii`` is set (any model but the offline router),
the content has personal data replaced by opaque tokens (``assistant.pii_tokens``);
the artifact keeps the values the caller's role may see, and the reply puts them back.

The caller's ``ToolContext`` is not baked into the tool: it arrives per run through
LangGraph runtime context (``assistant.context``), so one compiled agent serves
every user.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pydantic import ConfigDict

from assistant.context import AgentContext, current_context
from assistant.pii_tokens import protected_error, protected_prompt, restore_arguments
from tools.context import ToolContext
from tools.errors import InvalidArgument, ToolError
from tools.registry import TOOLS, ToolSpec

logger = logging.getLogger(__name__)


class ToolFailed(ToolError):
    """A tool raised something other than a ToolError: a bug, reported to the model without internals."""

    code = "tool_failed"


class RegistryTool(BaseTool):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: Any
    fixed_context: ToolContext | None = None
    response_format: str = "content_and_artifact"

    def _to_args_and_kwargs(self, tool_input: str | dict, tool_call_id: str | None) -> tuple[tuple, dict]:
        # Validation belongs to the params model (via ToolSpec.parse), whose errors become a
        # typed InvalidArgument the model can read; LangChain's own validation would raise instead.
        if isinstance(tool_input, str):
            try:
                tool_input = json.loads(tool_input) if tool_input.strip() else {}
            except json.JSONDecodeError:
                tool_input = {"__invalid_json__": tool_input}
        return (), {"arguments": tool_input, "tool_call_id": tool_call_id}

    def _run(self, arguments: Any, tool_call_id: str | None) -> tuple[Any, Any]:
        try:
            if not isinstance(arguments, dict) or "__invalid_json__" in arguments:
                raise InvalidArgument(f"arguments for {self.name} must be a JSON object")
            run = _protecting_run()
            if run is not None:
                # A model that copies a placeholder into arguments (a note's text) means the value behind it.
                arguments = restore_arguments(arguments, run.pii_vault)
            result = self.spec(arguments, ctx=self._context())
        except ToolError as err:
            return self._error(err, tool_call_id)
        except Exception:  # noqa: BLE001 - a tool bug must not end the conversation; the log keeps the traceback
            logger.exception("tool %s failed", self.name)
            return self._error(ToolFailed(f"{self.name} failed unexpectedly; try other arguments or another tool"),
                               tool_call_id)
        run = _protecting_run()
        return (protected_prompt(result, vault=run.pii_vault) if run else result.to_prompt()), result

    def _context(self) -> ToolContext:
        if self.fixed_context is not None:
            return self.fixed_context
        agent_context = current_context()
        if agent_context is None:
            raise RuntimeError("a RegistryTool ran outside an agent run and without a fixed context")
        return agent_context.tool_context

    def _error(self, err: ToolError, tool_call_id: str | None) -> tuple[Any, ToolError]:
        content = error_content(err)
        run = _protecting_run()
        if run is not None:
            content = protected_error(content, err, vault=run.pii_vault)
        if tool_call_id is None:
            return content, err
        # A ToolMessage returned as content passes through LangChain untouched: the only way to
        # carry both status="error" and the error object as artifact.
        message = ToolMessage(content, artifact=err, tool_call_id=tool_call_id, name=self.name, status="error")
        return message, err


def _protecting_run() -> AgentContext | None:
    """The current run's context when its tool content must not carry PII in clear, else None."""
    run = current_context()
    return run if run is not None and run.protect_pii else None


def error_content(err: ToolError) -> str:
    return json.dumps(err.to_dict(), ensure_ascii=False)


def wrap(spec: ToolSpec, *, context: ToolContext | None = None) -> RegistryTool:
    return RegistryTool(
        name=spec.name,
        description=_description(spec.description) or spec.name,
        args_schema=params_json_schema(spec),
        spec=spec,
        fixed_context=context,
    )


def build_tools(
    *, registry: Mapping[str, ToolSpec] | None = None, context: ToolContext | None = None
) -> list[RegistryTool]:
    """Every registry tool whose module imports, wrapped. Tools still being written are skipped with a warning."""
    wrapped = []
    for spec in (registry if registry is not None else TOOLS).values():
        try:
            spec.params_model  # noqa: B018 - imports the module; fails for a tool that is not there yet
        except (ImportError, AttributeError, KeyError, StopIteration) as exc:
            logger.warning("tool %s is registered but not loadable (%s); the agent will not offer it", spec.name, exc)
            continue
        wrapped.append(wrap(spec, context=context))
    return wrapped


def params_json_schema(spec: ToolSpec) -> dict:
    """The params model's JSON schema with $refs inlined and titles dropped: small local models cope better."""
    schema = spec.params_model.model_json_schema()
    defs = schema.pop("$defs", {})
    inlined = _inline(schema, defs)
    inlined.pop("title", None)
    inlined.setdefault("type", "object")
    inlined.setdefault("properties", {})
    return inlined


def _inline(node: Any, defs: dict) -> Any:
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            target = defs.get(node["$ref"].split("/")[-1], {})
            merged = {**_inline(target, defs), **{k: v for k, v in node.items() if k != "$ref"}}
            merged.pop("title", None)
            return merged
        return {k: _inline(v, defs) for k, v in node.items() if k != "title" or not isinstance(v, str)}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _description(doc: str, *, limit: int = 1500) -> str:
    # OpenAI caps descriptions at 1024 characters for some models; the docstrings are written to fit,
    # and the cap here only guards against an overlong one.
    return doc.strip()[:limit]

