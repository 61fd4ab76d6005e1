"""A small CRM for the GDPR tests (not collected): one customer to export and erase, with rows in
every table that has a ``customer_id`` column and mentions of their values in free text elsewhere,
plus a namesake and another customer whose note mentions them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from storage.db import engine_for
from storage.models import (
    NON_REVENUE_STATUSES,
    AuditEntry,
    Campaign,
    CampaignTouch,
    Coupon,
    Customer,
    CustomerFeatures,
    CustomerTag,
    DemoTruth,
    Interaction,
    LoyaltyEntry,
    Opportunity,
    Order,
    OrderLine,
    PoolHistory,
    Product,
    StaffUser,
    WebMessage,
    WebPendingWrite,
    WebThread,
)

NOW = datetime(2026, 11, 15, 12, 0)

NAME = "Zelda Quorvin"
PHONE = "+44 7700 900123"
EMAIL = "zelda.quorvin@example.org"
ADDRESS = "12 Marrowbone Lane, Leeds LS1 4QQ"
HANDLE = "@zquorvin_glass"
NAMESAKE = "Zelda Quorvinson"  # contains NAME: must survive the erasure untouched
# Every value that must be gone after the erasure.
PERSONAL = (NAME, PHONE, "447700900123", EMAIL, ADDRESS, HANDLE, "Glassblower")


@dataclass
class GdprCrm:
    url: str
    staff: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    interactions: dict[str, int] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)

    @property
    def target(self) -> int:
        return self.customers["zelda"]


def _order(s: Session, customer_id: int, product: Product, *, ext: str, status: str, qty: int, price: float,
           tracking: str | None = None) -> Order:
    order = Order(external_id=ext, customer_id=customer_id, ordered_at=datetime(2026, 9, 1), status=status,
                  tracking_number=tracking, carrier="DHL" if tracking else None)
    s.add(order)
    s.flush()
    amount = round(qty * price, 2)
    s.add(OrderLine(order_id=order.id, product_id=product.id, quantity=qty, unit_price=price, amount=amount))
    order.total_amount = amount
    s.add(order)
    return order


def seed(url: str) -> GdprCrm:
    """Fill a migrated, empty database (SQLite or Postgres)."""
    crm = GdprCrm(url=url)
    with Session(engine_for(url)) as s:
        staff = {
            "admin": StaffUser(name="Ada Admin", email="admin@gdpr.test", role="admin"),
            "rep": StaffUser(name="Rita Rep", email="rita@gdpr.test", role="rep", team="north"),
            "support": StaffUser(name="Sue Support", email="sue@gdpr.test", role="support"),
        }
        s.add_all(staff.values())
        s.flush()
        crm.staff = {k: v.id for k, v in staff.items()}
        rep = staff["rep"].id
        zelda = Customer(external_id="C-GDPR-1", name=NAME, phone=PHONE, email=EMAIL, address=ADDRESS,
                         social_handles={"twitter": HANDLE}, birth_date=date(1984, 3, 9), occupation="Glassblower",
                         gender="F", country="United Kingdom", region="UK", city="Leeds", owner_id=rep,
                         credit_rating="B", overdue_amount=40.0, loyalty_points=120, loyalty_tier="silver",
                         marketing_consent=True, language="en")
        namesake = Customer(external_id="C-GDPR-2", name=NAMESAKE, phone="+44 7700 900999", email="zq2@example.org",
                            region="UK", city="York", owner_id=rep)
        bruno = Customer(external_id="C-GDPR-3", name="Bruno Aldane", region="UK", city="Leeds", owner_id=None)
        s.add_all([zelda, namesake, bruno])
        s.flush()
        crm.customers = {"zelda": zelda.id, "namesake": namesake.id, "bruno": bruno.id}
        kiln = Product(sku="KILN-1", name="Studio kiln", category="Tools", list_price=500.0)
        s.add(kiln)
        campaign = Campaign(name="Autumn glass", channel="email", starts_on=date(2026, 9, 1))
        s.add(campaign)
        s.flush()
        paid = _order(s, zelda.id, kiln, ext="SO-Z1", status="delivered", qty=1, price=480.0, tracking="TRK-ZQ-77881")
        _order(s, zelda.id, kiln, ext="SO-Z2", status="returned", qty=1, price=500.0)
        _order(s, namesake.id, kiln, ext="SO-N1", status="paid", qty=2, price=450.0)
        _order(s, bruno.id, kiln, ext="SO-B1", status="paid", qty=1, price=500.0)
        s.add_all([CustomerTag(customer_id=zelda.id, tag="glass-artist"), CustomerTag(customer_id=zelda.id, tag="vip")])
        notes = {
            "z1": Interaction(external_id="INT-Z1", customer_id=zelda.id, staff_id=rep, channel="phone", kind="call",
                              subject="Delivery address", occurred_at=datetime(2026, 10, 2),
                              body=f"{NAME} asked us to ship the kiln to {ADDRESS}; call back on {PHONE}."),
            "z2": Interaction(external_id="INT-Z2", customer_id=zelda.id, staff_id=rep, channel="email",
                              kind="complaint", occurred_at=datetime(2026, 10, 20), sentiment=-0.6,
                              body="The kiln door hinge arrived bent; she wants a replacement part quickly."),
            "b1": Interaction(external_id="INT-B1", customer_id=bruno.id, staff_id=rep, channel="visit", kind="visit",
                              occurred_at=datetime(2026, 10, 5),
                              body=f"Bruno was referred by {NAME} ({EMAIL}); interested in a smaller kiln."),
            "n1": Interaction(external_id="INT-N1", customer_id=namesake.id, staff_id=rep, channel="chat", kind="note",
                              occurred_at=datetime(2026, 10, 6), body=f"{NAMESAKE} asked about glazing courses."),
        }
        s.add_all(notes.values())
        s.add(CampaignTouch(campaign_id=campaign.id, customer_id=zelda.id, sent_at=datetime(2026, 9, 2), opened=True,
                            converted=True, attributed_revenue=480.0))
        s.add(Opportunity(customer_id=zelda.id, owner_id=rep, name=f"{NAME} - second kiln", stage="proposal",
                          amount=900.0, probability=0.5, created_at=datetime(2026, 10, 1)))
        s.add(PoolHistory(customer_id=zelda.id, action="claim", to_owner_id=rep, by_user_id=rep, at=datetime(2026, 8, 1),
                          reason=f"{NAME} called from {PHONE} asking for a rep"))
        s.add(LoyaltyEntry(customer_id=zelda.id, points=120, reason="Purchase", order_id=paid.id, at=datetime(2026, 9, 1)))
        s.add(Coupon(code="ZQ-WELCOME", customer_id=zelda.id, campaign_id=campaign.id, discount=0.1,
                     issued_at=datetime(2026, 9, 2)))
        s.add(CustomerFeatures(customer_id=zelda.id, computed_at=NOW, data_fingerprint="x", lifetime_spend=480.0,
                               lifetime_orders=1, rfm_segment="Champions", churn_probability=0.2))
        _alerts(s, zelda.id, rep)
        cid = zelda.id
        s.add_all([
            AuditEntry(at=NOW, user_id=rep, channel="web", action="question", question=f"what did {NAME} buy?",
                       arguments={"thread_id": "t-1"}, outcome="ok"),
            AuditEntry(at=NOW, user_id=rep, channel="web", action="tool_call", tool="customer_profile",
                       arguments={"customer": NAME}, records=[f"customer:{cid}"], outcome="ok"),
            AuditEntry(at=NOW, user_id=rep, channel="cli", action="tool_call", tool="find_customers",
                       arguments={"name": EMAIL}, records=[], outcome="ok"),
            AuditEntry(at=NOW, user_id=rep, channel="cli", action="tool_call", tool="customer_profile",
                       arguments={"customer": "Bruno Aldane"}, records=[f"customer:{cid + 100}"], outcome="ok"),
        ])
        s.add(DemoTruth(kind="quiet_vip", subject_id=cid, detail={"name": NAME, "note": "planted"}))
        thread = WebThread(id="t-1", user_id=rep, title=f"what did {NAME} buy?")
        s.add(thread)
        s.flush()
        s.add(WebMessage(thread_id="t-1", question=f"what did {NAME} buy?",
                         reply={"text": f"{NAME} ({PHONE}) bought a studio kiln.", "rows": [[NAME, EMAIL]]}))
        s.add(WebPendingWrite(id="w-1", user_id=rep, thread_id="t-1", tool="log_interaction",
                              arguments={"customer": NAME, "body": f"Call {PHONE}"},
                              summary=f"Log a call with {NAME}"))
        s.commit()
        crm.interactions = {k: v.id for k, v in notes.items()}
    return crm


def _alerts(s: Session, customer_id: int, owner_id: int) -> None:
    """Rows in the alert tables (helper "alerts"), when their models exist in this checkout."""
    try:
        from storage.models.alerts import AlertRecord, ChurnScoreSeen
    except ImportError:
        return
    s.add(AlertRecord(key=f"vip_quiet:{customer_id}:2026-11", kind="vip_quiet", customer_id=customer_id,
                      owner_id=owner_id, severity="high", period="2026-11", numbers={"days_quiet": 40}))
    s.add(ChurnScoreSeen(customer_id=customer_id, probability=0.2, bucket="2026-W46", seen_at=NOW))


# --- checks ---------------------------------------------------------------------------------


def text_cells(engine: Engine):
    """(table, column, text) for every string and JSON cell of every table (JSON as unescaped text)."""
    from storage.gdpr_mentions import text_columns

    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = text_columns(table)
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    yield table.name, column.name, text


def leftovers(engine: Engine, values=PERSONAL) -> list[tuple[str, str, str]]:
    """Cells that still contain one of ``values`` (the namesake's own name excepted)."""
    found = []
    for table, column, text in text_cells(engine):
        cleaned = text.replace(NAMESAKE, "")
        for value in values:
            if value.lower() in cleaned.lower():
                found.append((table, column, value))
    return found


def revenue(engine: Engine) -> dict[str, float]:
    with engine.connect() as conn:
        total = conn.execute(select(func.sum(Order.total_amount)).where(Order.status.not_in(NON_REVENUE_STATUSES))).scalar()
        by_region = conn.execute(
            select(Customer.region, func.sum(Order.total_amount)).join(Customer, Customer.id == Order.customer_id)
            .where(Order.status.not_in(NON_REVENUE_STATUSES)).group_by(Customer.region)
        ).all()
        lines = conn.execute(select(func.sum(OrderLine.amount))).scalar()
        orders = conn.execute(select(func.count(Order.id))).scalar()
    return {"total": round(total, 2), "lines": round(lines, 2), "orders": orders,
            **{f"region:{r}": round(v, 2) for r, v in by_region}}


def dump(engine: Engine) -> dict[str, list]:
    """Every row of every table, for before/after comparisons."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return out
