"""The vector store's side of a GDPR request: a customer's chunks for the export, and the deep purge.

``knowledge.erase_customer`` deletes a customer's chunks through Chroma's API, after which no
query, ``get`` or ``crm index`` returns them. Chroma's own files can still hold the deleted text
for a while (measured with chromadb 1.5.9, embedded store):

- its write-ahead log (``embeddings_queue`` in ``chroma.sqlite3``) keeps each upsert, document
  included, until the vector segment persists (every ``hnsw:sync_threshold`` writes, 1,000 by
  default), so recently indexed notes stay there after the delete;
- deleted rows stay readable in SQLite's free pages until the file is vacuumed.

:func:`purge_vector_store` removes both: it rebuilds the collection from the (erased) database,
which drops the old collection and its log, then runs ``chroma vacuum`` on the store directory.
It re-embeds every interaction, so it is a separate step (``crm gdpr purge-index``, or
``crm gdpr erase --purge-index``), best run once after a batch of erasures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from pydantic import BaseModel

from tools.context import ToolContext

_PAGE = 5_000


def vector_chunks(customer_id: int) -> tuple[str, list[dict[str, Any]]]:
    """(status, chunks): the customer's chunks in the vector store as ids, stored text and metadata."""
    try:
        from knowledge import get_collection

        # Reading stored text needs no encoder: an export must list the chunks whichever build embedded them.
        collection = get_collection(create=False, embedding_check=False)
    except Exception as exc:  # noqa: BLE001 - a missing index is a fact to report, not a failure
        if "does not exist" in str(exc).lower() or "not found" in str(exc).lower():
            return "no index", []
        return f"unavailable: {exc}", []
    chunks: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = collection.get(where={"customer_id": int(customer_id)}, include=["documents", "metadatas"],
                              limit=_PAGE, offset=offset)
        for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
            chunks.append({"id": cid, "document": doc, "metadata": meta})
        if len(page["ids"]) < _PAGE:
            return "ok", sorted(chunks, key=lambda c: c["id"])
        offset += _PAGE


class VectorPurge(BaseModel):
    interactions: int
    chunks: int
    rebuild_seconds: float
    vacuumed: bool
    note: str | None = None

    def lines(self) -> list[str]:
        out = [f"vector store rebuilt from the database: {self.interactions} interactions, {self.chunks} chunks "
               f"({self.rebuild_seconds:.1f} s)"]
        out.append("vector store files vacuumed: deleted text no longer on disk" if self.vacuumed
                   else f"not vacuumed: {self.note}")
        return out


def purge_vector_store(ctx: ToolContext, *, progress=None, vacuum_timeout: int = 600) -> VectorPurge:
    """Rebuild the collection from the database and vacuum Chroma's files (admin only)."""
    from knowledge import get_settings, rebuild_index
    from tools.gdpr import require_admin

    require_admin(ctx)
    started = time.perf_counter()
    report = rebuild_index(engine=ctx.engine, progress=progress)
    seconds = round(time.perf_counter() - started, 1)
    settings = get_settings()
    result = VectorPurge(interactions=report.checked, chunks=report.chunks_written, rebuild_seconds=seconds,
                         vacuumed=False)
    if settings.chroma_url:
        result.note = f"the store is a Chroma server ({settings.chroma_url}); run `chroma vacuum` on its directory"
        return result
    code = (
        "import sys\nfrom chromadb.cli.cli import app\n"
        "sys.argv = ['chroma', 'vacuum', '--path', sys.argv[1], '--force', '--timeout', sys.argv[2]]\napp()"
    )
    run = subprocess.run([sys.executable, "-c", code, str(settings.store_path), str(vacuum_timeout)],
                         capture_output=True, text=True, timeout=vacuum_timeout + 60)
    if run.returncode == 0:
        result.vacuumed = True
    else:
        detail = (run.stderr or run.stdout).strip().splitlines()
        result.note = f"`chroma vacuum` failed: {detail[-1] if detail else run.returncode}; stop the servers and retry"
    return result
