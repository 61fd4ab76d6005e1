
from pydantic import NaiveDatetime
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models.enums import Direction, InteractionChannel, InteractionKind, TicketStatus
from storage.models.timeutil import utcnow


class InteractionBase(SQLModel):
    external_id: str | None = Field(default=None, max_length=100, unique=True, index=True)
    customer_id: int = Field(foreign_key="customer.id")
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    channel: str = Field(max_length=20, description="phone | email | chat | social | visit | store")
    direction: str = Field(default=Direction.inbound.value, max_length=10)
    kind: str = Field(max_length=20, description="call | email | ticket | complaint | visit | social_comment | note")
    subject: str | None = Field(default=None, max_length=300)
    body: str = ""
    sentiment: float | None = Field(default=None, ge=-1, le=1, description="-1 negative .. 1 positive")
    duration_seconds: int | None = Field(default=None, ge=0)
    ticket_status: str | None = Field(default=None, max_length=20)
    occurred_at: NaiveDatetime
    language: str | None = Field(default=None, max_length=8)


class InteractionCreate(InteractionBase):
    channel: InteractionChannel
    direction: Direction = Direction.inbound
    kind: InteractionKind
    ticket_status: TicketStatus | None = None


class InteractionUpdate(SQLModel):
    subject: str | None = None
    body: str | None = None
    ticket_status: TicketStatus | None = None
    sentiment: float | None = None


class Interaction(InteractionBase, table=True):
    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_customer_time", "customer_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Bumped on every edit so the vector index can re-embed only what changed.
    updated_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class InteractionPublic(InteractionBase):
    id: int
