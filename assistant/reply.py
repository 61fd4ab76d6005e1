"""What one turn of the assistant returns to an edge (terminal, Slack, web, evals)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.results import ChartSpec, Citation, Table

Language = Literal["en", "zh"]


class ToolCallRecord(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, description="The tool error code when the call failed (not_found, …)")


class Grounding(BaseModel):
    """Whether every number in the answer came from a tool result of this turn."""

    ok: bool = True
    violations: list[str] = Field(default_factory=list, description="Numbers in the model's answer not found in the results")
    repaired: list[str] = Field(default_factory=list, description="Replacements made, as 'said -> tool value'")
    flagged: bool = Field(default=False, description="A visible warning was added to the answer")


class Usage(BaseModel):
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(default=None, description="None when the model's price is unknown")


class ReplyError(BaseModel):
    code: str
    message: str


class Reply(BaseModel):
    answer: str
    language: Language = "en"
    tables: list[Table] = Field(default_factory=list)
    charts: list[str] = Field(default_factory=list, description="PNG paths under CRM_HOME/charts")
    chart_specs: list[ChartSpec] = Field(default_factory=list, description="The same charts as data, for edges that draw")
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    model: str
    latency_ms: float
    grounding: Grounding = Field(default_factory=Grounding)
    usage: Usage = Field(default_factory=Usage)
    thread_id: str
    error: ReplyError | None = Field(default=None, description="Set when the turn could not finish; answer explains it")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
