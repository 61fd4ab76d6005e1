"""`crm gdpr export|erase` (CliRunner) and the web admin endpoints (TestClient)."""

from __future__ import annotations

import hashlib
import json

import pytest
from _gdpr_data import EMAIL, NAME, PHONE, leftovers, seed
from sqlmodel import Session, select
from typer.testing import CliRunner

from storage.models import AuditEntry, Customer, StaffUser

PASSWORD = "correct horse battery"
SECRET = "test-secret-" + "0123456789abcdef" * 3


@pytest.fixture
def crm(sqlite_url):
    from storage.passwords import hash_password

    crm = seed(sqlite_url)
    stored = hash_password(PASSWORD)
    with Session(crm.engine) as s:
        for user in s.exec(select(StaffUser)).all():
            user.password_hash = stored
            s.add(user)
        s.commit()
    return crm


def cli(*args: str, **kwargs):
    from integrations.cli.app import app

    return CliRunner().invoke(app, ["gdpr", *args], **kwargs)


def test_cli_export_writes_the_file_and_reports(crm, tmp_path):
    out = tmp_path / "zelda.json"
    result = cli("export", NAME, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "audit log" in result.output
    assert json.loads(out.read_text())["tables"]["customer"][0]["email"] == EMAIL


def test_cli_export_default_file_name_uses_the_id(crm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("export", "C-GDPR-1", "--json")
    assert result.exit_code == 0, result.output
    files = list(tmp_path.glob(f"gdpr-export-customer-{crm.target}-*.json"))
    assert len(files) == 1 and json.loads(result.output)["path"] == files[0].name


def test_cli_errors_are_one_clean_line(crm):
    with Session(crm.engine) as s:
        s.add(Customer(name=NAME, city="Bath"))
        s.commit()
    ambiguous = cli("export", NAME)
    assert ambiguous.exit_code == 1 and "Traceback" not in ambiguous.output
    assert "2 customers are named" in ambiguous.output and "C-GDPR-1" in ambiguous.output
    missing = cli("erase", "Nobody Here", "--yes")
    assert missing.exit_code == 1 and "no customer with id, external id or exact name" in missing.output
    rep = cli("export", "C-GDPR-1", "--as", "rita@gdpr.test")
    assert rep.exit_code == 1 and "for admins" in rep.output
    unknown = cli("erase", "C-GDPR-1", "--as", "nobody@gdpr.test")
    assert unknown.exit_code == 1 and "no active staff user" in unknown.output


def test_cli_erase_needs_yes_or_a_prompt(crm, monkeypatch):
    import integrations.cli.gdpr_command as command

    refused = cli("erase", "C-GDPR-1")  # no terminal: no prompt, no erasure
    assert refused.exit_code == 2 and "--yes" in refused.output
    monkeypatch.setattr(command, "_interactive", lambda: True)
    declined = cli("erase", "C-GDPR-1", input="n\n")
    assert declined.exit_code == 1 and "would delete 2 rows" in declined.output and "cancelled" in declined.output
    assert leftovers(crm.engine)
    accepted = cli("erase", "C-GDPR-1", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "erased" in accepted.output and leftovers(crm.engine) == []


def test_cli_erase_yes_then_again_is_a_no_op(crm):
    first = cli("erase", NAME, "--yes", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["deleted"]["interaction"] == 2
    again = cli("erase", str(crm.target), "--yes")
    assert again.exit_code == 0 and "already erased" in again.output


@pytest.fixture
def web(crm, crm_home):
    from fastapi.testclient import TestClient

    from integrations.web import WebSettings, create_app

    app = create_app(database_url=crm.url, settings=WebSettings(secret=SECRET, now="2026-11-15"), home=crm_home,
                     warm=False)
    with TestClient(app) as client:
        yield client


def login(client, email: str) -> None:
    client.cookies.clear()
    response = client.post("/api/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text


def test_web_export_is_an_admin_download(crm, web):
    path = f"/api/gdpr/customers/{crm.target}/export"
    assert web.get(path).status_code == 401
    login(web, "rita@gdpr.test")
    assert web.get(path).status_code == 403  # her own customer, still not hers to export
    login(web, "admin@gdpr.test")
    response = web.get(path)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="gdpr-export-customer-{crm.target}.json"'
    assert response.headers["cache-control"] == "no-store"
    assert hashlib.sha256(response.content).hexdigest() == response.headers["x-content-sha256"]
    assert response.json()["tables"]["customer"][0]["phone"] == PHONE
    assert web.get("/api/gdpr/customers/999999/export").status_code == 404
    with Session(crm.engine) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.channel == "web" and entry.user_id == crm.staff["admin"]


def test_web_erase_needs_an_explicit_confirm(crm, web):
    path = f"/api/gdpr/customers/{crm.target}/erase"
    login(web, "sue@gdpr.test")
    assert web.post(path, json={"confirm": True}).status_code == 403
    login(web, "admin@gdpr.test")
    assert web.post(path, json={}).status_code == 422
    preview = web.post(path, json={"confirm": False})
    assert preview.status_code == 200 and preview.json()["erased"] is False and preview.json()["dry_run"] is True
    assert leftovers(crm.engine)
    done = web.post(path, json={"confirm": True})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["erased"] is True and body["complete"] is True and body["deleted"]["interaction"] == 2
    assert leftovers(crm.engine) == []
    again = web.post(path, json={"confirm": True}).json()
    assert again["erased"] is False and again["already_erased"] is True
    with Session(crm.engine) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.tool == "gdpr.erase")).one()
    assert entry.channel == "web" and entry.user_id == crm.staff["admin"]
