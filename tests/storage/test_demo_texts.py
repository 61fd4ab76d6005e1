"""Interaction texts: real datasets when available, the built-in phrase set otherwise."""

from __future__ import annotations

import sqlite3
from datetime import date

from storage.demo import generate
from storage.demo.phrases import PHRASES
from storage.demo.texts import load_texts

TODAY = date(2026, 11, 22)


def test_builtin_phrases_when_the_datasets_are_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATASETS", str(tmp_path / "missing"))
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    summary = generate(customers=100, today=TODAY, url=url)
    assert summary.text_source.startswith("builtin phrases")
    known = {p for phrases in PHRASES.values() for p in phrases}
    with sqlite3.connect(tmp_path / "crm.sqlite3") as conn:
        bodies = [b for (b,) in conn.execute("SELECT body FROM interaction WHERE kind = 'complaint'")]
    # Quality phrases name the product where the phrase says ITEM.
    assert bodies and all(any(all(part in b for part in p.split("ITEM")) for p in known) for b in bodies)


def test_real_datasets_feed_both_languages(dataset, monkeypatch):
    root = dataset("banking77", "train.csv").parents[1]
    bank = load_texts(root)
    assert bank.source.startswith("datasets at")
    assert len(bank.pool("en", "delivery")) > 100 and all("card" not in t.lower() for t in bank.pool("en", "delivery"))
    assert all("ITEM" in t for t in bank.pool("en", "quality"))
    assert len(bank.pool("zh", "delivery")) > 100
    assert all(any(k in t for k in ("快递", "物流", "送货", "配送", "发货")) for t in bank.pool("zh", "delivery"))
    assert ("Phones", "neg") in bank.zh_by_category
