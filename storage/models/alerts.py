"""Early warnings and their delivery: detected alerts, churn scores last seen, the delivery ledger,
and how often each report is sent.

- ``alert``: one row per alert key ``kind:customer:bucket`` (see ``tools.alerts``). It holds the
  numbers, never the customer's name: reasons are rendered when shown, so anonymising a customer
  also anonymises every alert about them. Customer rows cascade on delete (GDPR erase).
- ``churn_score_seen``: the churn probability last seen per customer, and the one seen in the
  bucket before, so a *jump* can be told from a level.
- ``alert_delivery``: the ledger. ``(alert_key, recipient)`` is unique, so the same alert is
  never sent twice to the same person or channel; a row is claimed ``pending`` before Slack is
  called and marked ``sent`` after (see ``tools.alerts_ledger``).
- ``report_schedule``: per report kind (alerts, digest, vip_report) a frequency and a channel,
  set with ``crm schedule set``. APScheduler keeps its own table (``SCHEDULER_JOB_TABLE``), which
  it creates itself; Alembic leaves it alone (``storage.migrate.include_object``).
"""

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.timeutil import utcnow

# APScheduler's SQLAlchemyJobStore table: created and owned by APScheduler, not by our migrations.
SCHEDULER_JOB_TABLE = "scheduler_job"


class AlertRecordBase(SQLModel):
    kind: str = Field(max_length=30, description="vip_quiet | spend_drop | frequency_drop | churn_jump | complaint_spike")
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE", index=True)
    owner_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL",
                                 description="The customer's owner when detected; NULL: public pool")
    severity: str = Field(max_length=10, description="high | medium | low")
    period: str = Field(max_length=20, description="The bucket in the key: a day, ISO week or month")
    numbers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    first_seen_at: NaiveDatetime = Field(default_factory=utcnow)
    last_seen_at: NaiveDatetime = Field(default_factory=utcnow)


class AlertRecord(AlertRecordBase, table=True):
    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_last_seen", "last_seen_at"),)

    key: str = Field(primary_key=True, max_length=120)


class ChurnScoreSeen(SQLModel, table=True):
    """The churn score last seen for a customer (``bucket``) and the last one of an earlier bucket."""

    __tablename__ = "churn_score_seen"

    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE", primary_key=True)
    probability: float
    bucket: str = Field(max_length=10, description="ISO week of the observation, e.g. 2025-W24")
    seen_at: NaiveDatetime
    previous_probability: float | None = None
    previous_bucket: str | None = Field(default=None, max_length=10)


class AlertDeliveryBase(SQLModel):
    alert_key: str = Field(max_length=120, description="An alert key, or a report key such as report:vip_report:…")
    recipient: str = Field(max_length=80, description="user:<staff id> or channel:<Slack channel>")
    batch_id: str = Field(max_length=40, index=True, description="One Slack message; several rows share it")
    status: str = Field(default="pending", max_length=12, description="pending | sent | failed | unknown")
    attempts: int = 1
    slack_channel: str | None = Field(default=None, max_length=40)
    slack_ts: str | None = Field(default=None, max_length=40)
    claimed_at: NaiveDatetime = Field(default_factory=utcnow)
    sent_at: NaiveDatetime | None = None
    error: str | None = Field(default=None, max_length=300)


class AlertDelivery(AlertDeliveryBase, table=True):
    __tablename__ = "alert_delivery"
    __table_args__ = (
        UniqueConstraint("alert_key", "recipient", name="uq_alert_delivery_key_recipient"),
        Index("ix_alert_delivery_status_claimed", "status", "claimed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)


class ReportSchedule(SQLModel, table=True):
    """How often one report kind goes out. A missing row means the settings' default; ``off`` disables."""

    __tablename__ = "report_schedule"

    kind: str = Field(primary_key=True, max_length=20, description="alerts | digest | vip_report")
    frequency: str = Field(max_length=10, description="daily | weekly | monthly | off")
    channel: str | None = Field(default=None, max_length=80, description="Slack channel for digest / vip_report")
    hour: int = Field(default=8, ge=0, le=23, description="Hour of the day it runs (scheduler time zone)")
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
