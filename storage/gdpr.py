"""GDPR at the storage layer: every row held about one customer, and their anonymisation.

Export (``collect``) reads the customer's row and tags, every table with a ``customer_id``
column, the lines of their orders, the audit rows that cite them, and every other place
their personal values appear as text (``storage.gdpr_mentions``).

Erasure (``anonymise``) runs inside the caller's transaction and never commits, so a
failure anywhere leaves the database as it was. What it does, table by table, is data in
``RULES`` below, and a table with a ``customer_id`` column that has no rule makes erasure
refuse (``ErasureRefused``) rather than leave that table's rows behind. The choices:

- the customer row stays (orders point at it) but loses every personal field: the name
  becomes "Erased customer #ID"; phone, email, address, social handles, birth date,
  occupation and credit rating become NULL; marketing consent is withdrawn. Kept: city,
  region, country, gender, language, owner, loyalty and ``overdue_amount`` (a receivable
  the business must still collect), so figures by region, owner and tier do not move.
- ``external_id`` is kept: it is the source system's opaque key, the one handle an operator
  has to erase the person there too. If it contains a personal value (a CSV that used the
  email as the key) it is replaced by ``erased:ID``. Note: re-importing a source file that
  still holds the person re-creates their data; clean the source as well.
- interactions are deleted, not blanked: they are free text about the person, and a row
  left behind (even with an "[erased]" body) would be embedded again by ``crm index``.
  Counts of complaints and contacts for this customer go down accordingly.
- orders, order lines, campaign touches, opportunities, loyalty entries, coupons and the
  feature snapshot are kept, so revenue, pipeline and campaign figures do not change;
  their free-text fields (tracking number, deal name, pool-history reason) are blanked.
- every other mention of the person's values in any table is replaced in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import Session as SQLModelSession
from sqlmodel import SQLModel

from storage.audit_query import citing
from storage.errors import StorageError
from storage.gdpr_mentions import (
    ERASED_TEXT,
    Term,
    erased_name,
    find_mentions,
    personal_terms,
    scrub_mentions,
)
from storage.models import AuditEntry, Customer, Order, OrderLine
from storage.models.timeutil import utcnow

__all__ = [
    "CUSTOMER_NULLED",
    "ERASED_TEXT",
    "RULES",
    "ErasureRefused",
    "ErasureReport",
    "Rule",
    "anonymise",
    "audit_rows_citing",
    "collect",
    "customer_tables",
    "erasure_session",
    "erased_name",
    "is_erased",
    "personal_terms",
    "unhandled_tables",
]

# Customer fields erasure sets to NULL (the PII policy's fields, plus occupation).
CUSTOMER_NULLED = ("phone", "email", "address", "social_handles", "birth_date", "occupation", "credit_rating")


class ErasureRefused(StorageError):
    """Erasure cannot run safely (e.g. a table with customer rows has no rule); nothing was changed."""


@dataclass(frozen=True)
class Rule:
    action: Literal["delete", "keep"]
    why: str
    null: tuple[str, ...] = ()
    replace: dict[str, str] = field(default_factory=dict)


RULES: dict[str, Rule] = {
    "customer_tag": Rule("delete", "labels about the person"),
    "interaction": Rule("delete", "free text about the person; a kept row would be re-embedded by `crm index`"),
    "orders": Rule("keep", "revenue and tax records", null=("tracking_number",)),
    "campaign_touch": Rule("keep", "campaign statistics (sends, opens, conversions)"),
    "opportunity": Rule("keep", "pipeline figures", replace={"name": ERASED_TEXT}),
    "pool_history": Rule("keep", "ownership history of the (anonymous) account", null=("reason",)),
    "loyalty_ledger": Rule("keep", "the points balance must still add up"),
    "coupon": Rule("keep", "issued and redeemed discounts tie to kept orders"),
    "customer_features": Rule("keep", "derived numbers; segment counts stay until the next refresh"),
    "alert": Rule("delete", "early warnings about the person; no reported figure depends on them"),
    "churn_score_seen": Rule("delete", "the person's churn-score history, kept only to spot jumps"),
}


def customer_tables() -> list[Table]:
    """Every table with a ``customer_id`` column (the customer's own rows live there)."""
    return [t for t in SQLModel.metadata.sorted_tables if "customer_id" in t.c]


def unhandled_tables() -> list[str]:
    return [t.name for t in customer_tables() if t.name not in RULES]


def is_erased(customer: Customer) -> bool:
    return customer.name == erased_name(customer.id)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(session: Session, stmt) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in session.execute(stmt)]


def audit_rows_citing(customer_id: int):
    """WHERE clause: audit rows whose records name this customer (``"customer:12"``, quotes included)."""
    return citing(f"customer:{int(customer_id)}")


def collect(session: Session, customer: Customer) -> dict[str, Any]:
    """Everything the database holds about one customer, as JSON-ready data.

    ``tables`` maps table name to rows: the customer, each table with a ``customer_id``
    column, their order lines, and the audit rows that cite them or mention their values.
    ``mentions`` lists every other cell that contains one of their values.
    """
    cid = int(customer.id)
    terms = personal_terms(customer)
    tables: dict[str, list[dict[str, Any]]] = {"customer": _rows(session, select(Customer.__table__).where(Customer.id == cid))}
    for table in customer_tables():
        stmt = select(table).where(table.c.customer_id == cid)
        if table.primary_key.columns:
            stmt = stmt.order_by(*table.primary_key.columns)
        tables[table.name] = _rows(session, stmt)
    order_ids = select(Order.id).where(Order.customer_id == cid)
    tables["order_line"] = _rows(session, select(OrderLine.__table__).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id))
    audit = AuditEntry.__table__
    cited = {r["id"]: r for r in _rows(session, select(audit).where(audit_rows_citing(cid)))}
    mentions = []
    own_tables = {t.name: t for t in customer_tables()}
    for mention in find_mentions(session, terms):
        if mention.table == "audit_log":
            row = session.execute(select(audit).where(audit.c.id == mention.key["id"])).one()
            cited.setdefault(row.id, {k: _plain(v) for k, v in row._mapping.items()})
            continue
        if mention.table in own_tables:
            table = own_tables[mention.table]
            owner = session.execute(
                select(table.c.customer_id).where(*[table.c[k] == v for k, v in mention.key.items()])
            ).scalar_one_or_none()
            if owner == cid:
                continue  # already exported with the customer's own rows
        mentions.append({"table": mention.table, "key": {k: _plain(v) for k, v in mention.key.items()},
                         "column": mention.column, "value": mention.value})
    tables["audit_log"] = [cited[k] for k in sorted(cited)]
    return {"tables": tables, "mentions": mentions}


class ErasureReport(BaseModel):
    """What one erasure changed (or, rolled back, would change)."""

    customer_id: int
    was_erased: bool = False
    deleted: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    kept: dict[str, int] = {}
    mentions: dict[str, int] = {}
    customer_fields: list[str] = []
    reindex_interactions: list[int] = []

    @property
    def changed(self) -> bool:
        return bool(self.customer_fields or any(self.deleted.values()) or any(self.anonymised.values())
                    or any(self.mentions.values()))


def _blank_own_rows(session: Session, table: Table, rule: Rule, cid: int, report: ErasureReport) -> None:
    own = table.c.customer_id == cid
    if rule.action == "delete":
        report.deleted[table.name] = session.execute(delete(table).where(own)).rowcount or 0
        return
    report.kept[table.name] = session.execute(select(func.count()).select_from(table).where(own)).scalar_one()
    changed = 0
    for column in rule.null:
        changed += session.execute(update(table).where(own, table.c[column].is_not(None)).values({column: None})).rowcount or 0
    for column, text in rule.replace.items():
        changed += session.execute(update(table).where(own, table.c[column] != text).values({column: text})).rowcount or 0
    if changed:
        report.anonymised[table.name] = changed


def _anonymise_row(session: Session, customer: Customer, terms: list[Term], report: ErasureReport) -> None:
    cid = int(customer.id)
    changes: dict[str, Any] = {}
    if customer.name != erased_name(cid):
        changes["name"] = erased_name(cid)
    for name in CUSTOMER_NULLED:
        if getattr(customer, name) is not None:
            changes[name] = None
    if customer.marketing_consent:
        changes["marketing_consent"] = False
    external = customer.external_id or ""
    if external and any(t.pattern.search(external) or t.text.lower() in external.lower() for t in terms):
        changes["external_id"] = f"erased:{cid}"
    if not changes:
        return
    report.customer_fields = sorted(changes)
    # Past every stored value: caches keyed on max(customer.updated_at) (name lookup, router) must notice.
    latest = session.execute(select(func.max(Customer.updated_at))).scalar_one() or utcnow()
    changes["updated_at"] = max(utcnow(), latest + timedelta(microseconds=1))
    session.execute(update(Customer.__table__).where(Customer.id == cid).values(**changes))


def anonymise(session: Session, customer_id: int) -> ErasureReport:
    """Erase one customer inside the caller's transaction (no commit here); see the module docstring."""
    missing = unhandled_tables()
    if missing:
        raise ErasureRefused(
            f"tables {', '.join(missing)} hold customer rows but storage/gdpr.py has no erasure rule for them; "
            "nothing was changed"
        )
    customer = session.get(Customer, int(customer_id))
    if customer is None:
        raise ErasureRefused(f"no customer with id {customer_id}")
    cid = int(customer.id)
    report = ErasureReport(customer_id=cid, was_erased=is_erased(customer))
    terms = personal_terms(customer)
    session.flush()
    _anonymise_row(session, customer, terms, report)
    for table in customer_tables():
        _blank_own_rows(session, table, RULES[table.name], cid, report)
    report.mentions, report.reindex_interactions = scrub_mentions(session, terms, now=utcnow())
    session.expire_all()  # the ORM copies predate the Core updates above
    return report


@contextmanager
def erasure_session(engine: Engine) -> Iterator[SQLModelSession]:
    """A session on its own connection. The caller commits or rolls back.

    On SQLite the connection runs with ``secure_delete`` (freed space is overwritten with
    zeros, so deleted notes and old names do not linger in free pages), and after the
    session the write-ahead log is checkpointed and truncated, so old page images leave it.
    PostgreSQL keeps dead row versions until VACUUM reclaims them; nothing here can force
    that inside a transaction (see the report of ``tools.gdpr``).
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
            conn.commit()
        try:
            with SQLModelSession(bind=conn) as session:
                yield session
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA secure_delete=OFF")
                # Best effort: a busy reader only delays the truncation to a later checkpoint.
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.commit()
