"""Keep the in-process index in step with Chroma, and hand queries the current snapshot.

Versioning. The Chroma collection's metadata holds ``index_token``; the index files
hold the token of the collection version they match. Every write through
``knowledge.indexing`` or ``knowledge.erase`` runs as one transaction under the
index's file lock:

1. set the token to ``dirty-<new>``;
2. write Chroma (the store of record);
3. apply the same change to the index snapshot and save it with token ``<new>``;
4. set the token to ``<new>``.

A reader compares the two tokens (one metadata read per query). Equal: the snapshot
is current. Different and the lock is free: something changed Chroma without the
index (a crash between 1 and 4, another host on a shared Chroma server, a restore),
so the index is rebuilt from the collection. Different and ``dirty-`` while a local
writer holds the lock: that write is in flight, and the current snapshot is served
(the SQL re-check of every hit keeps scope exact meanwhile). The row count is
compared on load as a second check.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from knowledge.index_files import IndexFiles
from knowledge.index_rows import RowBatch
from knowledge.segment import Segment
from knowledge.vector_index import IndexState, new_name

log = logging.getLogger(__name__)

TOKEN_KEY = "index_token"
DIRTY = "dirty-"
PAGE = 5_000
Progress = Callable[[int, int], None]


def _token() -> str:
    return uuid.uuid4().hex


class IndexWriter:
    """The changes one transaction makes to the snapshot (a no-op when no snapshot is kept here)."""

    def __init__(self, state: IndexState | None):
        self.state = state
        self.purge = False

    def add(self, batch: RowBatch) -> None:
        if self.state is not None and len(batch):
            if not self.state.dims:
                self.state = replace(self.state, dims=int(batch.vectors.shape[1]))
            self.state = self.state.add(batch)

    def remove_interactions(self, interaction_ids) -> None:
        if self.state is not None:
            self.state = self.state.remove_interactions(interaction_ids)

    def set_owner(self, owner: int, *, customer_id: int | None = None, interaction_ids=None) -> None:
        if self.state is not None:
            self.state = self.state.set_owner(owner, customer_id=customer_id, interaction_ids=interaction_ids)

    def erase_customer(self, customer_id: int) -> None:
        self.purge = True
        if self.state is not None:
            self.state = self.state.remove_customer(customer_id)


class IndexHandle:
    """One collection's index in this process: its files, its current snapshot, the token protocol."""

    def __init__(self, *, root: Path, client, name: str, embedding: str | None = None):
        self.root = root
        self.files = IndexFiles(root, embedding=embedding)
        self.client = client
        self.name = name
        self.state: IndexState | None = None
        self._suspect: str | None = None  # token of a snapshot whose row count disagreed with Chroma

    def _collection(self):
        return self.client.get_collection(self.name)

    def chroma_token(self, collection=None) -> str | None:
        return ((collection or self._collection()).metadata or {}).get(TOKEN_KEY)

    def _set_token(self, value: str) -> None:
        collection = self._collection()
        # modify() replaces the whole metadata mapping: keep what is there (the embedding variant).
        collection.modify(metadata={**(collection.metadata or {}), TOKEN_KEY: value})

    # ---- read -----------------------------------------------------------------------------
    def current(self, *, collection=None, build: bool = True, progress: Progress | None = None) -> IndexState | None:
        """The snapshot matching Chroma now: cached, reloaded from disk, or rebuilt (None: use Chroma).

        ``collection``: a collection object fetched just now (its metadata carries the token),
        which saves fetching it again.
        """
        token = self.chroma_token(collection)
        state = self.state
        usable = token is not None and not token.startswith(DIRTY) and token != self._suspect
        if usable and state is not None and state.token == token:
            return state
        if usable and self.files.disk_token() == token:
            loaded = self.files.load()
            if loaded is not None and loaded.token == token:
                self.state = loaded
                if state is None:
                    self._verify_count(loaded)
                return loaded
        if not build:
            return None
        dirty = token is not None and token.startswith(DIRTY)
        with self.files.locked(blocking=not dirty) as held:
            if not held:
                return state  # a write is in flight in another process; serve what we have
            collection = self._collection()
            token = self.chroma_token(collection)
            if token is not None and not token.startswith(DIRTY) and self.files.disk_token() == token:
                loaded = self.files.load()
                if loaded is not None and loaded.token == token and loaded.count == collection.count():
                    self.state, self._suspect = loaded, None
                    return loaded
            self.state = self._build(collection, progress)
            self._suspect = None
            return self.state

    def _verify_count(self, state: IndexState) -> None:
        """Compare row counts with Chroma in the background (a writer that bypassed the token).

        Counting a cold 1M-chunk collection took 6 s here, too long for the first query of a
        process to wait; a mismatch marks the snapshot suspect and the next query rebuilds.
        """
        def check() -> None:
            try:
                chroma = self._collection().count()
            except Exception:  # noqa: BLE001 - a check, not a requirement (the store may be gone in tests)
                log.debug("vector index count check failed", exc_info=True)
                return
            if chroma != state.count:
                log.warning("vector index has %d rows but Chroma %d: rebuilding on the next query", state.count, chroma)
                self._suspect = state.token
                if self.state is state:
                    self.state = None

        threading.Thread(target=check, name="vector-index-count", daemon=True).start()

    def _build(self, collection, progress: Progress | None) -> IndexState:
        """Read every chunk from Chroma into a fresh snapshot (call with the lock held)."""
        started = time.perf_counter()
        total = collection.count()
        log.info("building the in-process vector index of %s from %d chunks at %s", self.name, total, self.root)
        batches: list[RowBatch] = []
        done = 0
        if progress:
            progress(0, total)
        while done < total:
            page = collection.get(include=["embeddings", "documents", "metadatas"], limit=PAGE, offset=done)
            if not len(page["ids"]):
                break
            batches.append(RowBatch.from_chroma(page["ids"], page["embeddings"], page["metadatas"], page["documents"]))
            done += len(page["ids"])
            if progress:
                progress(min(done, total), total)
            if done // PAGE % 20 == 0:
                log.info("vector index: read %d/%d chunks", done, total)
        dims = int(batches[0].vectors.shape[1]) if batches else 0
        batch = RowBatch.concat(batches, dims)
        segments = (Segment.build(batch, name=new_name()),) if len(batch) else ()
        state = IndexState(token=_token(), dims=dims, segments=segments, dead=(None,) * len(segments))
        state = self.files.save(state)
        self._set_token(state.token)
        _remove_siblings(self.root)
        log.info("vector index built: %d chunks in %.1f s", len(batch), time.perf_counter() - started)
        return state

    # ---- write ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, *, keep: bool = True) -> Iterator[IndexWriter]:
        """One write transaction: Chroma writes inside the block, the snapshot and token after it.

        ``keep=False`` skips the snapshot (a bulk load: rebuilding afterwards is cheaper than
        applying it piecewise); the new token then marks the files stale. Errors inside the
        block (Chroma's) propagate; the index's own failures only cost a rebuild later.
        """
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.files.locked())
                usable = keep
            except OSError:
                log.warning("cannot lock the in-process index at %s; it will be rebuilt", self.root, exc_info=True)
                usable = False
            before = self.chroma_token()
            state = self.state if usable and self.state is not None and self.state.token == before else None
            if usable and state is None and before is not None and self.files.disk_token() == before:
                state = self.files.load()
            token = _token()
            self._set_token(DIRTY + token)
            writer = IndexWriter(state)
            yield writer
            saved = False
            if writer.state is not None:
                try:
                    final = replace(writer.state.compacted(purge=writer.purge), token=token)
                    self.state, saved = self.files.save(final), True
                except Exception:  # noqa: BLE001 - Chroma holds the write; the index catches up by rebuilding
                    log.warning("could not update the in-process index; it will be rebuilt", exc_info=True)
                    self.state = None
            if writer.purge and not saved:
                # Erasure with no current snapshot to purge: stale files may still hold the text.
                self.state = None
                try:
                    self.files.clear()
                except OSError:
                    log.error("could not delete the in-process index at %s after an erasure", self.root, exc_info=True)
            self._set_token(token)


def _remove_siblings(root: Path) -> None:
    """Indexes of earlier collections of the same name (dropped by ``crm index --rebuild``)."""
    name = root.name[: -len(_ID_SUFFIX)] if len(root.name) > len(_ID_SUFFIX) else root.name
    for path in root.parent.iterdir():
        if path == root or not path.is_dir() or not path.name.startswith(name + "-"):
            continue
        with contextlib.suppress(ValueError):
            uuid.UUID(path.name[len(name) + 1 :])
            IndexFiles(path).remove()


_ID_SUFFIX = "-" + "0" * 36  # "-" + a collection UUID


_HANDLES: dict[tuple[str, str, str | None], IndexHandle] = {}
_HANDLES_LOCK = threading.Lock()


def handle_for(client, collection, root: Path, *, embedding: str | None = None) -> IndexHandle:
    """The process-wide handle of one collection (by id: a dropped and recreated collection is another).

    ``embedding``: the encoder build the collection records; a snapshot saved under another
    is never served (rebuilt from Chroma instead), whatever its token says.
    """
    key = (str(root), str(collection.id), embedding)
    with _HANDLES_LOCK:
        if key not in _HANDLES:
            _HANDLES[key] = IndexHandle(root=root / f"{collection.name}-{collection.id}", client=client,
                                        name=collection.name, embedding=embedding)
        return _HANDLES[key]


def forget_handles() -> None:
    with _HANDLES_LOCK:
        _HANDLES.clear()

