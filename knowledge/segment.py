"""One immutable block of the in-process index: vectors, metadata columns, postings, search texts.

Rows are sorted by (owner, time), so one owner (a rep's book, the public pool) is one
contiguous slice, a scope is a handful of slices, and a period inside a slice is a
narrower slice found by binary search (no mask, no copy); a customer is one run of a
permutation sorted by customer. Postings map each token (a word as stored,
or a CJK bigram; see ``keywords.index_tokens``) to ascending rows with term
frequencies, so a keyword lookup inside a scope is a binary search per slice.

Large segments also keep a PCA-reduced copy of the vectors: a wide scan (the public
pool at 1M chunks) ranks on the narrow copy first and re-scores a short list
exactly, which reads a quarter of the bytes.

Saved as one ``.npy`` per array and opened memory-mapped, so loading a million rows
takes milliseconds and the page cache, not the Python heap, holds them.
"""

from __future__ import annotations

import bisect
import json
import shutil
from array import array
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from knowledge.index_rows import COLUMNS, RowBatch
from knowledge.keywords import index_tokens
from knowledge.row_filter import RowFilter
from knowledge.selection import Selection

COARSE_MIN_ROWS = 40_000  # smaller segments are scanned exactly; a reduced copy would not pay
COARSE_DIMS = 96
PCA_SAMPLE = 20_000
_TOKEN_CACHE = 50_000  # repeated texts (templated notes) are tokenised once per build
_MAX_PREFIX_TOKENS = 64
_SAMPLE_EVERY = 64  # beyond this many tokens under one prefix, read their postings as one span


class Segment:
    def __init__(self, name: str, arrays: dict[str, np.ndarray], info: dict):
        self.name = name
        self.a = arrays
        self.n = int(info["n"])
        self.dims = int(info["dims"])
        self.channel_labels: list[str] = info["channels"]
        self.kind_labels: list[str] = info["kinds"]
        self.vectors = arrays["vectors"]
        self.coarse = arrays.get("coarse")
        self.vocab_size = len(arrays["vocab_off"]) - 1
        self._sample: list[bytes] | None = None  # every _SAMPLE_EVERY-th token, for a fast first bisect

    # ---- building -------------------------------------------------------------------------
    @classmethod
    def build(cls, batch: RowBatch, *, name: str) -> Segment:
        n = len(batch)
        cols = batch.columns
        order = np.lexsort((cols["chunk"], cols["interaction"], cols["customer"], cols["when"], cols["owner"]))
        a: dict[str, np.ndarray] = {"vectors": np.ascontiguousarray(batch.vectors[order], dtype=np.float32)}
        for key in COLUMNS:
            a[f"col_{key}"] = np.ascontiguousarray(cols[key][order])
        channels, a["channel"] = _codes([batch.channels[i] for i in order])
        kinds, a["kind"] = _codes([batch.kinds[i] for i in order])
        a["ids"] = np.array([batch.ids[i].encode() for i in order], dtype=bytes) if n else np.zeros(0, dtype="S1")
        owner = a["col_owner"]
        a["owner_keys"], starts = np.unique(owner, return_index=True)
        a["owner_bounds"] = np.append(starts, n).astype(np.int64)
        a["by_customer"] = np.argsort(a["col_customer"], kind="stable").astype(np.int64)
        a["cust_keys"], starts = np.unique(a["col_customer"][a["by_customer"]], return_index=True)
        a["cust_bounds"] = np.append(starts, n).astype(np.int64)
        a["by_interaction"] = np.argsort(a["col_interaction"], kind="stable").astype(np.int64)
        a["inter_sorted"] = a["col_interaction"][a["by_interaction"]]
        docs = [batch.docs[i] for i in order]
        a["doc_blob"], a["doc_off"] = _blob(docs)
        a.update(_postings(docs))
        if n >= COARSE_MIN_ROWS:
            a.update(_pca(a["vectors"]))
        info = {"n": n, "dims": int(batch.vectors.shape[1]), "channels": channels, "kinds": kinds}
        return cls(name, a, info)

    def save(self, directory: Path) -> None:
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for key, value in self.a.items():
            np.save(tmp / f"{key}.npy", np.asarray(value))
        info = {"n": self.n, "dims": self.dims, "channels": self.channel_labels, "kinds": self.kind_labels}
        (tmp / "info.json").write_text(json.dumps(info))
        tmp.rename(directory)

    @classmethod
    def load(cls, directory: Path) -> Segment:
        info = json.loads((directory / "info.json").read_text())
        arrays = {}
        for path in directory.glob("*.npy"):
            # Empty arrays cannot be memory-mapped; they are free to read. asarray drops the
            # np.memmap subclass (same pages): its per-item __getitem__ overhead showed in profiles.
            arrays[path.stem] = np.asarray(np.load(path, mmap_mode="r" if path.stat().st_size > 256 else None))
        return cls(directory.name, arrays, info)

    # ---- rows by key ----------------------------------------------------------------------
    def col(self, key: str) -> np.ndarray:
        return self.a[f"col_{key}"]

    def rows_of_interactions(self, interaction_ids: np.ndarray) -> np.ndarray:
        keys = self.a["inter_sorted"]
        lo = np.searchsorted(keys, interaction_ids, side="left")
        hi = np.searchsorted(keys, interaction_ids, side="right")
        perm = self.a["by_interaction"]
        parts = [perm[a:b] for a, b in zip(lo, hi, strict=True) if b > a]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def rows_of_customers(self, customer_ids) -> np.ndarray:
        keys, bounds, perm = self.a["cust_keys"], self.a["cust_bounds"], self.a["by_customer"]
        at = np.searchsorted(keys, np.asarray(customer_ids, dtype=np.int64))
        parts = [perm[bounds[i] : bounds[i + 1]] for i, cid in zip(at, customer_ids, strict=True)
                 if i < len(keys) and keys[i] == cid]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def gather(self, rows: np.ndarray) -> RowBatch:
        """The rows as a batch (to move them to a new segment or merge segments)."""
        rows = np.asarray(rows, dtype=np.int64)
        channel, kind = self.a["channel"], self.a["kind"]
        return RowBatch(
            ids=[self.a["ids"][r].decode() for r in rows],
            vectors=np.asarray(self.vectors[rows], dtype=np.float32),
            columns={k: np.asarray(self.col(k)[rows]) for k in COLUMNS},
            channels=[self.channel_labels[channel[r]] for r in rows],
            kinds=[self.kind_labels[kind[r]] for r in rows],
            docs=[self.doc(int(r)) for r in rows],
        )

    def doc(self, row: int) -> str:
        off = self.a["doc_off"]
        return self.a["doc_blob"][off[row] : off[row + 1]].tobytes().decode()

    def metadata(self, rows: np.ndarray) -> list[dict]:
        """The rows' metadata under Chroma's keys (what fusion and hits read)."""
        rows = np.asarray(rows, dtype=np.int64)
        columns = {spec[0]: self.col(key)[rows].tolist() for key, spec in COLUMNS.items()}
        columns["channel"] = [self.channel_labels[c] for c in self.a["channel"][rows].tolist()]
        columns["kind"] = [self.kind_labels[c] for c in self.a["kind"][rows].tolist()]
        out = []
        for values in zip(*columns.values(), strict=True):
            meta = dict(zip(columns, values, strict=True))
            if meta["end"] < 0:
                del meta["end"]
            out.append(meta)
        return out

    def keys(self, rows: np.ndarray) -> list[str]:
        return [k.decode() for k in self.a["ids"][np.asarray(rows, dtype=np.int64)].tolist()]

    # ---- filtering ------------------------------------------------------------------------
    def select(self, f: RowFilter, dead: np.ndarray | None) -> Selection:
        if f.customers is not None:
            rows = self.rows_of_customers(list(f.customers))
            sel = Selection()
            if len(rows):
                keep = self._mask(rows, f, dead, owners=True)
                sel.add_rows(rows if keep is None else rows[keep])
            return sel
        if f.owners is not None:
            keys, bounds = self.a["owner_keys"], self.a["owner_bounds"]
            owners = sorted(set(f.owners))
            at = np.searchsorted(keys, np.asarray(owners, dtype=np.int64))
            spans = [(int(bounds[i]), int(bounds[i + 1])) for i, o in zip(at, owners, strict=True)
                     if i < len(keys) and keys[i] == o]
        else:
            spans = [(0, self.n)]
        sel = Selection()
        when = self.col("when")
        narrowed = replace(f, start=None, end=None)
        for start, end in spans:
            if f.owners is not None:  # time-sorted within an owner: the period is a sub-slice
                if f.start is not None:
                    start += int(np.searchsorted(when[start:end], f.start, side="left"))
                if f.end is not None:
                    end = start + int(np.searchsorted(when[start:end], f.end, side="left"))
                sel.add_range(start, end, self._mask(slice(start, end), narrowed, dead, owners=False))
            else:
                sel.add_range(start, end, self._mask(slice(start, end), f, dead, owners=False))
        return sel

    def _mask(self, rows, f: RowFilter, dead: np.ndarray | None, *, owners: bool) -> np.ndarray | None:
        """Rows (a slice or an index array) passing every condition but the one that chose them; None = all."""
        mask = None

        def both(cond):
            nonlocal mask
            mask = cond if mask is None else (mask & cond)

        if owners and f.owners is not None:
            both(np.isin(self.col("owner")[rows], f.owners))
        if f.start is not None:
            both(self.col("when")[rows] >= f.start)
        if f.end is not None:
            both(self.col("when")[rows] < f.end)
        if f.channels is not None:
            both(np.isin(self.a["channel"][rows], _wanted(self.channel_labels, f.channels)))
        if f.kinds is not None:
            both(np.isin(self.a["kind"][rows], _wanted(self.kind_labels, f.kinds)))
        if f.staff is not None:
            both(np.isin(self.col("staff")[rows], f.staff))
        if dead is not None:
            gone = dead[rows]
            if gone.any():
                both(~gone)
        return mask

    # ---- terms ----------------------------------------------------------------------------
    def _vocab(self, i: int) -> bytes:
        off = self.a["vocab_off"]
        return self.a["vocab_blob"][off[i] : off[i + 1]].tobytes()

    def _bisect(self, key: bytes) -> int:
        """First vocabulary id whose token is >= key: a C bisect over every 64th token, then a short one."""
        if self._sample is None:
            self._sample = [self._vocab(i) for i in range(0, self.vocab_size, _SAMPLE_EVERY)]
        block = bisect.bisect_left(self._sample, key)
        lo = max(0, (block - 1) * _SAMPLE_EVERY + 1)
        hi = min(self.vocab_size, block * _SAMPLE_EVERY)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._vocab(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def token_span(self, token: str, *, prefix: bool) -> tuple[int, int]:
        """Vocabulary ids [lo, hi) of a token, or of every token starting with it."""
        key = token.encode()
        lo = self._bisect(key)
        if prefix:
            return lo, self._bisect(key + b"\xff")  # 0xff never occurs in UTF-8
        return (lo, lo + 1) if lo < self.vocab_size and self._vocab(lo) == key else (lo, lo)

    def postings(self, token: str, sel: Selection, *, prefix: bool) -> tuple[np.ndarray, np.ndarray]:
        """(rows, term frequency) of the selected rows containing the token (or a token it prefixes)."""
        lo, hi = self.token_span(token, prefix=prefix)
        off, rows_all, tf_all = self.a["post_off"], self.a["post_rows"], self.a["post_tf"]
        if hi <= lo:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if hi - lo == 1 or hi - lo > _MAX_PREFIX_TOKENS:
            spans = [(int(off[lo]), int(off[hi]))]
        else:
            spans = [(int(off[i]), int(off[i + 1])) for i in range(lo, hi)]
        rows_parts, tf_parts = [], []
        for a, b in spans:
            rows = np.asarray(rows_all[a:b])
            tf = np.asarray(tf_all[a:b], dtype=np.float32)
            if len(spans) == 1 and hi - lo > 1:
                # One span over many tokens is not sorted by row, and a row may appear per token.
                rows, inverse = np.unique(rows, return_inverse=True)
                tf = np.bincount(inverse, weights=tf).astype(np.float32)
            inside = sel.restrict(rows)
            if len(inside):
                at = np.searchsorted(rows, inside)
                rows_parts.append(inside.astype(np.int64))
                tf_parts.append(tf[at])
        if not rows_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows = np.concatenate(rows_parts)
        tf = np.concatenate(tf_parts)
        if len(rows_parts) > 1:
            rows, inverse = np.unique(rows, return_inverse=True)
            tf = np.bincount(inverse, weights=tf).astype(np.float32)
        return rows, tf


def _wanted(labels: list[str], values) -> list[int]:
    chosen = set(values)
    return [i for i, label in enumerate(labels) if label in chosen]


def _codes(values: list[str]) -> tuple[list[str], np.ndarray]:
    labels = sorted(set(values))
    index = {label: i for i, label in enumerate(labels)}
    return labels, np.array([index[v] for v in values], dtype=np.int16)


def _blob(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [t.encode() for t in texts]
    off = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=off[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), off


def _postings(docs: list[str]) -> dict[str, np.ndarray]:
    vocab: dict[str, int] = {}
    tokens, freqs, per_doc = array("i"), array("i"), np.zeros(len(docs), dtype=np.int64)
    cache: dict[str, tuple[list[int], list[int]]] = {}
    for row, doc in enumerate(docs):
        hit = cache.get(doc)
        if hit is None:
            counts = Counter(index_tokens(doc))
            hit = ([vocab.setdefault(t, len(vocab)) for t in counts], list(counts.values()))
            if len(cache) < _TOKEN_CACHE:
                cache[doc] = hit
        tokens.extend(hit[0])
        freqs.extend(hit[1])
        per_doc[row] = len(hit[0])
    words = sorted(vocab)  # code-point order is UTF-8 byte order, which lookups bisect on
    remap = np.zeros(len(words), dtype=np.int64)
    remap[[vocab[w] for w in words]] = np.arange(len(words))
    tok = remap[np.frombuffer(tokens, dtype=np.int32)] if len(tokens) else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(len(docs), dtype=np.int32), per_doc)
    order = np.argsort(tok, kind="stable")  # rows stay ascending within a token
    post_off = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.bincount(tok, minlength=len(words)), out=post_off[1:])
    vocab_blob, vocab_off = _blob(words)
    tf = np.frombuffer(freqs, dtype=np.int32)[order] if len(freqs) else np.zeros(0, dtype=np.int32)
    return {"vocab_blob": vocab_blob, "vocab_off": vocab_off, "post_off": post_off, "post_rows": rows[order],
            "post_tf": np.minimum(tf, 65535).astype(np.uint16)}


def _pca(vectors: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    sample = vectors[np.sort(rng.choice(len(vectors), size=min(PCA_SAMPLE, len(vectors)), replace=False))]
    mean = sample.mean(axis=0)
    _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)
    components = np.ascontiguousarray(vt[:COARSE_DIMS], dtype=np.float32)
    coarse = np.empty((len(vectors), COARSE_DIMS), dtype=np.float32)
    for start in range(0, len(vectors), 100_000):
        coarse[start : start + 100_000] = (vectors[start : start + 100_000] - mean) @ components.T
    return {"coarse": coarse, "pca_mean": mean.astype(np.float32), "pca_components": components}
