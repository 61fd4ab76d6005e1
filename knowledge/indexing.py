"""Keep the vector index in step with the interaction table.

The SQL database is the truth; Chroma holds a derived copy. A sync compares the
two by content hash: new and changed interactions are chunked and embedded,
deleted ones are removed, and an owner change only rewrites metadata (no
re-embedding), so ``crm index`` after a small edit takes seconds.

Chroma is read, not a side file, to learn what is indexed: a second process, a
restore, or a remote server can change it, and a side file would drift.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from knowledge.documents import ChunkRecord, InteractionDoc, build_chunks, chunk_id, interaction_id_of
from knowledge.embeddings import embed
from knowledge.index_rows import RowBatch
from knowledge.index_sync import IndexWriter
from knowledge.settings import get_settings
from knowledge.store import drop_collection, get_collection, index_handle
from storage.db import get_engine
from storage.models import Customer, Interaction
from storage.scope import POOL_OWNER_ID

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_STATE_PAGE = 10_000
_SQL_PAGE = 900  # under SQLite's bound-parameter limit for IN (...)
_BULK_MIN = 20_000
_BULK_SHARE = 0.2


class IndexReport(BaseModel):
    checked: int = 0
    added: int = 0
    changed: int = 0
    deleted: int = 0
    owner_updates: int = 0
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.changed


@dataclass(frozen=True)
class _Indexed:
    hash: str
    owner_id: int
    n_chunks: int


def _doc_columns():
    return (
        Interaction.id, Interaction.customer_id, Customer.owner_id, Interaction.staff_id, Interaction.channel,
        Interaction.kind, Interaction.subject, Interaction.body, Interaction.sentiment, Interaction.language,
        Interaction.external_id, Interaction.occurred_at,
    )


def _docs(session: Session, *where) -> Iterator[InteractionDoc]:
    stmt = select(*_doc_columns()).join(Customer, Customer.id == Interaction.customer_id).where(*where)
    fields = list(InteractionDoc.model_fields)
    for row in session.exec(stmt.execution_options(yield_per=5_000)):
        yield InteractionDoc.model_construct(**dict(zip(fields, row, strict=True)))


def iter_documents(session: Session) -> Iterator[InteractionDoc]:
    """Every interaction as indexing sees it (streamed)."""
    return _docs(session)


def _indexed_state(collection) -> dict[int, _Indexed]:
    """What the index holds: one entry per interaction, read from each interaction's first chunk."""
    state: dict[int, _Indexed] = {}
    offset = 0
    while True:
        page = collection.get(where={"chunk": 0}, include=["metadatas"], limit=_STATE_PAGE, offset=offset)
        for meta in page["metadatas"]:
            state[int(meta["interaction_id"])] = _Indexed(
                hash=str(meta.get("hash", "")),
                owner_id=int(meta.get("owner_id", POOL_OWNER_ID)),
                n_chunks=int(meta.get("n_chunks", 1)),
            )
        if len(page["ids"]) < _STATE_PAGE:
            return state
        offset += _STATE_PAGE


def _chunk_ids(entries: Iterable[tuple[int, int]]) -> list[str]:
    return [chunk_id(iid, k) for iid, n in entries for k in range(n)]


def _batched(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _records(docs: list[InteractionDoc]) -> tuple[list[ChunkRecord], np.ndarray]:
    """Chunks and their vectors (the slow part: done before any lock is taken)."""
    settings = get_settings()
    records: list[ChunkRecord] = [r for d in docs for r in build_chunks(d, max_tokens=settings.chunk_tokens)]
    return records, embed([r.embed_text for r in records], variant=settings.embedding)


def _upsert(collection, writer: IndexWriter, records: list[ChunkRecord], vectors: np.ndarray) -> None:
    for part in _batched(list(range(len(records))), 5_000):
        collection.upsert(
            ids=[records[i].id for i in part],
            embeddings=vectors[part],
            documents=[records[i].document for i in part],
            metadatas=[records[i].metadata for i in part],
        )
    writer.add(RowBatch.from_records(records, vectors))


def _embed_ids(session: Session, collection, ids: list[int], report: IndexReport, progress: Progress | None,
               *, keep: bool = True) -> None:
    batch_size = get_settings().index_batch_size
    handle = index_handle(collection)
    done = 0
    for batch in _batched(ids, batch_size):
        docs = [d for part in _batched(batch, _SQL_PAGE) for d in _docs(session, Interaction.id.in_(part))]
        records, vectors = _records(docs)
        if records:
            with handle.writing(keep=keep) as writer:
                _upsert(collection, writer, records, vectors)
        report.chunks_written += len(records)
        done += len(batch)
        if progress:
            progress(done, len(ids))


def sync_index(*, rebuild: bool = False, engine: Engine | None = None, progress: Progress | None = None,
               index_progress: Progress | None = None) -> IndexReport:
    """Bring the index in line with the database; ``rebuild`` starts from an empty collection.

    ``progress`` reports interactions embedded; ``index_progress`` reports chunks read back
    from Chroma when the in-process index is (re)built at the end (after a bulk load).
    """
    started = time.perf_counter()
    if rebuild:
        drop_collection()
    collection = get_collection()
    indexed = _indexed_state(collection)
    report = IndexReport()
    to_embed: list[int] = []
    stale: list[tuple[int, int]] = []
    owner_moves: dict[int, list[tuple[int, int]]] = {}
    with Session(engine or get_engine()) as session:
        seen: set[int] = set()
        for doc in _docs(session):
            report.checked += 1
            seen.add(doc.id)
            have = indexed.get(doc.id)
            if have is None:
                report.added += 1
                to_embed.append(doc.id)
            elif have.hash != doc.content_hash():
                report.changed += 1
                to_embed.append(doc.id)
                stale.append((doc.id, have.n_chunks))
            elif have.owner_id != doc.owner_key:
                owner_moves.setdefault(doc.owner_key, []).append((doc.id, have.n_chunks))
        gone = [(iid, have.n_chunks) for iid, have in indexed.items() if iid not in seen]
        report.deleted = len(gone)
        # A bulk load is cheaper to read back into the in-process index once than to apply piecewise.
        keep = len(to_embed) <= max(_BULK_MIN, _BULK_SHARE * len(indexed))
        if stale or gone or owner_moves:
            with index_handle(collection).writing(keep=keep) as writer:
                for part in _batched(_chunk_ids(stale + gone), 5_000):
                    collection.delete(ids=part)
                writer.remove_interactions([iid for iid, _ in stale + gone])
                for owner, entries in owner_moves.items():
                    report.owner_updates += len(entries)
                    _set_owner(collection, _chunk_ids(entries), owner)
                    writer.set_owner(owner, interaction_ids=[iid for iid, _ in entries])
        if progress:
            progress(0, len(to_embed))
        _embed_ids(session, collection, to_embed, report, progress, keep=keep)
    if get_settings().vector_index:
        # Build or refresh the in-process index now, so the first query after `crm index` does not.
        try:
            index_handle(collection).current(progress=index_progress)
        except Exception:  # noqa: BLE001 - Chroma is up to date; queries fall back to it
            log.warning("could not build the in-process vector index", exc_info=True)
    report.seconds = round(time.perf_counter() - started, 3)
    log.info("index sync: %s", report.model_dump())
    return report


def index_interactions(ids: Iterable[int], *, engine: Engine | None = None) -> IndexReport:
    """(Re)index these interactions now, e.g. right after ``log_interaction`` wrote one.

    Ids that no longer exist in the database are removed from the index.
    """
    wanted = sorted({int(i) for i in ids})
    report = IndexReport(checked=len(wanted))
    if not wanted:
        return report
    started = time.perf_counter()
    collection = get_collection()
    with Session(engine or get_engine()) as session:
        docs = [d for part in _batched(wanted, _SQL_PAGE) for d in _docs(session, Interaction.id.in_(part))]
    present = {d.id for d in docs}
    records, vectors = _records(docs)
    with index_handle(collection).writing() as writer:
        old = collection.get(where={"interaction_id": {"$in": wanted}}, include=[])["ids"]
        if old:
            collection.delete(ids=old)
        writer.remove_interactions(wanted)
        if records:
            _upsert(collection, writer, records, vectors)
    before = {interaction_id_of(c) for c in old}
    report.deleted = len(before - present)
    report.added = len(present - before)
    report.changed = len(present & before)
    report.chunks_written = len(records)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _set_owner(collection, ids: list[str], owner_key: int) -> None:
    for part in _batched(ids, 5_000):
        collection.update(ids=part, metadatas=[{"owner_id": owner_key}] * len(part))


def update_owner(customer_id: int, owner_id: int | None) -> int:
    """Point every chunk of a customer at a new owner (None = public pool); returns chunks updated.

    Called by the tools that assign, claim or release a customer, so scope filters
    in the index follow ownership at once rather than at the next ``crm index``.
    """
    # Metadata only, no vectors: ownership must reach the index whichever encoder build made it.
    collection = get_collection(embedding_check=False)
    owner_key = POOL_OWNER_ID if owner_id is None else int(owner_id)
    with index_handle(collection).writing() as writer:
        ids = collection.get(where={"customer_id": int(customer_id)}, include=[])["ids"]
        _set_owner(collection, ids, owner_key)
        writer.set_owner(owner_key, customer_id=int(customer_id))
    return len(ids)


def rebuild_index(*, engine: Engine | None = None, progress: Progress | None = None) -> IndexReport:
    return sync_index(rebuild=True, engine=engine, progress=progress)
