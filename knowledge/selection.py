"""Which rows of one segment a query may read, and exact dot-product scores over them.

A selection is a few contiguous row ranges (an owner's rows, the public pool), each
optionally thinned by a boolean mask (a month, a channel, dead rows), or an explicit
sorted row list (one customer's rows). Ranges are scored as views of the memory-mapped
matrix, so a large selection costs one matrix-vector product and no copy; sparse ones
are gathered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Below this share of a range, gathering the few selected rows beats scoring the whole range.
GATHER_BELOW = 0.25


@dataclass
class Selection:
    ranges: list[tuple[int, int, np.ndarray | None]] = field(default_factory=list)
    rows: np.ndarray | None = None  # sorted

    def add_range(self, start: int, end: int, mask: np.ndarray | None) -> None:
        if end <= start:
            return
        if mask is None:
            self.ranges.append((start, end, None))
            return
        hits = int(np.count_nonzero(mask))
        if hits == 0:
            return
        if hits == end - start:
            self.ranges.append((start, end, None))
        elif hits < GATHER_BELOW * (end - start):
            self.add_rows(start + np.flatnonzero(mask))
        else:
            self.ranges.append((start, end, mask))

    def add_rows(self, rows: np.ndarray) -> None:
        if len(rows):
            self.rows = rows if self.rows is None else np.union1d(self.rows, rows)

    @property
    def count(self) -> int:
        total = sum((e - s) if m is None else int(np.count_nonzero(m)) for s, e, m in self.ranges)
        return total + (0 if self.rows is None else len(self.rows))

    def all_rows(self) -> np.ndarray:
        parts = [np.arange(s, e) if m is None else s + np.flatnonzero(m) for s, e, m in self.ranges]
        if self.rows is not None:
            parts.append(self.rows)
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def restrict(self, sorted_rows: np.ndarray) -> np.ndarray:
        """The part of an ascending row array (a posting list) that lies inside the selection."""
        if not len(sorted_rows):
            return sorted_rows
        parts = []
        for start, end, mask in self.ranges:
            lo, hi = np.searchsorted(sorted_rows, [start, end])
            sub = sorted_rows[lo:hi]
            parts.append(sub if mask is None else sub[mask[sub - start]])
        if self.rows is not None and len(self.rows):
            # The smaller side drives the search: a customer's 40 rows against a long posting list.
            small, big = (self.rows, sorted_rows) if len(self.rows) < len(sorted_rows) else (sorted_rows, self.rows)
            at = np.minimum(np.searchsorted(big, small), len(big) - 1)
            parts.append(small[big[at] == small])
        if not parts:
            return sorted_rows[:0]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def scores(self, matrix: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, matrix[rows] @ query) for every selected row."""
        rows, scores = [], []
        for start, end, mask in self.ranges:
            part = np.asarray(matrix[start:end] @ query)
            if mask is None:
                rows.append(np.arange(start, end))
                scores.append(part)
            else:
                rows.append(start + np.flatnonzero(mask))
                scores.append(part[mask])
        if self.rows is not None and len(self.rows):
            rows.append(self.rows)
            scores.append(np.asarray(matrix[self.rows] @ query))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if len(rows) == 1:
            return rows[0], scores[0]
        return np.concatenate(rows), np.concatenate(scores)


_BLAS = None


def one_blas_thread():
    """A context that runs BLAS on one thread.

    A filtered scan is a matrix-vector product of a few MB: memory-bound, and done in
    about a millisecond on one core. OpenBLAS splits it across threads that spin-wait for
    each other, and on a loaded machine (this one has two cores shared by several
    processes) a waiting thread loses its time slice: the same product measured 15-25 ms
    with two threads and 0.4-1.5 ms with one.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (rows, scores), best first; ties broken by row for repeatable results."""
    if len(rows) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]
