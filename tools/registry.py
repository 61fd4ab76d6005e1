"""The one list of tools.

Each entry names a plain function ``fn(params: SomeParams, *, ctx: ToolContext) -> SomeResult``
by dotted path, loaded on first use so that asking for one tool does not import
every analytics library. Built-ins register exactly as an extension would, via
``register``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ValidationError

from storage.errors import DatabaseUnavailable as StorageUnavailable
from storage.retry import run_with_retry
from tools.context import ToolContext
from tools.errors import DatabaseUnavailable, InvalidArgument
from tools.results import ToolResult


@dataclass(frozen=True)
class ToolSpec:
    name: str
    target: str  # "package.module:function"
    kind: Literal["read", "write"] = "read"
    _loaded: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def function(self) -> Callable[..., ToolResult]:
        if "fn" not in self._loaded:
            module_name, _, attr = self.target.partition(":")
            self._loaded["fn"] = getattr(importlib.import_module(module_name), attr)
        return self._loaded["fn"]

    @property
    def params_model(self) -> type[BaseModel]:
        fn = self.function
        first = next(iter(inspect.signature(fn).parameters))
        return get_type_hints(fn)[first]

    @property
    def result_model(self) -> type[ToolResult]:
        return get_type_hints(self.function)["return"]

    @property
    def description(self) -> str:
        return inspect.getdoc(self.function) or ""

    def parse(self, arguments: dict[str, Any] | BaseModel | None) -> BaseModel:
        if isinstance(arguments, BaseModel):
            return arguments
        try:
            params = self.params_model.model_validate(arguments or {})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            raise InvalidArgument(f"invalid arguments for {self.name}: {problems}") from None
        too_big = _oversized_integer(params.model_dump())
        if too_big is not None:
            # No database column holds it (SQLite and PostgreSQL stop at 64 bits); the driver would raise.
            raise InvalidArgument(f"invalid arguments for {self.name}: {too_big}: the number is too large")
        return params

    def __call__(self, arguments: dict[str, Any] | BaseModel | None = None, *, ctx: ToolContext) -> ToolResult:
        params = self.parse(arguments)
        if self.kind == "write" and ctx.confirm_writes and "dry_run" in type(params).model_fields:
            params = params.model_copy(update={"dry_run": True})
        # A locked or unreachable database is retried for a bounded time (CRM_DB_RETRY_SECONDS), then
        # reported as DatabaseUnavailable. Running a tool again is safe because each write is a single
        # transaction that was rolled back when it failed; an attempt that had already committed is
        # never repeated (see storage.retry).
        try:
            return run_with_retry(lambda: self.function(params, ctx=ctx))
        except StorageUnavailable as err:
            if isinstance(err, DatabaseUnavailable):
                raise
            raise DatabaseUnavailable.from_storage(err) from err


_INT64 = 2**63 - 1


def _oversized_integer(value: Any, path: str = "") -> str | None:
    """The path of the first integer beyond 64 bits in ``value``, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (path or "arguments") if abs(value) > _INT64 else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list | tuple) else ()
    for key, item in items:
        found = _oversized_integer(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


_BUILTINS: tuple[ToolSpec, ...] = (
    ToolSpec("find_customers", "tools.customers:find_customers"),
    ToolSpec("customer_profile", "tools.customers:customer_profile"),
    ToolSpec("purchase_history", "tools.orders:purchase_history"),
    ToolSpec("order_status", "tools.orders:order_status"),
    ToolSpec("interaction_history", "tools.interaction_history:interaction_history"),
    ToolSpec("query_metrics", "tools.metrics:query_metrics"),
    ToolSpec("segment_customers", "tools.segmentation:segment_customers"),
    ToolSpec("quiet_customers", "tools.quiet:quiet_customers"),
    ToolSpec("churn_risk", "tools.churn:churn_risk"),
    ToolSpec("lifetime_value", "tools.clv:lifetime_value"),
    ToolSpec("cross_sell", "tools.cross_sell:cross_sell"),
    ToolSpec("purchase_preferences", "tools.preferences:purchase_preferences"),
    ToolSpec("campaign_performance", "tools.campaigns:campaign_performance"),
    ToolSpec("campaign_targets", "tools.campaigns:campaign_targets"),
    ToolSpec("sales_pipeline", "tools.pipeline:sales_pipeline"),
    ToolSpec("vip_report", "tools.reports:vip_report"),
    ToolSpec("log_interaction", "tools.actions:log_interaction", kind="write"),
    ToolSpec("assign_customer", "tools.actions:assign_customer", kind="write"),
)

TOOLS: dict[str, ToolSpec] = {}


def register(spec: ToolSpec) -> None:
    if spec.name in TOOLS:
        raise ValueError(f"tool {spec.name!r} is already registered")
    TOOLS[spec.name] = spec


def get_tool(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise InvalidArgument(f"unknown tool {name!r}", hint="known tools: " + ", ".join(sorted(TOOLS))) from None


for _spec in _BUILTINS:
    register(_spec)
