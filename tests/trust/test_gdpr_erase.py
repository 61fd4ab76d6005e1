"""`tools.gdpr.erase_customer` in the database: nothing personal left, figures unchanged, one transaction."""

from __future__ import annotations

import json

import pytest
from _gdpr_data import ADDRESS, EMAIL, NAME, NAMESAKE, PERSONAL, PHONE, dump, leftovers, revenue, seed
from sqlmodel import Session, select

import storage.gdpr as storage_gdpr
from storage.gdpr import ErasureRefused, Rule
from storage.models import AuditEntry, Customer, CustomerTag, Interaction, Opportunity, Order
from tools import get_tool
from tools.context import ToolContext
from tools.errors import PermissionDenied
from tools.gdpr import erase_customer


@pytest.fixture
def crm(database_url):
    return seed(database_url)


def admin(crm) -> ToolContext:
    return ToolContext.for_email("admin@gdpr.test", database_url=crm.url)


def test_no_personal_value_is_left_in_any_text_column_of_any_table(crm):
    assert leftovers(crm.engine)  # the seed plants them everywhere
    result = erase_customer(admin(crm), customer=NAME)
    assert result.complete and not result.already_erased
    assert leftovers(crm.engine) == []
    with Session(crm.engine) as s:
        zelda = s.get(Customer, crm.target)
        assert zelda.name == f"Erased customer #{crm.target}"
        assert (zelda.phone, zelda.email, zelda.address, zelda.social_handles, zelda.birth_date, zelda.occupation,
                zelda.credit_rating) == (None,) * 7
        assert zelda.marketing_consent is False
        # Kept: coarse attributes the figures are cut by, and the source system's key.
        assert (zelda.city, zelda.region, zelda.owner_id, zelda.external_id) == ("Leeds", "UK", crm.staff["rep"], "C-GDPR-1")
        assert s.exec(select(CustomerTag).where(CustomerTag.customer_id == crm.target)).all() == []
        assert s.exec(select(Interaction).where(Interaction.customer_id == crm.target)).all() == []
        assert s.exec(select(Opportunity.name).where(Opportunity.customer_id == crm.target)).all() == ["[erased]"]
        assert s.exec(select(Order.tracking_number).where(Order.customer_id == crm.target)).all() == [None, None]
        # Other people's rows keep their own content, with the mention replaced.
        bruno_note = s.get(Interaction, crm.interactions["b1"]).body
        assert bruno_note == f"Bruno was referred by Erased customer #{crm.target} ([erased]); interested in a smaller kiln."
        namesake = s.get(Customer, crm.customers["namesake"])
        assert namesake.name == NAMESAKE and s.get(Interaction, crm.interactions["n1"]).body.startswith(NAMESAKE)


def test_revenue_and_order_figures_do_not_change(crm):
    before = revenue(crm.engine)
    metrics = get_tool("query_metrics")
    args = {"measures": ["revenue", "orders"], "dimensions": ["region", "owner"]}
    tool_before = metrics(args, ctx=admin(crm))
    erase_customer(admin(crm), customer=crm.target)
    assert revenue(crm.engine) == before
    tool_after = metrics(args, ctx=admin(crm))
    assert tool_after.rows == tool_before.rows and tool_after.totals == tool_before.totals
    assert tool_before.totals["revenue"] == pytest.approx(480.0 + 900.0 + 500.0)


def test_the_erasure_is_audited_with_counts_and_no_personal_values(crm):
    ctx = admin(crm)
    result = erase_customer(ctx, customer=crm.target)
    with Session(crm.engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action == "erase").order_by(AuditEntry.id)).all()
    main = [r for r in rows if r.tool == "gdpr.erase"]
    assert len(main) == 1
    entry = main[0]
    assert entry.user_id == crm.staff["admin"] and entry.channel == "cli" and entry.at == ctx.now
    assert entry.records == [f"customer:{crm.target}"]
    assert entry.arguments["deleted"]["interaction"] == 2 and entry.arguments["deleted"]["customer_tag"] == 2
    assert entry.arguments["kept"]["orders"] == 2 and "name" in entry.arguments["customer_fields"]
    assert entry.arguments["mentions"]["interaction.body"] == 1
    assert result.deleted == entry.arguments["deleted"]
    text = json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False)
    assert all(v not in text for v in PERSONAL)


def test_erasing_twice_is_a_clear_no_op(crm):
    ctx = admin(crm)
    erase_customer(ctx, customer=crm.target)
    state = dump(crm.engine)
    again = erase_customer(ctx, customer=f"Erased customer #{crm.target}")
    assert again.already_erased and again.erased_before == ctx.now
    assert "already erased" in again.lines()[0] and "nothing to do" in again.lines()[0]
    after = dump(crm.engine)
    assert after == state  # no new audit row either: nothing happened


def test_preview_changes_nothing_and_counts_what_erase_does(crm):
    state = dump(crm.engine)
    preview = erase_customer(admin(crm), customer=crm.target, dry_run=True)
    assert dump(crm.engine) == state
    assert preview.dry_run and preview.deleted["interaction"] == 2 and "would" in "\n".join(preview.lines())
    done = erase_customer(admin(crm), customer=crm.target)
    assert (done.deleted, done.anonymised, done.mentions) == (preview.deleted, preview.anonymised, preview.mentions)


def test_a_failure_mid_erase_leaves_the_database_unchanged(crm, monkeypatch):
    state = dump(crm.engine)

    def explode(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    # After the customer row, tags, interactions and opportunities were changed in the transaction.
    monkeypatch.setattr(storage_gdpr, "scrub_mentions", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        erase_customer(admin(crm), customer=crm.target)
    assert dump(crm.engine) == state


def test_a_table_without_a_rule_blocks_the_erasure(crm, monkeypatch):
    state = dump(crm.engine)
    rules = {k: v for k, v in storage_gdpr.RULES.items() if k != "coupon"}
    monkeypatch.setattr(storage_gdpr, "RULES", rules)
    with pytest.raises(ErasureRefused, match="coupon"):
        erase_customer(admin(crm), customer=crm.target)
    assert dump(crm.engine) == state
    assert isinstance(storage_gdpr.RULES.get("orders"), Rule)


@pytest.mark.parametrize("email", ["rita@gdpr.test", "sue@gdpr.test"])
def test_non_admins_are_refused(crm, email):
    state = dump(crm.engine)
    with pytest.raises(PermissionDenied):
        erase_customer(ToolContext.for_email(email, database_url=crm.url), customer=crm.target)
    assert dump(crm.engine) == state


def test_find_customers_and_the_router_no_longer_know_the_name(crm):
    from assistant.router.gazetteer import gazetteer_for
    from assistant.router.text import key
    from storage.scope import Scope

    ctx = admin(crm)
    find = get_tool("find_customers")
    assert crm.target in {c.id for c in find({"name": NAME}, ctx=ctx).customers}  # warms the name cache
    gaz = gazetteer_for(crm.engine, Scope.everything())
    assert gaz.customers.latin.get(_phrase(NAME))
    erase_customer(ctx, customer=crm.target)
    found = find({"name": NAME}, ctx=ctx).customers
    assert crm.target not in {c.id for c in found} and {c.name for c in found} <= {NAMESAKE}
    assert crm.target not in {c.id for c in find({"name": "Quorvin"}, ctx=ctx).customers}
    from assistant.gdpr_memory import forget_customer

    forget_customer([NAME])  # what the edges do after an erase: the router's cache goes at once
    gaz = gazetteer_for(crm.engine, Scope.everything())
    assert not gaz.customers.latin.get(_phrase(NAME))
    assert key(NAMESAKE) not in gaz.customers.cjk  # sanity: Latin names live in .latin


def _phrase(name: str) -> str:
    from assistant.router.gazetteer import phrase_key

    return phrase_key(name)


def test_interaction_history_no_longer_returns_the_text(crm):
    ctx = admin(crm)
    history = get_tool("interaction_history")
    before = history({"customer": crm.target}, ctx=ctx)
    assert len(before.hits) == 2 and PHONE in json.dumps(before.model_dump(mode="json"), ensure_ascii=False)
    erase_customer(ctx, customer=crm.target)
    after = history({"customer": crm.target}, ctx=ctx)
    assert after.hits == []
    text = json.dumps(history({}, ctx=ctx).model_dump(mode="json"), ensure_ascii=False)
    assert all(v not in text for v in (PHONE, EMAIL, ADDRESS))


def test_a_chinese_name_is_erased_inside_chinese_text_and_escaped_json(database_url):
    from datetime import datetime

    from storage.db import engine_for

    engine = engine_for(database_url)
    with Session(engine) as s:
        nana = Customer(name="欧阳娜娜", phone="13800138000", city="上海")
        lilei = Customer(name="李雷", city="上海")
        s.add_all([nana, lilei])
        s.flush()
        s.add(Interaction(customer_id=lilei.id, channel="visit", kind="visit", occurred_at=datetime(2026, 10, 1),
                          body="李雷说是欧阳娜娜介绍他来的，电话13800138000。"))
        s.add(AuditEntry(action="question", question="欧阳娜娜最近买了什么？", arguments={"customer": "欧阳娜娜"}))
        s.commit()
        nana_id, lilei_id = nana.id, lilei.id
    erase_customer(ToolContext.system(database_url=database_url), customer="欧阳娜娜")
    assert leftovers(engine, values=("欧阳娜娜", "13800138000")) == []
    with Session(engine) as s:
        note = s.exec(select(Interaction.body).where(Interaction.customer_id == lilei_id)).one()
        question, arguments = s.exec(select(AuditEntry.question, AuditEntry.arguments)
                                     .where(AuditEntry.action == "question")).one()
    assert note == f"李雷说是Erased customer #{nana_id}介绍他来的，电话[erased]。"
    assert question == f"Erased customer #{nana_id}最近买了什么？" and arguments == {"customer": f"Erased customer #{nana_id}"}


def test_sqlite_file_keeps_no_erased_bytes(sqlite_url, crm_home):
    """secure_delete and the WAL checkpoint: deleted notes and old values are not left in free pages."""
    import re

    crm = seed(sqlite_url)
    pattern = re.compile(rb"Marrowbone|zquorvin_glass|7700 900123|zelda\.quorvin@|Zelda Quorvin(?!son)|door hinge")

    def residue() -> list[str]:
        return [p.name for p in crm_home.glob("crm.sqlite3*") if pattern.search(p.read_bytes())]

    assert residue()
    erase_customer(admin(crm), customer=crm.target)
    crm.engine.dispose()  # as at process exit: nothing may depend on a connection still open
    assert residue() == []
