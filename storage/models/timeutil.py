from datetime import UTC, datetime


def utcnow() -> datetime:
    # Naive UTC: SQLite has no time zones, and mixing aware and naive values breaks comparisons.
    return datetime.now(UTC).replace(tzinfo=None)
