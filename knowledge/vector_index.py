"""The in-process filtered index: an immutable snapshot of segments plus dead-row masks.

Chroma stays the store of record; this is a derived copy laid out for filtered
exact search (see ``knowledge.segment``). Writes never modify a segment: new chunks
become a new small segment, removed ones are marked dead, an owner change marks the
rows dead and re-adds them under the new owner. Small segments are merged as they
pile up, and everything folds back into one segment once the small ones outgrow a
share of the main one, so queries touch a handful of segments at most.

A snapshot is never mutated: every operation returns a new one, so a query running
in another thread keeps a consistent view without a lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from knowledge.index_rows import RowBatch
from knowledge.keywords import Term, index_tokens, is_cjk, search_text
from knowledge.row_filter import RowFilter
from knowledge.segment import Segment
from knowledge.selection import Selection, one_blas_thread, top

MAX_SEGMENTS = 8
# Fold small segments into the main one when they hold this share of its rows (or this many).
MERGE_SHARE = 0.05
MERGE_MIN_ROWS = 20_000
DEAD_SHARE = 0.2
# Wide scans rank on the PCA copy first, then re-score this many rows exactly.
COARSE_SCAN_ROWS = 30_000
SHORTLIST = 512
PHRASE_CHECK_CAP = 5_000

Ref = tuple[int, int]  # (segment position in the snapshot, row)


def new_name() -> str:
    return f"seg-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class IndexState:
    token: str
    dims: int
    segments: tuple[Segment, ...] = ()
    dead: tuple[np.ndarray | None, ...] = ()

    # ---- size -----------------------------------------------------------------------------
    def alive(self, i: int) -> int:
        dead = self.dead[i]
        return self.segments[i].n - (0 if dead is None else int(np.count_nonzero(dead)))

    @property
    def count(self) -> int:
        return sum(self.alive(i) for i in range(len(self.segments)))

    # ---- queries --------------------------------------------------------------------------
    def selections(self, f: RowFilter) -> list[Selection]:
        return [seg.select(f, self.dead[i]) for i, seg in enumerate(self.segments)]

    def nearest(self, query: np.ndarray, sels: list[Selection], k: int) -> list[tuple[Ref, float]]:
        """Exact top-k by dot product (cosine: rows and query are unit length) over the selections."""
        with one_blas_thread():
            return self._nearest(query, sels, k)

    def _nearest(self, query: np.ndarray, sels: list[Selection], k: int) -> list[tuple[Ref, float]]:
        found_rows, found_scores, found_seg = [], [], []
        for i, (seg, sel) in enumerate(zip(self.segments, sels, strict=True)):
            if seg.coarse is not None and sel.count > COARSE_SCAN_ROWS:
                rows, scores = sel.scores(seg.coarse, seg.a["pca_components"] @ query)
                rows, _ = top(rows, scores, max(SHORTLIST, 4 * k))
                rows = np.sort(rows)
                scores = np.asarray(seg.vectors[rows] @ query)
            else:
                rows, scores = sel.scores(seg.vectors, query)
            rows, scores = top(rows, scores, k)
            found_rows.append(rows)
            found_scores.append(scores)
            found_seg.append(np.full(len(rows), i))
        if not found_rows:
            return []
        rows, scores, segs = (np.concatenate(x) for x in (found_rows, found_scores, found_seg))
        order = np.lexsort((rows, segs, -scores))[:k]
        return [((int(segs[j]), int(rows[j])), float(scores[j])) for j in order]

    def similarity(self, refs: list[Ref], query: np.ndarray) -> list[float]:
        out = np.zeros(len(refs), dtype=np.float32)
        segs = np.array([s for s, _ in refs], dtype=np.int64)
        rows = np.array([r for _, r in refs], dtype=np.int64)
        for s in np.unique(segs):
            pick = segs == s
            out[pick] = self.segments[int(s)].vectors[rows[pick]] @ query
        return out.tolist()

    def term(self, term: Term, sels: list[Selection]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per segment, (rows, term frequency) of selected rows whose search text holds the term."""
        out = []
        for seg, sel in zip(self.segments, sels, strict=True):
            if term.kind == "phrase":
                out.append(_phrase(seg, sel, term))
            else:
                out.append(seg.postings(term.text, sel, prefix=term.kind != "cjk"))
        return out

    def find(self, interaction_id: int, chunk: int) -> Ref | None:
        """The live row of one chunk, if the snapshot holds it."""
        for i, seg in enumerate(self.segments):
            rows = seg.rows_of_interactions(np.array([interaction_id], dtype=np.int64))
            rows = rows[np.asarray(seg.col("chunk")[rows]) == chunk]
            if self.dead[i] is not None:
                rows = rows[~self.dead[i][rows]]
            if len(rows):
                return i, int(rows[0])
        return None

    def key(self, ref: Ref) -> str:
        return self.segments[ref[0]].a["ids"][ref[1]].decode()

    def describe(self, refs: list[Ref]) -> list[tuple[str, dict]]:
        """(chunk id, metadata) per ref, read column-wise per segment."""
        out: list[tuple[str, dict] | None] = [None] * len(refs)
        by_segment: dict[int, list[int]] = {}
        for pos, (s, _) in enumerate(refs):
            by_segment.setdefault(s, []).append(pos)
        for s, positions in by_segment.items():
            rows = np.array([refs[p][1] for p in positions], dtype=np.int64)
            seg = self.segments[s]
            for p, key, meta in zip(positions, seg.keys(rows), seg.metadata(rows), strict=True):
                out[p] = (key, meta)
        return out  # type: ignore[return-value]

    # ---- writes (each returns a new snapshot) ----------------------------------------------
    def add(self, batch: RowBatch) -> IndexState:
        """Upsert whole interactions: any earlier chunks of the batch's interactions go first."""
        if not len(batch):
            return self
        state = self.remove_interactions(np.unique(batch.columns["interaction"]))
        segment = Segment.build(batch, name=new_name())
        return replace(state, segments=(*state.segments, segment), dead=(*state.dead, None))

    def remove_interactions(self, interaction_ids: Iterable[int]) -> IndexState:
        ids = np.unique(np.asarray(list(interaction_ids), dtype=np.int64))
        return self._kill([seg.rows_of_interactions(ids) for seg in self.segments])

    def remove_customer(self, customer_id: int) -> IndexState:
        return self._kill([seg.rows_of_customers([int(customer_id)]) for seg in self.segments])

    def set_owner(self, owner: int, *, customer_id: int | None = None,
                  interaction_ids: Iterable[int] | None = None) -> IndexState:
        """Re-file rows under a new owner: the rows move to a new segment so every owner stays one slice."""
        moved, kill = [], []
        ids = None if interaction_ids is None else np.unique(np.asarray(list(interaction_ids), dtype=np.int64))
        for i, seg in enumerate(self.segments):
            rows = seg.rows_of_customers([int(customer_id)]) if ids is None else seg.rows_of_interactions(ids)
            rows = rows[self._alive_mask(i, rows)]
            rows = rows[np.asarray(seg.col("owner")[rows]) != owner]
            kill.append(rows)
            if len(rows):
                moved.append(seg.gather(rows).with_owner(owner))
        if not moved:
            return self
        state = self._kill(kill)
        batch = RowBatch.concat(moved, self.dims)
        return replace(state, segments=(*state.segments, Segment.build(batch, name=new_name())),
                       dead=(*state.dead, None))

    def _alive_mask(self, i: int, rows: np.ndarray) -> np.ndarray:
        dead = self.dead[i]
        return np.ones(len(rows), dtype=bool) if dead is None else ~dead[rows]

    def _kill(self, rows_per_segment: list[np.ndarray]) -> IndexState:
        dead = list(self.dead)
        for i, rows in enumerate(rows_per_segment):
            if len(rows):
                mask = np.zeros(self.segments[i].n, dtype=bool) if dead[i] is None else dead[i].copy()
                mask[rows] = True
                dead[i] = mask
        return replace(self, dead=tuple(dead))

    # ---- upkeep ---------------------------------------------------------------------------
    def compacted(self, *, purge: bool = False) -> IndexState:
        """Drop dead segments and merge small ones; ``purge`` rewrites every segment holding a dead row.

        Purging is how erasure reaches the files: a dead row's vector, text and tokens are
        still on disk until its segment is rewritten without it.
        """
        keep = [i for i in range(len(self.segments)) if self.alive(i) > 0]
        segs = [self.segments[i] for i in keep]
        dead = [self.dead[i] for i in keep]
        if not segs:
            return replace(self, segments=(), dead=())
        main_alive = self.alive(keep[0])
        small_alive = sum(self.alive(i) for i in keep[1:])
        main_dead = 0 if dead[0] is None else int(np.count_nonzero(dead[0]))
        if purge or small_alive > max(MERGE_MIN_ROWS, MERGE_SHARE * main_alive) or main_dead > DEAD_SHARE * segs[0].n:
            groups = [list(range(len(segs)))] if not purge else [[i] for i in range(len(segs)) if dead[i] is not None]
        elif len(segs) > MAX_SEGMENTS:
            groups = [list(range(1, len(segs)))]
        else:
            groups = []
        for group in groups:
            rows = [np.flatnonzero(~dead[i]) if dead[i] is not None else np.arange(segs[i].n) for i in group]
            batch = RowBatch.concat([segs[i].gather(r) for i, r in zip(group, rows, strict=True)], self.dims)
            merged = Segment.build(batch, name=new_name())
            segs[group[0]], dead[group[0]] = merged, None
            for i in group[1:]:
                segs[i] = None  # type: ignore[call-overload]
        pairs = [(s, d) for s, d in zip(segs, dead, strict=True) if s is not None]
        # The largest segment first: it is the "main" one the merge policy measures against.
        pairs.sort(key=lambda p: -p[0].n)
        return replace(self, segments=tuple(p[0] for p in pairs), dead=tuple(p[1] for p in pairs))


def _phrase(seg: Segment, sel: Selection, term: Term) -> tuple[np.ndarray, np.ndarray]:
    """Rows holding every token of the phrase, then checked against the text itself."""
    tokens = index_tokens(search_text(term.text))
    rows = None
    for token in dict.fromkeys(tokens):
        found, _ = seg.postings(token, sel, prefix=not is_cjk(token))
        rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
        if not len(rows):
            break
    if rows is None or not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    rows = rows[:PHRASE_CHECK_CAP]
    counts = np.array([seg.doc(int(r)).count(term.pattern) for r in rows], dtype=np.float32)
    keep = counts > 0
    return rows[keep], counts[keep]
