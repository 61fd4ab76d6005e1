"""The JSON API's request and response models (what /docs shows to other programs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from storage.models import WebThreadPublic
from tools.results import Column, Scalar

ThreadId = str


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000, description="The question, in English or Chinese")
    thread_id: ThreadId | None = Field(
        default=None, pattern=r"^[0-9a-f]{32}$",
        description="Continue this conversation (from an earlier reply); omit to start a new one",
    )


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    id: int
    name: str
    email: str
    role: str
    team: str | None = None
    examples: list[str] = Field(default_factory=list, description="Example questions for this role")


class LoginReply(BaseModel):
    user: Me
    token: str = Field(description="Send as 'Authorization: Bearer <token>' (programs), or rely on the cookie (browsers)")


class WebTable(BaseModel):
    columns: list[Column]
    headers: list[str] = Field(description="Column labels in the reply's language")
    rows: list[list[str]] = Field(description="Formatted cells, ready to show")
    data: list[list[Scalar]] = Field(description="The same cells as typed values")
    total_rows: int | None = None


class ChartRef(BaseModel):
    url: str
    title: str


class CitationLink(BaseModel):
    kind: str
    id: int
    label: str
    url: str | None = Field(default=None, description="The record's page in the web chat, when it has one")


class Proposal(BaseModel):
    id: str
    tool: str
    arguments: dict[str, Any]
    summary: str = Field(description="What the write would change (its dry run)")
    status: Literal["pending", "running", "done", "failed", "cancelled", "undone"] = "pending"
    outcome: str | None = None
    confirm_url: str
    cancel_url: str
    undo_url: str | None = Field(default=None, description="POST here to undo a done assignment")


class AskReply(BaseModel):
    answer: str
    language: Literal["en", "zh"]
    thread_id: ThreadId
    message_id: int | None = None
    tables: list[WebTable] = Field(default_factory=list)
    charts: list[ChartRef] = Field(default_factory=list)
    citations: list[CitationLink] = Field(default_factory=list)
    proposals: list[Proposal] = Field(default_factory=list, description="Writes that wait for the user's confirmation")
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    model: str
    latency_ms: float
    grounded: bool = True
    error: dict[str, str] | None = None


class MessageOut(BaseModel):
    id: int
    question: str
    reply: AskReply
    created_at: datetime


class ThreadDetail(BaseModel):
    thread: WebThreadPublic
    messages: list[MessageOut]


class WriteOutcome(BaseModel):
    id: str
    status: Literal["done", "failed", "cancelled", "undone"]
    summary: str
    table: WebTable | None = None
    undo_url: str | None = Field(default=None, description="POST here to undo this assignment")
