"""Typed CRM tools: plain functions over the database, no LangChain.

Public surface for the assistant and the edges: the registry, the context, the
result and error types.
"""

from tools.context import ToolContext, scope_for
from tools.errors import (
    Ambiguous,
    Candidate,
    DatabaseUnavailable,
    EmptyPeriod,
    FutureDate,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ToolError,
)
from tools.registry import TOOLS, ToolSpec, get_tool, register
from tools.results import ChartSpec, Citation, Column, Table, ToolResult

__all__ = [
    "TOOLS",
    "Ambiguous",
    "Candidate",
    "ChartSpec",
    "Citation",
    "Column",
    "DatabaseUnavailable",
    "EmptyPeriod",
    "FutureDate",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Table",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "ToolSpec",
    "get_tool",
    "register",
    "scope_for",
]
