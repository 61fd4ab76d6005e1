"""Where interaction texts come from: real datasets when present, built-in phrases otherwise.

English: Banking77 customer-service messages (bank-card wording adapted to orders
and products). Chinese: online-shopping reviews (per product category) and
food-delivery reviews. Lookup order: an explicit directory, ``CRM_DATASETS``,
``../shared/datasets`` beside the repository, then ``storage.demo.phrases``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from storage.demo.phrases import PHRASES

_BANKING_CATEGORIES = {
    "delivery": ["card_arrival", "card_delivery_estimate"],
    "quality": ["card_not_working"],
    "refund": ["request_refund", "Refund_not_showing_up"],
    "payment": ["transaction_charged_twice", "pending_card_payment", "declined_card_payment",
                "card_payment_not_recognised", "extra_charge_on_statement"],
    "account": ["edit_personal_details", "passcode_forgotten"],
}
# online_shopping_10_cats category -> demo catalogue category
ZH_REVIEW_CATEGORIES = {"手机": "Phones", "计算机": "Laptops", "平板": "Laptops", "衣服": "Apparel",
                        "洗发水": "Beauty", "水果": "Food & Drink", "蒙牛": "Food & Drink", "书籍": "Books",
                        "热水器": "Home"}
# Demo categories without reviews of their own borrow the closest reviewed category (None: built-in).
ZH_REVIEW_FALLBACK = {"Audio": "Phones", "Phone Accessories": "Phones", "Kitchen": "Home", "Sports": "Apparel",
                      "Toys": None}
# English "does not work" messages only make sense for things that can work.
EN_WORKING_CATEGORIES = {"Phones", "Phone Accessories", "Laptops", "Audio", "Home", "Kitchen"}
_ZH_DELIVERY = re.compile("快递|物流|送货|配送|发货")
_CARD = re.compile(r"\b(?:virtual |physical |new )?cards?\b", re.IGNORECASE)
MAX_CHARS = 280


@dataclass
class TextBank:
    source: str
    pools: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    zh_by_category: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (category, pos|neg)

    def pool(self, language: str, topic: str) -> list[str]:
        return self.pools.get((language, topic)) or PHRASES[(language, topic)]

    def quality_pool(self, language: str, category: str) -> list[str]:
        """Complaints that fit a product category."""
        if language == "en":
            return self.pool("en", "quality" if category in EN_WORKING_CATEGORIES else "quality_generic")
        reviewed = ZH_REVIEW_FALLBACK.get(category, category)
        return (reviewed and self.zh_by_category.get((reviewed, "neg"))) or PHRASES[("zh", "quality")]


def resolve_datasets_dir(explicit: Path | None = None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("CRM_DATASETS")
    if env:
        return Path(env)
    beside_repo = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
    return beside_repo if beside_repo.is_dir() else None


def load_texts(datasets_dir: Path | None = None) -> TextBank:
    root = resolve_datasets_dir(datasets_dir)
    banking = root / "banking77" / "train.csv" if root else None
    waimai = root / "chinese_reviews" / "waimai_10k.csv" if root else None
    shopping = root / "chinese_reviews" / "online_shopping_10_cats.zip" if root else None
    if not root or not (banking.is_file() and waimai.is_file() and shopping.is_file()):
        return TextBank(source="builtin phrases (datasets not found)", pools=dict(PHRASES))
    import pandas as pd

    bank = TextBank(source=f"datasets at {root} (banking77, waimai_10k, online_shopping_10_cats)",
                    pools=dict(PHRASES))
    frame = pd.read_csv(banking)
    for topic, categories in _BANKING_CATEGORIES.items():
        texts = frame.loc[frame["category"].isin(categories), "text"].astype(str).tolist()
        if topic in ("delivery", "refund"):
            texts = [_CARD.sub("order", t) for t in texts]
        elif topic == "quality":
            texts = [_CARD.sub("ITEM", t) for t in texts if _CARD.search(t)]
        bank.pools[("en", topic)] = _clean(texts)
    reviews = pd.read_csv(shopping)
    reviews = reviews[reviews["cat"].isin(list(ZH_REVIEW_CATEGORIES))].dropna(subset=["review"])
    reviews["review"] = reviews["review"].astype(str).str.replace("\ufeff", "", regex=False).str.strip()
    reviews = reviews[reviews["review"].str.len().between(6, MAX_CHARS)]
    for (cat, label), group in reviews.groupby(["cat", "label"], sort=True):
        key = (ZH_REVIEW_CATEGORIES[cat], "pos" if label == 1 else "neg")
        bank.zh_by_category.setdefault(key, []).extend(group["review"].tolist())
    negative = reviews[reviews["label"] == 0]["review"]
    bank.pools[("zh", "delivery")] = _clean(negative[negative.str.contains(_ZH_DELIVERY)].tolist())
    bank.pools[("zh", "quality")] = _clean(negative[~negative.str.contains(_ZH_DELIVERY)].tolist())
    food = pd.read_csv(waimai).dropna(subset=["review"])
    bank.pools[("zh", "positive")] = _clean(food.loc[food["label"] == 1, "review"].astype(str).tolist()
                                            + reviews.loc[reviews["label"] == 1, "review"].tolist()[::7])
    complaints = food.loc[food["label"] == 0, "review"].astype(str)
    # Keep feedback that reads like a shop's, not a takeaway platform's.
    complaints = complaints[~complaints.str.contains("百度|外卖|美团|骑手|送餐|饿了么")]
    bank.pools[("zh", "general")] = _clean(complaints.tolist() + PHRASES[("zh", "general")])
    return bank


def _clean(texts: list[str]) -> list[str]:
    out = [" ".join(t.split()) for t in texts]
    return [t for t in out if 4 <= len(t) <= MAX_CHARS]
