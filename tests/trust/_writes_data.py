"""A tiny CRM for the confirmed-writes tests (not collected), plus readers for owners, pool history and audit rows.

Staff: an admin, a head of sales, an East manager, reps rep1 and rep2 (East) and rep3 (West).
Customers: five in the public pool (C000001-C000005), two of rep1's (C000011-12), one of rep2's
(C000021) and one of rep3's (C000031).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from storage.db import engine_for
from storage.models import AuditEntry, Customer, PoolHistory, StaffUser

NOW = datetime(2026, 11, 15, 12, 0)
INTEGRATIONS_TESTS = Path(__file__).resolve().parents[1] / "integrations"


def use_integration_helpers() -> None:
    """Make tests/integrations' helpers (fake Slack, live web server) importable from tests/trust."""
    if str(INTEGRATIONS_TESTS) not in sys.path:
        sys.path.insert(0, str(INTEGRATIONS_TESTS))


def seed(url: str) -> dict[str, int]:
    """Fill a migrated, empty database; returns ids by short name (staff and customers)."""
    with Session(engine_for(url)) as s:
        staff = {
            "admin": StaffUser(name="Ada Admin", email="admin@w.crm", role="admin"),
            "head": StaffUser(name="Hank Head", email="head@w.crm", role="manager", team="East", is_head_of_sales=True),
            "mgr": StaffUser(name="Meg East", email="mgr@w.crm", role="manager", team="East"),
            "rep1": StaffUser(name="Li Lei", email="rep1@w.crm", role="rep", team="East"),
            "rep2": StaffUser(name="Han Meimei", email="rep2@w.crm", role="rep", team="East"),
            "rep3": StaffUser(name="Bob West", email="rep3@w.crm", role="rep", team="West"),
        }
        s.add_all(staff.values())
        s.flush()
        ids = {k: v.id for k, v in staff.items()}
        rows = [(f"pool{i}", f"Pool Customer {i}", f"C00000{i}", None) for i in range(1, 6)]
        rows += [("own1", "Acme Trading", "C000011", ids["rep1"]), ("own2", "Bolt Retail", "C000012", ids["rep1"]),
                 ("rep2cust", "Cedar Foods", "C000021", ids["rep2"]), ("west", "Delta West", "C000031", ids["rep3"])]
        customers = {key: Customer(name=name, external_id=ext, owner_id=owner, city="Shanghai", created_at=NOW,
                                   updated_at=NOW) for key, name, ext, owner in rows}
        s.add_all(customers.values())
        s.flush()
        ids.update({k: c.id for k, c in customers.items()})
        s.commit()
    return ids


def owner_of(url: str, customer_id: int) -> int | None:
    with Session(engine_for(url)) as s:
        return s.get(Customer, customer_id).owner_id


def pool_history(url: str, customer_id: int) -> list[PoolHistory]:
    with Session(engine_for(url)) as s:
        return list(s.exec(select(PoolHistory).where(PoolHistory.customer_id == customer_id)
                           .order_by(PoolHistory.id)).all())


def write_audits(url: str, *, tool: str = "assign_customer") -> list[AuditEntry]:
    with Session(engine_for(url)) as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.action == "write", AuditEntry.tool == tool)
                           .order_by(AuditEntry.id)).all())
