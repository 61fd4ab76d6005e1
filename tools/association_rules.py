"""Market-basket rules (support, confidence, lift) with mlxtend, over baskets read from the database.

A basket is one revenue order (returned and cancelled orders are left out: for
Online Retail those are the "C" invoices), its items the distinct products on it.
Filters narrow the baskets in SQL: the customer's country, the product category
(only lines of that category count), a date range, and the caller's scope.

Rules are mined with FP-growth (same itemsets as apriori, faster) and cached
in-process and on disk by (database, data fingerprint, filters, scope, thresholds).
"""

from __future__ import annotations

import threading
from datetime import datetime

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storage.models import NON_REVENUE_STATUSES, Customer, Order, OrderLine, Product
from storage.scope import Scope
from tools import model_store
from tools.order_frames import current_fingerprint, database_key

MAX_ITEMSET_LEN = 3
# Bump when mining changes, so rules saved on disk by older code are not reused.
RULES_VERSION = 1
_BASKETS: dict[str, pd.DataFrame] = {}
_RULES: dict[str, tuple[pd.DataFrame, int]] = {}
_POPULAR: dict[str, pd.Series] = {}
_LOCK = threading.Lock()


class BasketFilter(BaseModel):
    country: str | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def load_baskets(engine: Engine, *, where: BasketFilter, scope: Scope | None = None) -> pd.DataFrame:
    """[order_id, product_id] for every distinct product on a revenue order matching the filter."""
    stmt = (
        select(OrderLine.order_id, OrderLine.product_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.not_in(NON_REVENUE_STATUSES))
    )
    needs_customer = where.country is not None or (scope is not None and not scope.all_customers)
    if needs_customer:
        stmt = stmt.join(Customer, Customer.id == Order.customer_id)
        if where.country is not None:
            stmt = stmt.where(func.lower(Customer.country) == where.country.strip().lower())
        if scope is not None:
            stmt = stmt.where(scope.customer_clause(Customer.owner_id))
    if where.category is not None:
        stmt = stmt.join(Product, Product.id == OrderLine.product_id).where(
            func.lower(Product.category) == where.category.strip().lower()
        )
    if where.since is not None:
        stmt = stmt.where(Order.ordered_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(Order.ordered_at < where.until)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    # De-duplicated here rather than with SELECT DISTINCT: the database would sort every line for it.
    return pd.DataFrame(rows, columns=["order_id", "product_id"]).astype("int64").drop_duplicates(ignore_index=True)


def basket_matrix(baskets: pd.DataFrame, *, min_support: float) -> pd.DataFrame:
    """Boolean one-hot (orders x products), keeping only products that reach ``min_support`` alone."""
    n = baskets["order_id"].nunique()
    counts = baskets["product_id"].value_counts()
    frequent = counts[counts >= np.ceil(min_support * n)].index  # an itemset is never more frequent than its items
    kept = baskets[baskets["product_id"].isin(frequent)]
    orders = pd.Index(baskets["order_id"].unique())
    cols = pd.Index(frequent.sort_values())
    matrix = np.zeros((len(orders), len(cols)), dtype=bool)
    matrix[orders.get_indexer(kept["order_id"]), cols.get_indexer(kept["product_id"])] = True
    return pd.DataFrame(matrix, index=orders, columns=cols)


def mine_rules(
    baskets: pd.DataFrame, *, min_support: float, min_confidence: float = 0.0, min_lift: float = 1.0,
    algorithm: str = "fpgrowth", max_len: int = MAX_ITEMSET_LEN,
) -> pd.DataFrame:
    """Rules [antecedents, consequents (frozensets of product ids), support, confidence, lift, ...], by lift."""
    from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth

    empty = pd.DataFrame(columns=["antecedents", "consequents", "support", "confidence", "lift"])
    if baskets.empty:
        return empty
    onehot = basket_matrix(baskets, min_support=min_support)
    if onehot.shape[1] < 2:
        return empty
    miner = apriori if algorithm == "apriori" else fpgrowth
    itemsets = miner(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    if itemsets.empty or itemsets["itemsets"].map(len).max() < 2:
        return empty
    rules = association_rules(itemsets, num_itemsets=len(onehot), metric="lift", min_threshold=min_lift)
    rules = rules[rules["confidence"] >= min_confidence]
    return rules.sort_values(["lift", "confidence", "support"], ascending=False).reset_index(drop=True)


def cached_baskets(engine: Engine, *, where: BasketFilter, scope: Scope | None = None) -> pd.DataFrame:
    """``load_baskets``, read once per data version, filter and scope (in-process)."""
    key = _key(engine, where, scope)
    with _LOCK:
        if key in _BASKETS:
            return _BASKETS[key]
    baskets = load_baskets(engine, where=where, scope=scope)
    with _LOCK:
        if len(_BASKETS) >= 4:  # a few frames: the full Online Retail is ~390k rows
            _BASKETS.pop(next(iter(_BASKETS)))
        _BASKETS[key] = baskets
    return baskets


def cached_popularity(engine: Engine, *, where: BasketFilter, scope: Scope | None = None) -> pd.Series:
    """Baskets per product, most bought first; counted once per data version, filter and scope."""
    key = "popular|" + _key(engine, where, scope)
    with _LOCK:
        if key in _POPULAR:
            return _POPULAR[key]
    baskets = cached_baskets(engine, where=where, scope=scope)
    counts = baskets["product_id"].value_counts()
    with _LOCK:
        if len(_POPULAR) > 16:
            _POPULAR.clear()
        _POPULAR[key] = counts
    return counts


def cached_rules(
    engine: Engine, *, where: BasketFilter, min_support: float, min_confidence: float = 0.0,
    scope: Scope | None = None,
) -> tuple[pd.DataFrame, int]:
    """(rules, number of baskets), mined once per data version, filter, scope and thresholds."""
    key = f"{_key(engine, where, scope)}|{min_support}|{min_confidence}"
    with _LOCK:
        if key in _RULES:
            return _RULES[key]
    # On disk too: mining the whole book takes tens of seconds, and a CLI call or a restarted
    # server would otherwise pay it again for the same data.
    disk_key = model_store.cache_key(RULES_VERSION, key)
    mined = model_store.load("rules", disk_key)
    if mined is None:
        baskets = cached_baskets(engine, where=where, scope=scope)
        n = int(baskets["order_id"].nunique()) if not baskets.empty else 0
        mined = (mine_rules(baskets, min_support=min_support, min_confidence=min_confidence), n)
        model_store.save("rules", disk_key, mined, keep=64)  # one per scope, filter and support level
    rules, n = mined
    with _LOCK:
        if len(_RULES) > 64:
            _RULES.clear()
        _RULES[key] = (rules, n)
    return rules, n


def _key(engine: Engine, where: BasketFilter, scope: Scope | None) -> str:
    scope_key = scope.model_dump_json() if scope is not None and not scope.all_customers else "all"
    # The refresh's recorded fingerprint while no order was added since: a full fingerprint scans every
    # order (~0.7 s at 100k customers) and a customer's ladder of support levels asks for it several times.
    return "|".join((database_key(engine), current_fingerprint(engine), where.model_dump_json(), scope_key))


def last_order_at(engine: Engine) -> datetime:
    with engine.connect() as conn:
        return conn.execute(select(func.max(Order.ordered_at))).scalar_one() or datetime.min


def product_names(engine: Engine, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(Product.id, Product.name).where(Product.id.in_(sorted(ids)))).all()
    return dict(rows)
