"""Products: the catalogue table, per-category popularity, and vectorised product picking."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.demo.catalogue_data import BUNDLES, CATEGORIES, PRODUCTS
from storage.demo.config import DemoPlan
from storage.demo.tables import Table

CATEGORY_NAMES = list(CATEGORIES)
# How often a line falls in each category, for ordinary and for VIP shoppers.
CATEGORY_WEIGHTS = np.array([8, 14, 4, 8, 8, 8, 12, 12, 7, 7, 14, 6], dtype=float)
PREMIUM_WEIGHTS = np.array([14, 10, 9, 12, 9, 8, 10, 8, 6, 3, 6, 5], dtype=float)


@dataclass
class Catalogue:
    table: Table
    ids: np.ndarray
    names: np.ndarray
    skus: np.ndarray
    category: np.ndarray  # category index per product
    list_price: np.ndarray
    cum: np.ndarray  # category index + within-category cumulative popularity, for searchsorted
    bundles: list[tuple[int, list[int]]]  # (anchor product index, accessory indexes)

    def pick(self, category: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Product index for each (category, uniform draw), by popularity within the category."""
        target = category + np.minimum(u, 1 - 1e-9)
        return np.searchsorted(self.cum, target, side="right")

    def index_of(self, name: str) -> int:
        return int(np.flatnonzero(self.names == name)[0])


def _parse() -> list[tuple[str, str, str, float]]:
    items = []
    for category, block in PRODUCTS.items():
        for line in block.strip().splitlines():
            brand, name, price = line.split("|")
            full = name if category == "Books" else f"{brand} {name}"
            items.append((category, brand, full, float(price)))
    return items


def build_catalogue(plan: DemoPlan) -> Catalogue:
    rng = plan.rng("catalogue")
    items = _parse()
    n = len(items)
    category = np.array([CATEGORY_NAMES.index(c) for c, _, _, _ in items])
    names = np.array([full for _, _, full, _ in items], dtype=object)
    skus = []
    position = {c: 0 for c in CATEGORY_NAMES}
    for c, _, _, _ in items:
        position[c] += 1
        skus.append(f"{CATEGORIES[c][0]}-{position[c]:04d}")
    weights = np.empty(n)
    cum = np.empty(n)
    for c in range(len(CATEGORY_NAMES)):
        idx = np.flatnonzero(category == c)
        # Zipf-like popularity with a seeded ranking: a few best sellers per category.
        ranks = rng.permutation(len(idx)) + 1
        w = 1.0 / ranks**0.9
        weights[idx] = w
        cum[idx] = c + np.cumsum(w) / w.sum()
    descriptions = [
        f"{full} by {brand}. {CATEGORIES[c][1]}" for c, brand, full, _ in items
    ]
    ids = np.arange(1, n + 1)
    table = Table("product", {
        "id": ids,
        "sku": skus,
        "name": names,
        "category": [c for c, _, _, _ in items],
        "brand": [b for _, b, _, _ in items],
        "list_price": np.array([p for _, _, _, p in items]),
        "description": descriptions,
    })
    catalogue = Catalogue(
        table=table, ids=ids, names=names, skus=np.array(skus, dtype=object), category=category,
        list_price=np.array([p for _, _, _, p in items]), cum=cum, bundles=[],
    )
    catalogue.bundles = [
        (catalogue.index_of(anchor), [catalogue.index_of(a) for a in accessories])
        for anchor, accessories in BUNDLES
    ]
    return catalogue
