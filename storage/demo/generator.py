"""``generate``: build a whole demo CRM in memory, then bulk-load it. Called by ``crm demo`` and tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from storage.demo.baskets import build_lines
from storage.demo.bundles import plant_bundles
from storage.demo.calibrate import keep_vips_designed
from storage.demo.campaigns import run_campaigns
from storage.demo.catalogue import build_catalogue
from storage.demo.config import DemoPlan, Locale
from storage.demo.customer_table import customer_table, customer_tags
from storage.demo.customers import build_identity
from storage.demo.events import OrderEvents
from storage.demo.fulfilment import fulfil, order_table
from storage.demo.interactions import build_interactions
from storage.demo.loyalty import coupons, loyalty_ledger
from storage.demo.orders import assemble_orders
from storage.demo.pipeline import opportunities, pool_history
from storage.demo.staff import build_staff
from storage.demo.tables import Table, datetimes, json_column
from storage.demo.texts import load_texts
from storage.demo.timelines import build_timeline
from storage.demo.touch_table import line_table, touch_table
from storage.demo.traits import build_traits
from storage.demo.truth import build_truth
from storage.demo.writer import ProgressFn, load, non_empty_tables, table_counts
from storage.errors import StorageError


class DemoRefused(StorageError):
    """The database already holds CRM data and ``reset`` was not asked for."""


class DemoSummary(BaseModel):
    customers: int
    locale: str
    seed: int
    today: date
    database: str
    text_source: str
    counts: dict[str, int]
    truth: dict[str, int]
    checks: dict[str, object]
    timings: dict[str, float]
    seconds: float


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def generate(*, customers: int = 5000, locale: Locale = "mixed", seed: int = 42, today: date,
             url: str | None = None, progress: ProgressFn | None = None, reset: bool = False,
             datasets_dir: Path | None = None) -> DemoSummary:
    """Generate a deterministic demo CRM (same seed + today => identical rows) and load it into ``url``.

    Migrates the database first. Raises :class:`DemoRefused` if it already holds CRM rows and
    ``reset`` is false; with ``reset`` every CRM table is emptied in the same transaction as the load.
    """
    from storage.db import engine_for
    from storage.migrate import upgrade
    from storage.settings import get_settings

    started = time.perf_counter()
    timings: dict[str, float] = {}
    url = url or get_settings().url
    plan = DemoPlan(customers=customers, locale=locale, seed=seed, today=today)
    upgrade(url)
    engine = engine_for(url)
    busy = non_empty_tables(engine)
    if busy and not reset:
        raise DemoRefused(
            f"the database already holds CRM data ({', '.join(busy[:4])}{'…' if len(busy) > 4 else ''}); "
            "rerun with --reset to replace it with demo data"
        )

    def step(name: str, fn: Callable, *args, **kwargs):
        if progress:
            progress(f"generate {name}", 0, 1)
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        timings[name] = round(time.perf_counter() - t0, 3)
        if progress:
            progress(f"generate {name}", 1, 1)
        return out

    staff = step("staff", build_staff, plan)
    catalogue = step("catalogue", build_catalogue, plan)
    identity = step("customers", build_identity, plan)
    traits = step("traits", build_traits, plan, identity, staff)
    timeline = step("timelines", build_timeline, plan, identity, traits)
    events = OrderEvents.base(timeline.customer, timeline.day)
    bundles = step("bundles", plant_bundles, plan, events, identity, traits, catalogue)
    campaigns = step("campaigns", run_campaigns, plan, events, identity, traits, timeline)
    orders = step("orders", assemble_orders, plan, events, traits, campaigns)
    lines, totals = step("lines", build_lines, plan, orders, events, identity, traits, catalogue, campaigns)
    fulfilment = step("fulfilment", fulfil, plan, orders, identity, traits)
    spend, demoted = step("calibrate", keep_vips_designed, plan, orders, fulfilment, totals, traits)
    ledger, points = step("loyalty", loyalty_ledger, plan, orders, spend, fulfilment.status, totals)
    coupon_table = step("coupons", coupons, plan, orders, campaigns, identity, traits)
    bank = step("texts", load_texts, datasets_dir)
    last_day = np.full(plan.customers, -1, dtype=np.int64)
    np.maximum.at(last_day, orders.customer, orders.day)
    interaction_table, complaints = step("interactions", build_interactions, plan, identity, traits, staff,
                                         orders, lines, fulfilment, catalogue, bank, last_day)
    opportunity_table = step("opportunities", opportunities, plan, identity, traits, staff)
    pool_table = step("pool history", pool_history, plan, identity, traits, staff)
    truth_rows, checks = step("truth", build_truth, plan, identity=identity, traits=traits, timeline=timeline,
                              orders=orders, totals=totals, spend=spend, lines=lines, catalogue=catalogue,
                              bundles=bundles, campaigns=campaigns, complaints=complaints)
    checks["vip_calibration"] = {"orders_returned": demoted}
    tables = [
        staff.table, catalogue.table, campaigns.table,
        customer_table(plan, identity, traits, spend, points), customer_tags(plan, traits, spend),
        order_table(plan, orders, identity, fulfilment, totals), line_table(orders, lines), touch_table(plan, campaigns, orders, totals),
        interaction_table, opportunity_table, pool_table, ledger, coupon_table,
        _truth_table(truth_rows), _audit_table(plan, staff.admin_id, bank.source),
    ]
    t0 = time.perf_counter()
    load(engine, tables, reset=reset, progress=progress)
    timings["load"] = round(time.perf_counter() - t0, 3)
    truth_counts: dict[str, int] = {}
    for row in truth_rows:
        truth_counts[row["kind"]] = truth_counts.get(row["kind"], 0) + 1
    return DemoSummary(
        customers=customers, locale=locale, seed=seed, today=today, database=_redact(url),
        text_source=bank.source, counts=table_counts(engine), truth=dict(sorted(truth_counts.items())),
        checks=checks, timings=timings, seconds=round(time.perf_counter() - started, 3),
    )


def _truth_table(rows: list[dict]) -> Table:
    return Table("demo_truth", {
        "id": np.arange(1, len(rows) + 1),
        "kind": [r["kind"] for r in rows],
        "subject_id": [int(r["subject_id"]) for r in rows],
        "detail": json_column([r["detail"] for r in rows]),
    })


def _audit_table(plan: DemoPlan, admin_id: int, text_source: str) -> Table:
    # Dated at the pinned "today" (not the wall clock) so runs stay byte-for-byte repeatable.
    return Table("audit_log", {
        "id": [1],
        "at": datetimes(plan, np.array([plan.now_seconds - 60])),
        "user_id": [admin_id],
        "channel": ["system"],
        "action": ["write"],
        "tool": ["demo"],
        "arguments": json_column([{"customers": plan.customers, "locale": plan.locale, "seed": plan.seed,
                                   "today": plan.today.isoformat(), "texts": text_source}]),
        "records": [None],
        "question": [None],
        "outcome": ["ok"],
    })
