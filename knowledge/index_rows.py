"""Chunk rows of the in-process index as plain arrays: from Chroma pages, from fresh records, or regathered.

One row is one Chroma record: its id, vector, search text and the metadata that
filters read. A batch is columnar so building a segment is array work, not a loop
over dicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storage.scope import POOL_OWNER_ID

# Column -> (Chroma metadata key, dtype, default when the key is absent).
COLUMNS: dict[str, tuple[str, type, int | None]] = {
    "interaction": ("interaction_id", np.int64, None),
    "customer": ("customer_id", np.int64, None),
    "owner": ("owner_id", np.int64, POOL_OWNER_ID),
    "staff": ("staff_id", np.int64, 0),
    "when": ("occurred_at", np.int64, None),
    "chunk": ("chunk", np.int32, 0),
    "start": ("start", np.int32, 0),
    "end": ("end", np.int32, -1),  # -1: the whole text
}


class RowError(ValueError):
    """A Chroma record lacks metadata the index needs (not written by ``knowledge.indexing``)."""


@dataclass
class RowBatch:
    ids: list[str]
    vectors: np.ndarray
    columns: dict[str, np.ndarray]
    channels: list[str]
    kinds: list[str]
    docs: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls, dims: int) -> RowBatch:
        return cls(ids=[], vectors=np.zeros((0, dims), dtype=np.float32),
                   columns={k: np.zeros(0, dtype=spec[1]) for k, spec in COLUMNS.items()},
                   channels=[], kinds=[], docs=[])

    @classmethod
    def from_chroma(cls, ids: Sequence[str], embeddings, metadatas: Sequence[dict], documents: Sequence[str | None]) -> RowBatch:
        columns = {}
        for name, (key, dtype, default) in COLUMNS.items():
            try:
                values = [m.get(key, default) if default is not None else m[key] for m in metadatas]
            except KeyError as exc:
                raise RowError(f"a chunk has no {exc.args[0]!r} metadata") from None
            columns[name] = np.asarray(values, dtype=dtype)
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(len(ids), -1)
        return cls(ids=list(ids), vectors=vectors, columns=columns,
                   channels=[str(m.get("channel", "")) for m in metadatas],
                   kinds=[str(m.get("kind", "")) for m in metadatas], docs=[d or "" for d in documents])

    @classmethod
    def from_records(cls, records: Sequence, vectors: np.ndarray) -> RowBatch:
        """From ``knowledge.documents.ChunkRecord`` objects and their vectors (what indexing just wrote)."""
        return cls.from_chroma([r.id for r in records], vectors, [r.metadata for r in records],
                               [r.document for r in records])

    @classmethod
    def concat(cls, batches: Sequence[RowBatch], dims: int) -> RowBatch:
        batches = [b for b in batches if len(b)]
        if not batches:
            return cls.empty(dims)
        if len(batches) == 1:
            return batches[0]
        return cls(
            ids=[i for b in batches for i in b.ids],
            vectors=np.concatenate([b.vectors for b in batches]),
            columns={k: np.concatenate([b.columns[k] for b in batches]) for k in COLUMNS},
            channels=[c for b in batches for c in b.channels],
            kinds=[c for b in batches for c in b.kinds],
            docs=[d for b in batches for d in b.docs],
        )

    def with_owner(self, owner: int) -> RowBatch:
        columns = dict(self.columns)
        columns["owner"] = np.full(len(self), owner, dtype=np.int64)
        return RowBatch(ids=self.ids, vectors=self.vectors, columns=columns, channels=self.channels,
                        kinds=self.kinds, docs=self.docs)
