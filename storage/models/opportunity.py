from datetime import date

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from storage.models.enums import OpportunityStage


class OpportunityBase(SQLModel):
    external_id: str | None = Field(default=None, max_length=100, unique=True, index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    name: str = Field(max_length=200)
    stage: str = Field(default=OpportunityStage.lead.value, max_length=20, index=True)
    amount: float = 0.0
    probability: float = Field(default=0.1, ge=0, le=1)
    created_at: NaiveDatetime
    expected_close: date | None = None
    closed_at: NaiveDatetime | None = None
    outcome: str | None = Field(default=None, max_length=10, description="won | lost while closed")


class OpportunityCreate(OpportunityBase):
    stage: OpportunityStage = OpportunityStage.lead


class Opportunity(OpportunityBase, table=True):
    __tablename__ = "opportunity"

    id: int | None = Field(default=None, primary_key=True)


class OpportunityPublic(OpportunityBase):
    id: int
