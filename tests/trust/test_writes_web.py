"""Confirm then Undo in the web chat: the JSON API on a live server, and the buttons in headless Chromium.

One small demo CRM and one uvicorn server per module (tests/integrations/_web_live.py). Each test
claims its own public-pool customer, so the tests do not depend on one another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from _writes_data import owner_of, pool_history, use_integration_helpers, write_audits

use_integration_helpers()
from _web_live import PASSWORD, build_demo, customers_by_owner, start  # noqa: E402

from tools import ToolContext, get_tool  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    home = tmp_path_factory.mktemp("writes_web")
    server = start(build_demo(home), home)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pool(live) -> Iterator[int]:
    return iter(customers_by_owner(live.database_url)["pool"])


@contextmanager
def signed_in(live, email: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=120) as c:
        assert c.post("/api/login", json={"email": email, "password": PASSWORD}).status_code == 200
        yield c


def claim_and_confirm(c: httpx.Client, customer_id: int) -> tuple[dict, dict]:
    reply = c.post("/api/ask", json={"question": f"claim customer C{customer_id:06d}"}).json()
    [proposal] = reply["proposals"]
    assert proposal["undo_url"] is None  # nothing to undo before it ran
    done = c.post(proposal["confirm_url"]).json()
    assert done["status"] == "done" and done["undo_url"] == f"/api/writes/{proposal['id']}/undo"
    return reply, done


def rep_id(live, email: str) -> int:
    return ToolContext.for_email(email, database_url=live.database_url).user_id


def test_confirm_then_undo(live, pool):
    customer = next(pool)
    url = live.database_url
    before = len(pool_history(url, customer))  # the demo has some history of its own
    with signed_in(live, "rep01@demo.crm") as rep, signed_in(live, "rep02@demo.crm") as other:
        reply, done = claim_and_confirm(rep, customer)
        assert owner_of(url, customer) == rep_id(live, "rep01@demo.crm")
        detail = rep.get(f"/api/threads/{reply['thread_id']}").json()
        assert detail["messages"][0]["reply"]["proposals"][0]["undo_url"] == done["undo_url"]
        assert other.post(done["undo_url"]).status_code == 404  # not theirs

        undone = rep.post(done["undo_url"])
        assert undone.status_code == 200 and undone.json()["status"] == "undone", undone.text
        assert "released to the public pool" in undone.json()["summary"]
        assert owner_of(url, customer) is None
        again = rep.post(done["undo_url"])
        assert again.status_code == 409 and "already undone" in again.json()["detail"]
        shown = rep.get(f"/api/threads/{reply['thread_id']}").json()["messages"][0]["reply"]["proposals"][0]
        assert shown["status"] == "undone" and shown["undo_url"] is None and "Undone:" in shown["outcome"]

    claim, release = pool_history(url, customer)[before:]
    assert (claim.action, release.action) == ("claim", "release")
    assert release.reason == f"undo of pool history #{claim.id}"
    audits = [a for a in write_audits(url) if f"customer:{customer}" in a.records]
    assert [(a.channel, a.outcome) for a in audits] == [("web", "ok"), ("web", "ok")]
    assert audits[1].arguments["undo_of"] == claim.id


def test_double_click_on_undo_runs_once(live, pool):
    customer = next(pool)
    before = len(pool_history(live.database_url, customer))
    with signed_in(live, "rep01@demo.crm") as rep:
        _, done = claim_and_confirm(rep, customer)
        cookies = dict(rep.cookies)
    statuses: list[int] = []
    barrier = threading.Barrier(3)

    def click() -> None:
        with httpx.Client(base_url=live.url, timeout=120, cookies=cookies) as c:
            barrier.wait()
            statuses.append(c.post(done["undo_url"]).status_code)

    threads = [threading.Thread(target=click) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(statuses) == [200, 409, 409]
    assert owner_of(live.database_url, customer) is None
    assert len(pool_history(live.database_url, customer)) == before + 2


def test_undo_is_refused_after_someone_else_reassigned(live, pool):
    customer = next(pool)
    url = live.database_url
    before = len(pool_history(url, customer))
    with signed_in(live, "rep01@demo.crm") as rep:
        _, done = claim_and_confirm(rep, customer)
        admin = ToolContext.for_email("admin@demo.crm", database_url=url, channel="cli")
        get_tool("assign_customer")({"customer": customer, "action": "assign", "to": "rep02@demo.crm"}, ctx=admin)
        refused = rep.post(done["undo_url"])
        assert refused.status_code == 200 and refused.json()["status"] == "failed"
        assert "owner changed since" in refused.json()["summary"]
    assert owner_of(url, customer) == rep_id(live, "rep02@demo.crm")
    assert len(pool_history(url, customer)) == before + 2
    last = [a for a in write_audits(url) if f"customer:{customer}" in a.records][-1]
    assert last.outcome == "refused" and last.channel == "web"


def test_log_interaction_has_no_undo(live, pool):
    with signed_in(live, "rep01@demo.crm") as rep:
        reply = rep.post("/api/ask", json={"question": f"log a call with C{next(pool):06d}: left a voicemail"}).json()
        customer = reply["proposals"][0]["arguments"]["customer"]
        assert customer
        done = rep.post(reply["proposals"][0]["confirm_url"]).json()
        assert done["status"] == "done" and done["undo_url"] is None
        assert rep.post(f"/api/writes/{reply['proposals'][0]['id']}/undo").status_code == 409


# -- the buttons in a real browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    import os
    import shutil
    from pathlib import Path

    chromium = os.environ.get("CRM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    # As in tests/integrations/test_web_browser.py: CI sets CRM_BROWSER_TESTS=required, where a gap fails.
    missing = pytest.fail if os.environ.get("CRM_BROWSER_TESTS") == "required" else pytest.skip
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed")
    if not Path(chromium).exists():
        missing(f"no Chromium at {chromium}")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                              "--disable-dev-shm-usage"])
        yield b
        b.close()


def test_confirm_and_undo_buttons_in_the_browser(browser, live, pool):
    customer = next(pool)
    context = browser.new_context(base_url=live.url, locale="en-US")
    context.set_default_timeout(120_000)
    page = context.new_page()
    try:
        page.goto("/")
        page.fill("#email", "rep01@demo.crm")
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        page.fill("#question", f"claim customer C{customer:06d}")
        page.press("#question", "Enter")
        proposal = page.locator(".proposal").last
        proposal.locator("button.confirm").click()
        proposal.locator(".outcome.done").wait_for()
        proposal.locator("button.undo").click()
        note = proposal.locator(".undo-outcome.undone")
        note.wait_for()
        assert "Undone" in note.inner_text() and proposal.locator("button.undo").count() == 0
        assert owner_of(live.database_url, customer) is None
        # After a reload the thread shows the change as undone, with no Undo button left.
        page.reload()
        page.locator("#threads li").first.click()
        page.locator(".proposal .outcome.undone").wait_for()
        assert page.locator(".proposal button.undo").count() == 0
    finally:
        context.close()
