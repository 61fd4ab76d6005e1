"""Erase a customer's interaction text from the vector index.

Deleting or anonymising a customer in SQL does not touch Chroma, which keeps its
own copy of every chunk (the search text and the vector). The code that deletes or
anonymises a customer calls :func:`erase_customer`; a later ``crm index`` would
also drop the chunks of deleted interactions, but erasure must not wait for it.
"""

from __future__ import annotations

from knowledge.store import get_collection

_PAGE = 5_000


def erase_customer(customer_id: int) -> int:
    """Remove every chunk (text and vector) of one customer; returns how many were removed."""
    collection = get_collection()
    removed = 0
    while True:
        ids = collection.get(where={"customer_id": int(customer_id)}, include=[], limit=_PAGE)["ids"]
        if not ids:
            return removed
        collection.delete(ids=ids)
        removed += len(ids)
