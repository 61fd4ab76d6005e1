"""Every registered tool imports, documents itself, and has typed params and result.

Fails until every tool of the catalogue exists: that is the point.
"""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel

from tools.registry import TOOLS
from tools.results import ToolResult


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tool_contract(name):
    spec = TOOLS[name]
    fn = spec.function
    doc = inspect.getdoc(fn) or ""
    assert len(doc) >= 80, f"{name}: the docstring is what a model reads to choose the tool"
    params = spec.params_model
    assert isinstance(params, type) and issubclass(params, BaseModel)
    for field_name, info in params.model_fields.items():
        assert info.description or isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel) or field_name in (
            "limit", "offset", "descending"
        ), f"{name}.{field_name} has no description"
    result = spec.result_model
    assert isinstance(result, type) and issubclass(result, ToolResult)
    sig = inspect.signature(fn)
    assert list(sig.parameters)[1:] == ["ctx"] and sig.parameters["ctx"].kind is inspect.Parameter.KEYWORD_ONLY
