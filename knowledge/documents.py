"""From an interaction row to the chunks stored in Chroma: ids, search text, metadata.

Metadata is what retrieval filters on server-side (customer, owner, channel, kind,
time) plus what incremental indexing compares (content hash). Chroma metadata
cannot hold NULL, so absent values are left out and the public pool is owner 0.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel

from knowledge.chunking import chunk_text
from knowledge.keywords import search_text
from storage.scope import POOL_OWNER_ID

Metadata = dict[str, str | int | float | bool]
# Part of every content hash: bump it when chunking or search text changes, and the next
# sync re-indexes everything (an old format is indistinguishable from changed content).
FORMAT_VERSION = 2


class InteractionDoc(BaseModel):
    """The fields of one interaction that indexing needs (read in bulk, without the ORM)."""

    id: int
    customer_id: int
    owner_id: int | None
    staff_id: int | None
    channel: str
    kind: str
    subject: str | None
    body: str
    sentiment: float | None
    language: str | None
    external_id: str | None
    occurred_at: datetime

    @property
    def text(self) -> str:
        subject = (self.subject or "").strip()
        return f"{subject}\n{self.body}" if subject else self.body

    @property
    def owner_key(self) -> int:
        return POOL_OWNER_ID if self.owner_id is None else self.owner_id

    def content_hash(self) -> str:
        # Everything that shapes a chunk's text or metadata except the owner, which changes
        # by itself (assign, claim, release) and is updated without re-embedding.
        parts = [
            FORMAT_VERSION, self.text, self.customer_id, self.staff_id, self.channel, self.kind, self.sentiment,
            self.language, self.external_id, epoch_seconds(self.occurred_at),
        ]
        return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=12).hexdigest()


class ChunkRecord(BaseModel):
    id: str
    embed_text: str
    document: str
    metadata: Metadata


def epoch_seconds(when: datetime) -> int:
    # Stored datetimes are naive UTC (see storage.models.timeutil).
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return int(aware.timestamp())


def chunk_id(interaction_id: int, index: int) -> str:
    return f"i{interaction_id}:{index}"


def interaction_id_of(chunk_id_: str) -> int:
    return int(chunk_id_[1:].split(":", 1)[0])


def build_chunks(doc: InteractionDoc, *, max_tokens: int) -> list[ChunkRecord]:
    chunks = chunk_text(doc.text, max_tokens=max_tokens)
    if not chunks:
        # An empty note is still an interaction someone may list; index its kind and channel.
        chunks = chunk_text(f"{doc.kind} {doc.channel}", max_tokens=max_tokens)
    content_hash = doc.content_hash()
    base: Metadata = {
        "interaction_id": doc.id,
        "customer_id": doc.customer_id,
        "owner_id": doc.owner_key,
        "staff_id": doc.staff_id or 0,
        "channel": doc.channel,
        "kind": doc.kind,
        "occurred_at": epoch_seconds(doc.occurred_at),
        "date": doc.occurred_at.date().isoformat(),
        "hash": content_hash,
        "n_chunks": len(chunks),
    }
    if doc.sentiment is not None:
        base["sentiment"] = float(doc.sentiment)
    if doc.language:
        base["language"] = doc.language
    if doc.external_id:
        base["external_id"] = doc.external_id
    return [
        ChunkRecord(
            id=chunk_id(doc.id, c.index),
            embed_text=c.text,
            document=search_text(c.text),
            metadata={**base, "chunk": c.index, "start": c.start, "end": c.end},
        )
        for c in chunks
    ]
