"""Erase a customer's interaction text from the vector store and the in-process index.

Deleting or anonymising a customer in SQL does not touch Chroma, which keeps its
own copy of every chunk (the search text and the vector). The code that deletes or
anonymises a customer calls :func:`erase_customer`; a later ``crm index`` would
also drop the chunks of deleted interactions, but erasure must not wait for it.

The in-process index is purged in the same transaction: every segment file that
held one of the customer's rows is rewritten without it and the old file deleted,
so neither the vectors nor the text nor its tokens survive on disk.
"""

from __future__ import annotations

from knowledge.store import get_collection, index_handle

_PAGE = 5_000


def erase_customer(customer_id: int) -> int:
    """Remove every chunk (text and vector) of one customer; returns how many were removed."""
    # No embedding check: erasure deletes rows and must work whichever encoder made them.
    collection = get_collection(embedding_check=False)
    removed = 0
    with index_handle(collection).writing() as writer:
        while True:
            ids = collection.get(where={"customer_id": int(customer_id)}, include=[], limit=_PAGE)["ids"]
            if not ids:
                break
            collection.delete(ids=ids)
            removed += len(ids)
        writer.erase_customer(int(customer_id))
    return removed
