"""The web chat's own records: conversations per staff user, their messages, the charts a
user may fetch, and writes the assistant proposed that wait for a button press.

A thread's id is the assistant's thread id (its memory lives in the checkpointer), so the
web server checks ownership here before it lets anyone continue a conversation.
"""

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from storage.models.timeutil import utcnow


class WebThreadBase(SQLModel):
    user_id: int = Field(foreign_key="staff_user.id")
    title: str = Field(max_length=200, description="The first question, shortened")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class WebThread(WebThreadBase, table=True):
    __tablename__ = "web_thread"
    __table_args__ = (Index("ix_web_thread_user_updated", "user_id", "updated_at"),)

    id: str = Field(primary_key=True, max_length=64)


class WebThreadPublic(WebThreadBase):
    id: str
    messages: int = 0


class WebMessageBase(SQLModel):
    thread_id: str = Field(foreign_key="web_thread.id", index=True, max_length=64)
    question: str
    reply: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False),
                                  description="The reply as the API returned it")
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class WebMessage(WebMessageBase, table=True):
    __tablename__ = "web_message"

    id: int | None = Field(default=None, primary_key=True)


class WebChart(SQLModel, table=True):
    """Which user may fetch which chart PNG (charts are named by content hash, so users can share a name)."""

    __tablename__ = "web_chart"

    name: str = Field(primary_key=True, max_length=100)
    user_id: int = Field(primary_key=True, foreign_key="staff_user.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class WebPendingWriteBase(SQLModel):
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    thread_id: str | None = Field(default=None, max_length=64)
    tool: str = Field(max_length=60)
    arguments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: str = Field(description="What the dry run said would change")
    language: str = Field(default="en", max_length=5, description="The reply's language, for the outcome's wording")
    status: str = Field(default="pending", max_length=20, description="pending | done | failed | cancelled")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    decided_at: NaiveDatetime | None = None
    outcome: str | None = Field(default=None, description="The result summary or the error message")


class WebPendingWrite(WebPendingWriteBase, table=True):
    __tablename__ = "web_pending_write"

    id: str = Field(primary_key=True, max_length=64)
