"""Features of the fitted static encoder: WordPiece tokens plus frequent token bigrams.

A text is the mean of its features' table rows. Bigrams give a bag of tokens a little
word order and, for Chinese (one token per character), something close to words:
快递 and 递快 are different rows. Only bigrams seen often enough in the training corpus
have a row; the others are simply not counted, at training and at encoding alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
from scipy import sparse


def pair_keys(flat: np.ndarray, segments: np.ndarray, *, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys (first * vocab_size + second) of adjacent token pairs inside one text, and each pair's text."""
    same = segments[1:] == segments[:-1]
    keys = flat[:-1] * vocab_size + flat[1:]
    return keys[same], segments[:-1][same]


def flatten(ids_per_text: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """All token ids in one array, and the index of the text each came from."""
    lengths = np.fromiter((len(ids) for ids in ids_per_text), dtype=np.int64, count=len(ids_per_text))
    flat = np.fromiter(chain.from_iterable(ids_per_text), dtype=np.int64, count=int(lengths.sum()))
    return flat, np.repeat(np.arange(len(ids_per_text)), lengths)


def frequent_bigrams(ids_per_text: Sequence[Sequence[int]], *, vocab_size: int, min_count: int,
                     limit: int) -> np.ndarray:
    """Sorted keys of the bigrams seen at least ``min_count`` times (the ``limit`` most frequent)."""
    flat, segments = flatten(ids_per_text)
    keys, _ = pair_keys(flat, segments, vocab_size=vocab_size)
    unique, counts = np.unique(keys, return_counts=True)
    keep = counts >= min_count
    unique, counts = unique[keep], counts[keep]
    if len(unique) > limit:
        # Most frequent first, ties broken by key so the choice never depends on sort stability.
        order = np.lexsort((unique, -counts))[:limit]
        unique = unique[order]
    return np.sort(unique)


def feature_matrix(ids_per_text: Sequence[Sequence[int]], *, bigrams: np.ndarray, vocab_size: int) -> sparse.csr_matrix:
    """Rows = texts, columns = table rows (tokens, then bigrams), values = 1 / features in the text.

    Multiplying it by the table gives each text's mean row in one sparse product.
    """
    n = len(ids_per_text)
    flat, segments = flatten(ids_per_text)
    rows, cols = segments, flat
    if len(bigrams) and len(flat) > 1:
        keys, pair_segments = pair_keys(flat, segments, vocab_size=vocab_size)
        pos = np.minimum(np.searchsorted(bigrams, keys), len(bigrams) - 1)
        hit = bigrams[pos] == keys
        rows = np.concatenate([segments, pair_segments[hit]])
        cols = np.concatenate([flat, vocab_size + pos[hit]])
    counts = np.bincount(rows, minlength=n)
    values = (1.0 / np.maximum(counts, 1))[rows].astype(np.float32)
    # Duplicate (row, column) pairs add up: a token said twice weighs twice.
    return sparse.csr_matrix((values, (rows, cols)), shape=(n, vocab_size + len(bigrams)))
