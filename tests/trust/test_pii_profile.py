"""PII masking by role: the profile shows exactly the policy, for each role x (own / pool / other-team) customer.

The expectations are written out here as literals (masked strings included), not derived
from ``tools.pii.POLICY``, so a change to the policy table has to change this file too.
Every rendering is checked: the card, the table (terminal text, prompt, Slack blocks),
``to_json()``, ``crm tool customer_profile --json`` and the web's ``/api/customers/{id}``.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from _pii_data import CUSTOMERS, NOW, STAFF, TODAY_TEXT, seed
from typer.testing import CliRunner

from tools import NotFound, ToolContext
from tools.pii import POLICY, mask_customer_fields, mask_email, mask_phone, visible_fields
from tools.profile import CustomerProfileParams, customer_profile

MASKED = {
    "own": {"phone": "+** *** **** 8001", "email": "o***@example.com", "social_handles": {"wechat": "o***"}},
    "mate": {"phone": "*******9002", "email": "m***@example.org", "social_handles": {"weibo": "@m***"}},
    "pool": {"phone": "+*-***-***-0199", "email": "p***@example.net", "social_handles": {"instagram": "p***"}},
    "west": {"phone": "+** ** **** 0958", "email": "w***@example.co.uk", "social_handles": {"twitter": "@w***"}},
}
AGES = {"own": (41, "40-49"), "mate": (47, "40-49"), "pool": (34, "30-39"), "west": (57, "50-59")}

# What each audience sees: "full", "masked" or None (removed), per field.
SEES = {
    "full": {"phone": "full", "email": "full", "address": "full", "social_handles": "full", "age": "full",
             "credit": "full"},
    "support": {"phone": "full", "email": "full", "address": "full", "social_handles": "masked", "age": "full",
                "credit": None},
    "rep_pool": {"phone": "masked", "email": "masked", "address": None, "social_handles": None, "age": None,
                 "credit": None},
    "manager": {"phone": "masked", "email": "masked", "address": None, "social_handles": None, "age": None,
                "credit": "full"},
}
NOT_SHOWN_IN_FULL = {
    "full": [],
    "support": ["social_handles", "birth_date", "credit_rating", "overdue_amount"],
    "rep_pool": ["phone", "email", "address", "social_handles", "birth_date", "credit_rating", "overdue_amount"],
    "manager": ["phone", "email", "address", "social_handles", "birth_date"],
}
# (who asks, which customer) -> what they see, or NotFound when the customer is outside their scope.
CASES = {
    ("admin", "own"): "full", ("admin", "mate"): "full", ("admin", "pool"): "full", ("admin", "west"): "full",
    ("support", "own"): "support", ("support", "pool"): "support", ("support", "west"): "support",
    ("rep", "own"): "full", ("rep", "pool"): "rep_pool", ("rep", "mate"): NotFound, ("rep", "west"): NotFound,
    ("manager", "own"): "manager", ("manager", "mate"): "manager", ("manager", "pool"): "manager",
    ("manager", "west"): NotFound,
    ("head", "west"): "manager", ("head", "pool"): "manager",
    ("west_rep", "west"): "full", ("west_rep", "pool"): "rep_pool", ("west_rep", "own"): NotFound,
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crm(request, tmp_path_factory):
    """One seeded database per backend for the whole module: the cases only read."""
    from storage.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path_factory.mktemp('pii') / 'crm.sqlite3').resolve()}"
        upgrade(url)
        yield url, seed(url)
        return
    admin = os.environ.get("CRM_TEST_POSTGRES")
    if not admin:
        pytest.skip("CRM_TEST_POSTGRES is not set (CI sets it and starts a server)")
    import sqlalchemy as sa

    from storage.db import engine_for

    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url, seed(url)
    finally:
        engine_for(url).dispose()
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def ctx_for(url: str, who: str, *, now: datetime = NOW) -> ToolContext:
    return ToolContext.for_email(STAFF[who][1], now=now, database_url=url)


def raw(customer: str) -> dict:
    return CUSTOMERS[customer][2]


def hidden_strings(customer: str, seen: str) -> list[str]:
    """Raw values this audience must not see in full anywhere."""
    data, sees = raw(customer), SEES[seen]
    out = [data[f] for f in ("phone", "email", "address") if sees[f] != "full"]
    if sees["social_handles"] != "full":
        out += list(data["social_handles"].values())
    return out


def test_masks():
    assert mask_phone("13800138000") == "*******8000"
    assert mask_phone("+1-555-0123") == "+*-***-0123"
    assert mask_phone("123") == "123" and mask_phone(None) is None
    assert mask_email("chen.jing@example.com") == "c***@example.com"
    assert mask_email("not-an-email") == "***"


def test_policy_table_is_the_contract():
    contact = {a: (row["phone"], row["address"], row["social_handles"], row["birth_date"], row["credit_rating"])
               for a, row in POLICY.items()}
    assert contact == {
        "admin": ("full", "full", "full", "full", "full"),
        "support": ("full", "full", "masked", "masked", "removed"),
        "rep_own": ("full", "full", "full", "full", "full"),
        "rep_pool": ("masked", "removed", "removed", "removed", "removed"),
        "manager": ("masked", "removed", "removed", "removed", "full"),
    }
    assert all(row["email"] == row["phone"] and row["overdue_amount"] == row["credit_rating"] for row in POLICY.values())


def test_visible_fields_and_mask_customer_fields(crm):
    url, ids = crm
    rep, manager = ctx_for(url, "rep"), ctx_for(url, "manager")
    rita = ids["staff"]["rep"]
    assert visible_fields(rep, rita) == {"phone", "email", "address", "social_handles", "birth_date", "credit_rating",
                                         "overdue_amount"}
    assert visible_fields(rep, None) == set()
    assert visible_fields(manager, rita) == {"credit_rating", "overdue_amount"}
    assert visible_fields(ctx_for(url, "support"), None) == {"phone", "email", "address"}
    shown = mask_customer_fields(manager, owner_id=rita, fields={**raw("own"), "name": "Olive Owned"})
    assert shown["name"] == "Olive Owned" and shown["city"] == "Shanghai"  # not PII: passes through
    assert shown["phone"] == MASKED["own"]["phone"] and shown["address"] is None and shown["credit_rating"] == "A"
    assert shown["birth_date"] is None and shown["social_handles"] is None


@pytest.mark.parametrize(("who", "customer"), list(CASES), ids=[f"{w}-{c}" for w, c in CASES])
def test_profile_shows_exactly_the_policy(crm, who, customer):
    url, ids = crm
    ctx = ctx_for(url, who)
    expected = CASES[(who, customer)]
    params = CustomerProfileParams(customer=ids["customers"][customer])
    if expected is NotFound:
        with pytest.raises(NotFound):
            customer_profile(params, ctx=ctx)
        return
    result = customer_profile(params, ctx=ctx)
    card, data, sees = result.customer, raw(customer), SEES[expected]
    for field in ("phone", "email", "address", "social_handles"):
        value = getattr(card, field)
        want = {"full": data[field], "masked": MASKED[customer].get(field), None: None}[sees[field]]
        assert value == want, (field, value)
    age, band = AGES[customer]
    assert card.age == (age if sees["age"] == "full" else None) and card.age_band == band
    if sees["credit"] == "full":
        assert (card.credit_rating, card.overdue_amount, card.credit_hidden) == (
            data["credit_rating"], data["overdue_amount"], False)
    else:
        assert card.credit_rating is None and card.overdue_amount is None and card.credit_hidden
    assert card.masked_fields == NOT_SHOWN_IN_FULL[expected]
    assert card.city == data["city"]  # "city only" for a pool customer

    # The same values in every rendering: nothing hidden appears, hidden fields say so.
    rows = dict(result.table.rows)
    renderings = [result.to_text(), result.to_prompt(), json.dumps(result.to_json(), ensure_ascii=False),
                  json.dumps(result.to_blocks(), ensure_ascii=False), result.to_text(lang="zh")]
    for secret in hidden_strings(customer, expected):
        assert not any(secret in text for text in renderings), secret
    for field, label in (("phone", "phone"), ("email", "email"), ("address", "address")):
        if sees[field] == "full":
            assert rows[label] == data[field]
        elif sees[field] == "masked":
            assert rows[label] == MASKED[customer][field]
        else:
            assert rows[label] == "hidden"
    assert rows["credit rating"] == (data["credit_rating"] if sees["credit"] else "hidden")
    assert rows["overdue"] == (f"{data['overdue_amount']:,.2f}" if sees["credit"] else "hidden")
    if sees["age"] is None:
        assert str(age) not in rows["gender / age"] and band in rows["gender / age"]


def test_support_still_sees_credit_hidden_and_contact_in_full(crm):
    url, ids = crm
    result = customer_profile(CustomerProfileParams(customer="Pia Pool"), ctx=ctx_for(url, "support"))
    assert result.customer.credit_hidden and result.customer.phone == raw("pool")["phone"]
    assert "hidden" in result.to_text()


CLI_CASES = [("rep", "own"), ("rep", "pool"), ("manager", "own"), ("support", "west"), ("head", "west")]


@pytest.mark.parametrize(("who", "customer"), CLI_CASES, ids=[f"{w}-{c}" for w, c in CLI_CASES])
def test_cli_json_is_masked_the_same(sqlite_url, who, customer):
    from integrations.cli.app import app

    ids = seed(sqlite_url)
    out = CliRunner().invoke(app, ["tool", "customer_profile", "--customer", str(ids["customers"][customer]), "--json",
                                   "--as", STAFF[who][1], "--now", TODAY_TEXT])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    ctx = ctx_for(sqlite_url, who, now=datetime(2026, 11, 15, 23, 59, 59))
    direct = customer_profile(CustomerProfileParams(customer=ids["customers"][customer]), ctx=ctx).to_json()
    assert data["customer"] == direct["customer"] and data["table"] == direct["table"]
    for secret in hidden_strings(customer, CASES[(who, customer)]):
        assert secret not in out.output
    text = CliRunner().invoke(app, ["tool", "customer_profile", "--customer", str(ids["customers"][customer]),
                                    "--as", STAFF[who][1], "--now", TODAY_TEXT])
    assert text.exit_code == 0 and not any(s in text.output for s in hidden_strings(customer, CASES[(who, customer)]))


@pytest.fixture(scope="module")
def live_web(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
    from _web_live import start

    from storage.migrate import upgrade

    home = tmp_path_factory.mktemp("pii_web")
    url = f"sqlite:///{(home / 'crm.sqlite3').resolve()}"
    upgrade(url)
    ids = seed(url, passwords=True)
    server = start(url, home)
    yield server, url, ids
    server.stop()


WEB_CASES = [("admin", "west"), ("support", "own"), ("rep", "own"), ("rep", "pool"), ("manager", "mate"),
             ("head", "west"), ("rep", "west")]


@pytest.mark.parametrize(("who", "customer"), WEB_CASES, ids=[f"{w}-{c}" for w, c in WEB_CASES])
def test_web_api_and_page_are_masked_the_same(live_web, who, customer):
    import httpx
    from _pii_data import PASSWORD

    server, url, ids = live_web
    cid = ids["customers"][customer]
    with httpx.Client(base_url=server.url, timeout=60) as c:
        assert c.post("/api/login", json={"email": STAFF[who][1], "password": PASSWORD}).status_code == 200
        api = c.get(f"/api/customers/{cid}")
        page = c.get(f"/customers/{cid}")
    expected = CASES[(who, customer)]
    if expected is NotFound:
        assert api.status_code == 404 and page.status_code == 404
        return
    assert api.status_code == 200, api.text
    from _web_live import TODAY

    ctx = ctx_for(url, who, now=datetime.combine(TODAY, datetime.min.time()))
    direct = customer_profile(CustomerProfileParams(customer=cid, interactions=10), ctx=ctx).to_json()
    assert api.json()["customer"] == direct["customer"]
    for secret in hidden_strings(customer, expected):
        assert secret not in api.text and secret not in page.text
    if expected in ("rep_pool", "manager"):
        assert "hidden for your role" in page.text
