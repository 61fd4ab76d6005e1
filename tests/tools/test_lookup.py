"""resolve_customer / resolve_product / resolve_staff: ids, names, fuzzy EN/ZH, ambiguity and scope."""

from __future__ import annotations

import pytest
from _coretools_data import NOW, seed_crm

from storage.migrate import upgrade
from tools.context import ToolContext
from tools.errors import Ambiguous, NotFound
from tools.lookup import normalize_name, pinyin_key, resolve_customer, resolve_product, resolve_staff


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('lookup') / 'crm.sqlite3'}"
    upgrade(url)
    return seed_crm(url, customers=40)


def _ctx(crm, email: str | None = None) -> ToolContext:
    if email is None:
        return ToolContext.system(now=NOW, database_url=crm.url)
    return ToolContext.for_email(email, now=NOW, database_url=crm.url)


def test_normalisation_ignores_case_width_and_spaces():
    assert normalize_name("  Chen   JING ") == "chenjing"
    assert normalize_name("ＣＨＥＮ") == "chen"
    assert pinyin_key("陈静") == "chenjing"


def test_by_id_external_id_and_exact_name(crm):
    ctx = _ctx(crm)
    cid = crm.customers["chen_en"]
    assert resolve_customer(ctx, customer=cid).id == cid
    assert resolve_customer(ctx, customer=str(cid)).id == cid
    ext = resolve_customer(ctx, customer=cid).external_id
    assert resolve_customer(ctx, customer=ext.lower()).id == cid
    assert resolve_customer(ctx, customer="chen jing").id == cid
    assert resolve_customer(ctx, customer="陈静").id == crm.customers["chen_zh"]


def test_fuzzy_latin_word_order_and_typos(crm):
    ctx = _ctx(crm)
    assert resolve_customer(ctx, customer="Jing Chen").id == crm.customers["chen_en"]
    assert resolve_customer(ctx, customer="Wes Westrn").id == crm.customers["west"]


def test_pinyin_finds_a_chinese_name(crm):
    # rep3 owns 陈静 but not the English "Chen Jing": the pinyin spelling must reach the Chinese name.
    ctx = _ctx(crm, "rep3@t.crm")
    assert resolve_customer(ctx, customer="Chen Jing").id == crm.customers["chen_zh"]


def test_close_matches_are_ambiguous_with_candidates(crm):
    with pytest.raises(Ambiguous) as err:
        resolve_customer(_ctx(crm), customer="Wang Fang")
    ids = {c.id for c in err.value.candidates}
    assert ids == {crm.customers["wang1"], crm.customers["wang2"]}
    assert all(c.detail and "owner" in c.detail for c in err.value.candidates)
    assert err.value.to_dict()["error"] == "ambiguous"

    with pytest.raises(Ambiguous) as err:
        resolve_customer(_ctx(crm), customer="Chen Jin")  # typo: both spellings are equally close
    assert {c.id for c in err.value.candidates} == {crm.customers["chen_en"], crm.customers["chen_zh"]}


def test_scope_narrows_ambiguity_and_hides_others(crm):
    # rep2 sees only their own Wang Fang, so the name is no longer ambiguous.
    assert resolve_customer(_ctx(crm, "rep2@t.crm"), customer="Wang Fang").id == crm.customers["wang2"]
    # Pool customers are visible to every rep.
    assert resolve_customer(_ctx(crm, "rep2@t.crm"), customer="Pat Pool").id == crm.customers["pool"]


def test_out_of_scope_looks_exactly_like_missing(crm):
    rep1 = _ctx(crm, "rep1@t.crm")
    west = crm.customers["west"]
    with pytest.raises(NotFound) as hidden:
        resolve_customer(rep1, customer=west)
    with pytest.raises(NotFound) as missing:
        resolve_customer(rep1, customer=987654)
    assert str(hidden.value).replace(str(west), "N") == str(missing.value).replace("987654", "N")
    with pytest.raises(NotFound) as hidden_name:
        resolve_customer(rep1, customer="Wes Western")
    with pytest.raises(NotFound) as missing_name:
        resolve_customer(rep1, customer="Zed Nobody")
    assert type(hidden_name.value) is type(missing_name.value)
    assert hidden_name.value.hint == missing_name.value.hint


def test_unknown_and_blank(crm):
    for value in ("Zed Nobody", "", "   ", "C999999"):
        with pytest.raises(NotFound):
            resolve_customer(_ctx(crm), customer=value)


def test_partial_name_lists_candidates(crm):
    with pytest.raises(Ambiguous) as err:
        resolve_customer(_ctx(crm), customer="Wang")
    assert len(err.value.candidates) == 2


def test_cache_sees_new_customers_and_owner_changes(crm):
    from sqlmodel import Session

    from storage.db import engine_for
    from storage.models import Customer

    with Session(engine_for(crm.url)) as s:
        s.add(Customer(name="Newly Added", owner_id=None))
        s.commit()
    assert resolve_customer(_ctx(crm, "rep1@t.crm"), customer="newly added").name == "Newly Added"


def test_products_and_staff(crm):
    ctx = _ctx(crm)
    assert resolve_product(ctx, product="sku-00").sku == "SKU-00"
    assert resolve_product(ctx, product="Acme Phones 1").sku == "SKU-01"
    with pytest.raises(NotFound):
        resolve_product(ctx, product="Flux Capacitor")
    assert resolve_staff(ctx, staff="rep1@t.crm").name == "Li Lei"
    assert resolve_staff(ctx, staff="li lei").email == "rep1@t.crm"
    assert resolve_staff(_ctx(crm, "rep2@t.crm"), staff="me").email == "rep2@t.crm"
    with pytest.raises(NotFound):
        resolve_staff(ctx, staff="Nobody At All")


def test_lookup_on_each_backend(database_url):
    crm = seed_crm(database_url, customers=12)
    ctx = ToolContext.system(now=NOW, database_url=database_url)
    assert resolve_customer(ctx, customer="chen jing").id == crm.customers["chen_en"]
    with pytest.raises(Ambiguous):
        resolve_customer(ctx, customer="Wang Fang")
