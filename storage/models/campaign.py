from datetime import date

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class CampaignBase(SQLModel):
    external_id: str | None = Field(default=None, max_length=100, unique=True, index=True)
    name: str = Field(max_length=200)
    channel: str = Field(max_length=20, description="email | sms | app | social | store")
    starts_on: date
    ends_on: date | None = None
    cost: float = 0.0
    target_segment: str | None = Field(default=None, max_length=80)
    variants: list[str] = Field(default_factory=lambda: ["A"], sa_column=Column(JSON))
    description: str | None = None


class CampaignCreate(CampaignBase):
    pass


class Campaign(CampaignBase, table=True):
    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)


class CampaignPublic(CampaignBase):
    id: int


class CampaignTouchBase(SQLModel):
    campaign_id: int = Field(foreign_key="campaign.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    variant: str = Field(default="A", max_length=20)
    sent_at: NaiveDatetime
    opened: bool = False
    clicked: bool = False
    converted: bool = False
    converted_at: NaiveDatetime | None = None
    attributed_revenue: float = 0.0


class CampaignTouch(CampaignTouchBase, table=True):
    __tablename__ = "campaign_touch"
    __table_args__ = (Index("ix_campaign_touch_campaign_variant", "campaign_id", "variant"),)

    id: int | None = Field(default=None, primary_key=True)


class CampaignTouchPublic(CampaignTouchBase):
    id: int
