"""`tools.gdpr.export_customer`: every table with a customer_id, mentions elsewhere, atomic file, audited."""

from __future__ import annotations

import json
import stat

import pytest
from _gdpr_data import EMAIL, NAME, PHONE, seed
from sqlmodel import Session, SQLModel, select

from storage.gdpr import RULES, customer_tables
from storage.models import AuditEntry, Customer
from tools.context import ToolContext
from tools.errors import Ambiguous, NotFound, PermissionDenied
from tools.gdpr import export_customer


@pytest.fixture
def crm(database_url):
    return seed(database_url)


def admin(crm) -> ToolContext:
    return ToolContext.for_email("admin@gdpr.test", database_url=crm.url)


def test_every_table_with_a_customer_id_is_exported_and_has_an_erasure_rule(crm, tmp_path):
    """Walks the data model: a new table with customer_id fails here until export, erase and this seed handle it."""
    with_customer_id = {t.name for t in SQLModel.metadata.sorted_tables if "customer_id" in t.c}
    assert with_customer_id == {t.name for t in customer_tables()}
    assert with_customer_id >= {"customer_tag", "orders", "interaction", "campaign_touch", "opportunity",
                                "pool_history", "loyalty_ledger", "coupon", "customer_features"}
    assert with_customer_id - set(RULES) == set(), "add an erasure rule to storage/gdpr.py RULES"
    doc = export_customer(admin(crm), customer=crm.target, out=tmp_path / "x.json").document
    tables = doc["tables"]
    for name in sorted(with_customer_id):
        assert name in tables, name
        assert tables[name], f"{name}: no rows exported; give the target rows there in tests/trust/_gdpr_data.py"
        assert {r["customer_id"] for r in tables[name]} == {crm.target}, name


def test_export_holds_the_customer_their_orders_lines_notes_audit_and_mentions(crm, tmp_path):
    out = tmp_path / "exports" / "zelda.json"
    result = export_customer(admin(crm), customer=NAME, out=out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "crm-gdpr-export/1" and doc["customer_id"] == crm.target
    t = doc["tables"]
    assert t["customer"][0]["phone"] == PHONE and t["customer"][0]["email"] == EMAIL
    assert {r["tag"] for r in t["customer_tag"]} == {"glass-artist", "vip"}
    assert {r["external_id"] for r in t["orders"]} == {"SO-Z1", "SO-Z2"}
    assert len(t["order_line"]) == 2 and {r["order_id"] for r in t["order_line"]} == {r["id"] for r in t["orders"]}
    assert any(PHONE in r["body"] for r in t["interaction"])  # bodies included
    # Audit rows citing the customer, or mentioning their name or email; not the row about someone else.
    audit = t["audit_log"]
    assert {r["tool"] for r in audit} == {None, "customer_profile", "find_customers"}
    assert all("Bruno Aldane" not in json.dumps(r) for r in audit)
    # Mentions in other people's rows: Bruno's note, the web chat, the pending write, the demo truth.
    where = {(m["table"], m["column"]) for m in doc["mentions"]}
    assert {("interaction", "body"), ("web_message", "question"), ("web_message", "reply"), ("web_thread", "title"),
            ("web_pending_write", "summary"), ("demo_truth", "detail")} <= where
    assert all(m["value"] != "" for m in doc["mentions"])
    assert "vector_store" in doc and doc["vector_store"]["status"] in ("no index", "ok")
    assert result.rows["orders"] == 2 and result.path == str(out)
    # Personal data: owner-readable only, and no temp file left behind.
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["zelda.json"]


def test_export_is_audited_without_personal_values(crm):
    result = export_customer(admin(crm), customer="C-GDPR-1")  # no file: the web download
    assert result.path is None and result.document["customer_id"] == crm.target
    with Session(crm.engine) as s:
        row = s.exec(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert row.user_id == crm.staff["admin"] and row.records == [f"customer:{crm.target}"]
    assert row.arguments["sha256"] == result.sha256 and row.arguments["rows"]["orders"] == 2
    assert NAME not in json.dumps(row.arguments) and EMAIL not in json.dumps(row.arguments)


def test_failed_audit_leaves_no_file(crm, tmp_path, monkeypatch):
    import tools.gdpr as gdpr

    def broken(*_a, **_k):
        raise RuntimeError("audit down")

    monkeypatch.setattr(gdpr, "_commit_audit", broken)
    out = tmp_path / "exports" / "never.json"
    with pytest.raises(RuntimeError):
        export_customer(admin(crm), customer=crm.target, out=out)
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("email", ["rita@gdpr.test", "sue@gdpr.test"])
def test_non_admins_are_refused(crm, tmp_path, email):
    ctx = ToolContext.for_email(email, database_url=crm.url)
    with pytest.raises(PermissionDenied):
        export_customer(ctx, customer=crm.target, out=tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_customer_by_id_external_id_or_exact_name_only(crm):
    ctx = admin(crm)
    assert export_customer(ctx, customer=str(crm.target)).customer_id == crm.target
    assert export_customer(ctx, customer="zelda quorvin").customer_id == crm.target  # case-insensitive, exact
    with pytest.raises(NotFound):
        export_customer(ctx, customer="Zelda Quorv")  # fuzzy matches are not enough for a GDPR request
    with Session(crm.engine) as s:
        s.add(Customer(name=NAME, city="Bath"))
        s.commit()
    with pytest.raises(Ambiguous) as err:
        export_customer(ctx, customer=NAME)
    assert len(err.value.candidates) == 2 and "C-GDPR-1" in (err.value.candidates[0].detail or "")
