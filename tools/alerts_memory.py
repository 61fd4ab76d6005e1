"""What alerts remember between runs: churn scores last seen, and the alerts already detected.

Churn memory keeps two values per customer: the score seen in the current ISO week (updated on
every run of that week) and the last score of an earlier week. The baseline for a jump is always
the earlier week's, so running the alerts twice on one day (a preview, then the scheduled send)
finds the same jump twice, under the same key, instead of eating it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.models import AlertRecord, ChurnScoreSeen
from tools.alerts_rules import Finding

log = logging.getLogger(__name__)
_CHUNK = 5000


def churn_baselines(engine: Engine, ids: list[int], *, bucket: str) -> dict[int, tuple[float, str]]:
    """customer -> (score, ISO week) last seen in a week before ``bucket``; customers never seen are absent."""
    out: dict[int, tuple[float, str]] = {}
    s = ChurnScoreSeen
    with engine.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            rows = conn.execute(
                select(s.customer_id, s.probability, s.bucket, s.previous_probability, s.previous_bucket)
                .where(s.customer_id.in_(ids[i : i + _CHUNK]))
            ).all()
            for cid, prob, seen_bucket, prev, prev_bucket in rows:
                if seen_bucket != bucket:
                    out[cid] = (float(prob), seen_bucket)
                elif prev is not None:
                    out[cid] = (float(prev), prev_bucket)
    return out


def record_churn_scores(engine: Engine, scores: dict[int, float], *, bucket: str, now: datetime) -> int:
    """Remember this week's scores; a score from an earlier week moves to ``previous``. Returns rows written."""
    ids = sorted(scores)
    try:
        with Session(engine) as session:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                seen = {r.customer_id: r for r in session.exec(
                    select(ChurnScoreSeen).where(ChurnScoreSeen.customer_id.in_(chunk))).scalars()}
                for cid in chunk:
                    row = seen.get(cid)
                    if row is None:
                        session.add(ChurnScoreSeen(customer_id=cid, probability=scores[cid], bucket=bucket, seen_at=now))
                        continue
                    if row.bucket != bucket:
                        row.previous_probability, row.previous_bucket = row.probability, row.bucket
                    row.probability, row.bucket, row.seen_at = scores[cid], bucket, now
            session.commit()
    except IntegrityError:
        # Another run recorded the same customers a moment ago; its values are as good as ours.
        log.info("churn scores were recorded concurrently; keeping the other run's")
        return 0
    return len(ids)


def record_alerts(engine: Engine, findings: list[tuple[Finding, int | None]], *, now: datetime) -> dict[str, datetime]:
    """Upsert detected alerts [(finding, owner id)]; returns key -> first seen."""
    keys = [f.key for f, _ in findings]
    first: dict[str, datetime] = {}
    try:
        with Session(engine) as session:
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                known = {r.key: r for r in session.exec(select(AlertRecord).where(AlertRecord.key.in_(chunk))).scalars()}
                for finding, owner in findings[i : i + _CHUNK]:
                    row = known.get(finding.key)
                    if row is None:
                        row = AlertRecord(key=finding.key, kind=finding.kind, customer_id=finding.customer_id,
                                          owner_id=owner, severity=finding.severity, period=finding.period,
                                          numbers=finding.numbers, first_seen_at=now, last_seen_at=now)
                        session.add(row)
                    else:
                        row.owner_id, row.severity, row.numbers = owner, finding.severity, dict(finding.numbers)
                        row.last_seen_at = max(row.last_seen_at, now)
                    first[finding.key] = row.first_seen_at
            session.commit()
    except IntegrityError:
        log.info("alerts were recorded concurrently; reading the other run's rows")
        return first_seen(engine, keys)
    return first


def first_seen(engine: Engine, keys: list[str]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    with engine.connect() as conn:
        for i in range(0, len(keys), _CHUNK):
            out.update(conn.execute(select(AlertRecord.key, AlertRecord.first_seen_at)
                                    .where(AlertRecord.key.in_(keys[i : i + _CHUNK]))).all())
    return out


def recorded_since(engine: Engine, *, since: datetime) -> list[AlertRecord]:
    """Alerts seen at or after ``since`` (the digest's window), oldest first."""
    with Session(engine) as session:
        rows = session.exec(select(AlertRecord).where(AlertRecord.last_seen_at >= since)
                            .order_by(AlertRecord.first_seen_at, AlertRecord.key)).scalars().all()
        for row in rows:
            session.expunge(row)
        return list(rows)
