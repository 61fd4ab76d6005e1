"""The delivery ledger: each alert (or report) goes to each recipient at most once.

A row per ``(alert_key, recipient)``, unique in the database. A sender works in three steps:

1. ``claim``: insert ``pending`` rows for the keys this recipient has not had (INSERT … ON
   CONFLICT DO NOTHING, so two schedulers racing each get disjoint keys) and commit. Rows that
   failed before (Slack said no) are taken back, up to ``MAX_ATTEMPTS``.
2. Send one Slack message for the claimed batch, carrying the batch id in its metadata.
3. ``mark_sent`` with Slack's channel and ts (one UPDATE, one commit), or ``mark_failed``.

A crash between 2 and 3 leaves the batch ``pending``. After ``stale_after`` it is ``retake``-n
(compare-and-set on ``claimed_at``, so only one process recovers it) and the sender asks Slack
whether the message is there (conversations.history, by metadata): found, it is marked sent;
not found, it is sent again; when Slack cannot tell (no history scope), it is marked ``unknown``
and never re-sent. So the ledger is exactly-once when Slack can be asked and at-most-once when not.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from storage.models import AlertDelivery

PENDING, SENT, FAILED, UNKNOWN = "pending", "sent", "failed", "unknown"
MAX_ATTEMPTS = 3


class Claim(BaseModel):
    batch_id: str
    recipient: str
    keys: list[str]
    claimed_at: datetime
    slack_channel: str | None = None


def _insert(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(AlertDelivery)


def claim(engine: Engine, *, recipient: str, keys: list[str], now: datetime,
          slack_channel: str | None = None) -> Claim | None:
    """Claim the keys ``recipient`` has not received (nor has pending); None when there are none."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return None
    batch = uuid.uuid4().hex
    d = AlertDelivery
    with engine.begin() as conn:
        rows = [{"alert_key": k, "recipient": recipient, "batch_id": batch, "status": PENDING, "attempts": 1,
                 "claimed_at": now, "slack_channel": slack_channel} for k in keys]
        for i in range(0, len(rows), 500):
            conn.execute(_insert(engine).values(rows[i : i + 500]).on_conflict_do_nothing(
                index_elements=["alert_key", "recipient"]))
        conn.execute(
            update(d).where(d.recipient == recipient, d.alert_key.in_(keys), d.status == FAILED,
                            d.attempts < MAX_ATTEMPTS)
            .values(status=PENDING, batch_id=batch, claimed_at=now, attempts=d.attempts + 1, error=None,
                    slack_channel=slack_channel)
        )
        mine = set(conn.execute(select(d.alert_key).where(d.batch_id == batch)).scalars())
    claimed = [k for k in keys if k in mine]
    if not claimed:
        return None
    return Claim(batch_id=batch, recipient=recipient, keys=claimed, claimed_at=now, slack_channel=slack_channel)


def set_channel(engine: Engine, *, batch_id: str, channel: str) -> None:
    """Where the message is about to go: recovery looks there for it."""
    with engine.begin() as conn:
        conn.execute(update(AlertDelivery).where(AlertDelivery.batch_id == batch_id).values(slack_channel=channel))


def mark_sent(engine: Engine, *, batch_id: str, channel: str | None, ts: str | None, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(AlertDelivery).where(AlertDelivery.batch_id == batch_id)
                     .values(status=SENT, slack_channel=channel, slack_ts=ts, sent_at=now, error=None))


def mark_failed(engine: Engine, *, batch_id: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(AlertDelivery).where(AlertDelivery.batch_id == batch_id)
                     .values(status=FAILED, error=error[:300]))


def mark_unknown(engine: Engine, *, batch_id: str, error: str) -> None:
    """Slack could not say whether the message arrived: never send it again (at most once)."""
    with engine.begin() as conn:
        conn.execute(update(AlertDelivery).where(AlertDelivery.batch_id == batch_id)
                     .values(status=UNKNOWN, error=error[:300]))


def stale_claims(engine: Engine, *, before: datetime) -> list[Claim]:
    """Batches still pending that were claimed before ``before`` (their sender probably died)."""
    d = AlertDelivery
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.batch_id, d.recipient, d.alert_key, d.claimed_at, d.slack_channel)
            .where(d.status == PENDING, d.claimed_at < before).order_by(d.batch_id, d.id)
        ).all()
    out: dict[str, Claim] = {}
    for batch, recipient, key, claimed_at, channel in rows:
        c = out.setdefault(batch, Claim(batch_id=batch, recipient=recipient, keys=[], claimed_at=claimed_at,
                                        slack_channel=channel))
        c.keys.append(key)
    return list(out.values())


def retake(engine: Engine, stale: Claim, *, now: datetime) -> bool:
    """Take over a stale batch; False when another process got there first."""
    d = AlertDelivery
    with engine.begin() as conn:
        taken = conn.execute(
            update(d).where(d.batch_id == stale.batch_id, d.status == PENDING, d.claimed_at == stale.claimed_at)
            .values(claimed_at=now, attempts=d.attempts + 1)
        ).rowcount
    return bool(taken)


def delivered_keys(engine: Engine, *, recipient: str, keys: list[str]) -> set[str]:
    """Keys this recipient already has (sent, pending, unknown, or failed for good): for dry runs."""
    d = AlertDelivery
    with engine.connect() as conn:
        return set(conn.execute(
            select(d.alert_key).where(d.recipient == recipient, d.alert_key.in_(keys),
                                      ~((d.status == FAILED) & (d.attempts < MAX_ATTEMPTS)))
        ).scalars())


def counts(engine: Engine) -> dict[str, int]:
    d = AlertDelivery
    with engine.connect() as conn:
        return dict(conn.execute(select(d.status, func.count()).group_by(d.status)).all())
