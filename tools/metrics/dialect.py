"""The few SQL expressions that differ between SQLite and PostgreSQL.

Time buckets are returned as sortable text labels that read the same on both
backends: day ``2026-11-15``, week ``2026-11-09`` (the Monday it starts on), month
``2026-11``, quarter ``2026-Q4``, year ``2026``.

On SQLite, datetimes are stored as ISO text (``2026-11-15 12:00:00.000000``), so a
month is a ``substr`` of the stored value: several times faster than ``strftime``
when millions of rows are grouped.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Integer, String, cast, func, literal

TIME_GRAINS = ("day", "week", "month", "quarter", "year")


def time_bucket(column, grain: str, dialect: str):
    if grain not in TIME_GRAINS:
        raise ValueError(grain)
    if dialect == "sqlite":
        if grain == "day":
            return func.substr(column, 1, 10)
        if grain == "week":
            return func.date(func.substr(column, 1, 10), "weekday 0", "-6 days")
        if grain == "month":
            return func.substr(column, 1, 7)
        if grain == "quarter":
            month = cast(func.substr(column, 6, 2), Integer)
            # op("||"): func.substr() has no string type, so "+" would render as arithmetic;
            # op("/") keeps SQLite's integer division (SQLAlchemy's "/" is true division).
            return func.substr(column, 1, 4).op("||")(literal("-Q")).op("||")(cast((month + 2).self_group().op("/")(3), String))
        return func.substr(column, 1, 4)
    fmt = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}
    if grain == "week":
        return func.to_char(func.date_trunc("week", column), "YYYY-MM-DD")
    return func.to_char(column, fmt[grain])


def bucket_of(moment: date | datetime, grain: str) -> str:
    """The label ``time_bucket`` gives a moment, computed in Python (for filling gaps)."""
    d = moment.date() if isinstance(moment, datetime) else moment
    if grain == "day":
        return d.isoformat()
    if grain == "week":
        return (d - timedelta(days=d.weekday())).isoformat()
    if grain == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if grain == "quarter":
        return f"{d.year:04d}-Q{(d.month + 2) // 3}"
    return f"{d.year:04d}"


def bucket_start(moment: date, grain: str) -> date:
    if grain == "day":
        return moment
    if grain == "week":
        return moment - timedelta(days=moment.weekday())
    if grain == "month":
        return moment.replace(day=1)
    if grain == "quarter":
        return date(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1)
    return date(moment.year, 1, 1)


def next_bucket(start: date, grain: str) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if grain == "quarter":
        m = start.month + 3
        return date(start.year + (m - 1) // 12, (m - 1) % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def buckets_between(start: date, end_exclusive: date, grain: str) -> list[str]:
    out, cur = [], bucket_start(start, grain)
    while cur < end_exclusive:
        out.append(bucket_of(cur, grain))
        cur = next_bucket(cur, grain)
    return out


def years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)
