"""Closed vocabularies. Stored as plain strings (portable across SQLite and
Postgres without native enum types); validated by the Create models."""

from enum import StrEnum


class Role(StrEnum):
    rep = "rep"
    manager = "manager"
    support = "support"
    admin = "admin"


class OrderChannel(StrEnum):
    online = "online"
    store = "store"
    app = "app"
    social = "social"


class OrderStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    returned = "returned"
    cancelled = "cancelled"


class InteractionChannel(StrEnum):
    phone = "phone"
    email = "email"
    chat = "chat"
    social = "social"
    visit = "visit"
    store = "store"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class InteractionKind(StrEnum):
    call = "call"
    email = "email"
    ticket = "ticket"
    complaint = "complaint"
    visit = "visit"
    social_comment = "social_comment"
    note = "note"


class TicketStatus(StrEnum):
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


class OpportunityStage(StrEnum):
    lead = "lead"
    qualified = "qualified"
    proposal = "proposal"
    negotiation = "negotiation"
    won = "won"
    lost = "lost"


class PoolAction(StrEnum):
    claim = "claim"
    assign = "assign"
    release = "release"


# Orders in these states do not count as revenue.
NON_REVENUE_STATUSES = (OrderStatus.returned.value, OrderStatus.cancelled.value)
