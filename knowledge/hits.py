"""Search filters and cited hits, and the SQL side of every answer.

Whatever the index says, a hit is only returned after its interaction is read
back from the database and its customer's *current* owner passes the caller's
scope: owners change, an index can lag, and scope must hold regardless.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement
from sqlmodel import Session, select

from knowledge.keywords import normalize
from storage.models import Customer, Interaction, StaffUser
from storage.scope import Scope

SNIPPET_CHARS = 240


class SearchFilters(BaseModel):
    """Narrowing applied inside the query (Chroma ``where`` and SQL), never after the fact."""

    customer_ids: list[int] | None = None
    channels: list[str] | None = None
    kinds: list[str] | None = None
    staff_ids: list[int] | None = None
    start: datetime | None = Field(default=None, description="Inclusive, naive UTC")
    end: datetime | None = Field(default=None, description="Exclusive, naive UTC")

    def sql_clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.customer_ids is not None:
            clauses.append(Interaction.customer_id.in_(self.customer_ids))
        if self.channels:
            clauses.append(Interaction.channel.in_(self.channels))
        if self.kinds:
            clauses.append(Interaction.kind.in_(self.kinds))
        if self.staff_ids:
            clauses.append(Interaction.staff_id.in_(self.staff_ids))
        if self.start:
            clauses.append(Interaction.occurred_at >= self.start)
        if self.end:
            clauses.append(Interaction.occurred_at < self.end)
        return clauses


class InteractionHit(BaseModel):
    """One interaction, with what a person needs to cite it."""

    interaction_id: int
    external_id: str | None = None
    occurred_at: datetime
    channel: str
    kind: str
    direction: str | None = None
    staff_id: int | None = None
    staff_name: str | None = None
    customer_id: int
    customer_name: str
    subject: str | None = None
    snippet: str
    sentiment: float | None = None
    score: float | None = Field(default=None, description="Fused rank score; None for a plain listing")
    matched_terms: list[str] = Field(default_factory=list)
    vector_rank: int | None = None
    keyword_rank: int | None = None

    @property
    def reference(self) -> str:
        return self.external_id or f"#{self.interaction_id}"


def _full_text(row: Interaction) -> str:
    subject = (row.subject or "").strip()
    return f"{subject}\n{row.body}" if subject else row.body


def make_snippet(text: str, *, start: int = 0, end: int | None = None, terms: Iterable[str] = ()) -> str:
    """About ``SNIPPET_CHARS`` of the chunk, centred on the first matched term when there is one."""
    end = len(text) if end is None else min(end, len(text))
    passage = text[start:end] if 0 <= start < end else text
    lowered = normalize(passage)
    centre = min((lowered.find(t) for t in terms if lowered.find(t) >= 0), default=0)
    left = max(0, min(centre - SNIPPET_CHARS // 3, len(passage) - SNIPPET_CHARS))
    piece = " ".join(passage[left : left + SNIPPET_CHARS].split())
    prefix = "…" if left > 0 else ""
    suffix = "…" if left + SNIPPET_CHARS < len(passage) else ""
    return f"{prefix}{piece}{suffix}"


def load_rows(
    session: Session, *, ids: list[int], scope: Scope, filters: SearchFilters | None = None
) -> dict[int, tuple[Interaction, Customer, StaffUser | None]]:
    """Rows for these interaction ids that exist, match the filters and whose customer is in scope now."""
    if not ids:
        return {}
    stmt = (
        select(Interaction, Customer, StaffUser)
        .join(Customer, Customer.id == Interaction.customer_id)
        .join(StaffUser, StaffUser.id == Interaction.staff_id, isouter=True)
        .where(Interaction.id.in_(ids), scope.customer_clause(Customer.owner_id))
    )
    if filters:
        stmt = stmt.where(*filters.sql_clauses())
    return {row[0].id: row for row in session.exec(stmt).all()}


def to_hit(
    row: tuple[Interaction, Customer, StaffUser | None],
    *,
    span: tuple[int, int] | None = None,
    terms: list[str] | None = None,
    score: float | None = None,
    vector_rank: int | None = None,
    keyword_rank: int | None = None,
) -> InteractionHit:
    interaction, customer, staff = row
    text = _full_text(interaction)
    start, end = span or (0, len(text))
    return InteractionHit(
        interaction_id=interaction.id,
        external_id=interaction.external_id,
        occurred_at=interaction.occurred_at,
        channel=interaction.channel,
        kind=interaction.kind,
        direction=interaction.direction,
        staff_id=interaction.staff_id,
        staff_name=staff.name if staff else None,
        customer_id=customer.id,
        customer_name=customer.name,
        subject=interaction.subject,
        snippet=make_snippet(text, start=start, end=end, terms=terms or ()),
        sentiment=interaction.sentiment,
        score=score,
        matched_terms=terms or [],
        vector_rank=vector_rank,
        keyword_rank=keyword_rank,
    )


def recent(
    session: Session, *, scope: Scope, filters: SearchFilters | None = None, limit: int = 10
) -> list[InteractionHit]:
    """Latest interactions first, straight from SQL (no query text, so no index needed)."""
    stmt = (
        select(Interaction, Customer, StaffUser)
        .join(Customer, Customer.id == Interaction.customer_id)
        .join(StaffUser, StaffUser.id == Interaction.staff_id, isouter=True)
        .where(scope.customer_clause(Customer.owner_id), *(filters.sql_clauses() if filters else []))
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return [to_hit(row) for row in session.exec(stmt).all()]
