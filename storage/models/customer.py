"""Customers. ``owner_id`` NULL means the customer sits in the public pool (公海)."""

from datetime import date

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from storage.models.timeutil import utcnow


class CustomerBase(SQLModel):
    external_id: str | None = Field(default=None, max_length=100, unique=True, index=True)
    name: str = Field(max_length=200, index=True)
    gender: str | None = Field(default=None, max_length=10, description="F | M | other")
    birth_date: date | None = None
    occupation: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    social_handles: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    country: str | None = Field(default=None, max_length=80)
    region: str | None = Field(default=None, max_length=80, index=True)
    city: str | None = Field(default=None, max_length=80, index=True)
    address: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=8, description="en | zh")
    preferred_channel: str | None = Field(default=None, max_length=20)
    acquired_on: date | None = None
    acquisition_source: str | None = Field(default=None, max_length=60)
    owner_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    loyalty_points: int = 0
    loyalty_tier: str | None = Field(default=None, max_length=20, description="bronze | silver | gold | platinum")
    credit_rating: str | None = Field(default=None, max_length=4, description="A | B | C | D")
    overdue_amount: float = 0.0
    follower_count: int = Field(default=0, description="Influence: social followers")
    marketing_consent: bool = False


class CustomerCreate(CustomerBase):
    tags: list[str] = []


class CustomerUpdate(SQLModel):
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    region: str | None = None
    address: str | None = None
    owner_id: int | None = None
    loyalty_tier: str | None = None
    marketing_consent: bool | None = None


class Customer(CustomerBase, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class CustomerPublic(CustomerBase):
    id: int
    tags: list[str] = []

    @property
    def in_public_pool(self) -> bool:
        return self.owner_id is None


class CustomerTag(SQLModel, table=True):
    """One row per (customer, tag): indexable on both SQLite and Postgres, unlike a JSON list."""

    __tablename__ = "customer_tag"
    __table_args__ = (Index("ix_customer_tag_tag", "tag"),)

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    tag: str = Field(max_length=60, primary_key=True)
