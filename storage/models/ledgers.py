"""Append-only ledgers: pool history, loyalty points, coupons, audit log."""


from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from storage.models.timeutil import utcnow


class PoolHistoryBase(SQLModel):
    customer_id: int = Field(foreign_key="customer.id", index=True)
    action: str = Field(max_length=10, description="claim | assign | release")
    from_owner_id: int | None = Field(default=None, foreign_key="staff_user.id")
    to_owner_id: int | None = Field(default=None, foreign_key="staff_user.id")
    by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    at: NaiveDatetime = Field(default_factory=utcnow)
    reason: str | None = Field(default=None, max_length=300)


class PoolHistory(PoolHistoryBase, table=True):
    __tablename__ = "pool_history"

    id: int | None = Field(default=None, primary_key=True)


class LoyaltyEntryBase(SQLModel):
    customer_id: int = Field(foreign_key="customer.id", index=True)
    points: int = Field(description="Positive when earned, negative when spent")
    reason: str = Field(max_length=120)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    at: NaiveDatetime


class LoyaltyEntry(LoyaltyEntryBase, table=True):
    __tablename__ = "loyalty_ledger"

    id: int | None = Field(default=None, primary_key=True)


class CouponBase(SQLModel):
    code: str = Field(max_length=40, unique=True, index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    discount: float = Field(default=0.1, ge=0, le=1)
    issued_at: NaiveDatetime
    expires_at: NaiveDatetime | None = None
    redeemed_at: NaiveDatetime | None = None
    order_id: int | None = Field(default=None, foreign_key="orders.id")


class Coupon(CouponBase, table=True):
    __tablename__ = "coupon"

    id: int | None = Field(default=None, primary_key=True)


class AuditEntryBase(SQLModel):
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    channel: str | None = Field(default=None, max_length=20, description="cli | slack | web | api | system")
    action: str = Field(max_length=40, description="question | tool_call | write | export | erase | login …")
    tool: str | None = Field(default=None, max_length=60)
    arguments: dict | None = Field(default=None, sa_column=Column(JSON))
    records: list[str] | None = Field(default=None, sa_column=Column(JSON))
    question: str | None = None
    outcome: str | None = Field(default=None, max_length=40)


class AuditEntry(AuditEntryBase, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_user_at", "user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)


class DemoTruth(SQLModel, table=True):
    """What the demo generator planted, so tests can score analytics against the truth.

    kind: quiet_vip | spend_drop | churned | price_sensitive | ab_winner | ab_null | bundle | …
    subject_id: a customer id, campaign id or product id depending on kind.
    """

    __tablename__ = "demo_truth"
    __table_args__ = (Index("ix_demo_truth_kind", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    subject_id: int
    detail: dict | None = Field(default=None, sa_column=Column(JSON))
