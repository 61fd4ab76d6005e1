"""A small CRM for the PII tests (not collected: no test_ prefix).

Two teams, one of each role, and four customers with every kind of personal data:
``own`` (Rita's, team East), ``mate`` (Ed's, also East), ``pool`` (公海) and ``west``
(Wes's, team West). A note for ``own`` carries a phone number and an e-mail address in
free text. Every staff user gets PASSWORD so the web tests can sign in.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from storage.db import engine_for
from storage.models import Customer, Interaction, StaffUser

NOW = datetime(2026, 11, 15, 12, 0)
TODAY_TEXT = "2026-11-15"
PASSWORD = "correct horse battery"
NOTE = "call me at 13800138000 or a@b.com"

STAFF = {
    "admin": ("Ada Admin", "admin@pii.crm", "admin", None, False),
    "support": ("Sue Support", "support@pii.crm", "support", None, False),
    "manager": ("Mo Manager", "mgr.east@pii.crm", "manager", "East", False),
    "head": ("Hal Head", "head@pii.crm", "manager", "HQ", True),
    "rep": ("Rita Rep", "rita@pii.crm", "rep", "East", False),
    "mate_rep": ("Ed East", "ed@pii.crm", "rep", "East", False),
    "west_rep": ("Wes West", "wes@pii.crm", "rep", "West", False),
}

# key -> (name, owner key or None, personal data)
CUSTOMERS = {
    "own": ("Olive Owned", "rep", {
        "phone": "+86 138 0013 8001", "email": "olive.owned@example.com", "address": "88 Nanjing Road, Huangpu",
        "social_handles": {"wechat": "olive_wx88"}, "birth_date": date(1985, 4, 12), "credit_rating": "A",
        "overdue_amount": 120.5, "city": "Shanghai"}),
    "mate": ("Mark Mate", "mate_rep", {
        "phone": "13900139002", "email": "mark.mate@example.org", "address": "12 Century Avenue, Pudong",
        "social_handles": {"weibo": "@markmate"}, "birth_date": date(1979, 9, 30), "credit_rating": "B",
        "overdue_amount": 0.0, "city": "Shanghai"}),
    "pool": ("Pia Pool", None, {
        "phone": "+1-415-555-0199", "email": "pia.pool@example.net", "address": "500 Market Street, Apt 7",
        "social_handles": {"instagram": "pia.pool.sf"}, "birth_date": date(1992, 2, 3), "credit_rating": "C",
        "overdue_amount": 75.25, "city": "San Francisco"}),
    "west": ("Walt West", "west_rep", {
        "phone": "+44 20 7946 0958", "email": "walt.west@example.co.uk", "address": "221B Baker Street, Marylebone",
        "social_handles": {"twitter": "@waltwest"}, "birth_date": date(1968, 12, 24), "credit_rating": "D",
        "overdue_amount": 980.0, "city": "London"}),
}


def all_values() -> list[str]:
    """Every phone, e-mail, address and social handle of every customer, raw (the strings that must not leak)."""
    out = [NOTE.split()[3], NOTE.split()[-1]]
    for _, _, data in CUSTOMERS.values():
        out += [data["phone"], data["email"], data["address"], *data["social_handles"].values()]
    return out


def seed(url: str, *, passwords: bool = False) -> dict[str, dict[str, int]]:
    """Fill a migrated, empty database; returns {"staff": key -> id, "customers": key -> id}."""
    stored = None
    if passwords:
        from storage.passwords import hash_password

        stored = hash_password(PASSWORD)
    with Session(engine_for(url)) as s:
        staff = {}
        for key, (name, email, role, team, head) in STAFF.items():
            staff[key] = StaffUser(name=name, email=email, role=role, team=team, is_head_of_sales=head,
                                   password_hash=stored)
        s.add_all(staff.values())
        s.flush()
        customers = {}
        for n, (key, (name, owner, data)) in enumerate(CUSTOMERS.items()):
            customers[key] = Customer(external_id=f"P{n + 1:04d}", name=name, gender="F" if n % 2 else "M",
                                      owner_id=staff[owner].id if owner else None, country="X", loyalty_tier="gold",
                                      **data)
        s.add_all(customers.values())
        s.flush()
        s.add(Interaction(customer_id=customers["own"].id, staff_id=staff["rep"].id, channel="phone", kind="note",
                          subject="Callback request", body=NOTE, occurred_at=datetime(2026, 11, 10, 9, 30)))
        s.commit()
        return {"staff": {k: v.id for k, v in staff.items()}, "customers": {k: v.id for k, v in customers.items()}}
