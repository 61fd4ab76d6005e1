"""Fit a static token table to MiniLM sentence embeddings (tokenlearn's idea, solved as ridge regression).

The plain static table (``minilm-static``) embeds each vocabulary token alone and
hopes the mean of those rows lands where MiniLM puts the sentence. Here the rows are
instead chosen so that it does, on a local corpus (knowledge.encoder_corpus):

    minimise  ||X T - Y||^2 + lambda ||T - T0||^2

X holds each text's features (tokens and frequent bigrams, knowledge.encoder_features)
as a mean, Y the texts' MiniLM embeddings (the int8 ONNX model, which scores as plain
MiniLM does), and T0 the token-alone rows with Zipf/SIF weights. Tokens the corpus
never shows keep their T0 row; the rest move as far as the data asks. The output
space is MiniLM's own (384 dims), so a fitted vector is comparable with a MiniLM one.

Preconditioned conjugate gradients on the normal equations: no learning rate, no
shuffling, the same answer every run. 5% of the corpus (seeded) is held out and the
fit's fidelity on it is written beside the table (meta.json).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from scipy import sparse

from knowledge.encoder_corpus import Corpus, build_corpus
from knowledge.encoder_features import feature_matrix, frequent_bigrams
from knowledge.model_build import BuildProgress, sif_weights, token_rows

FIT_RECIPE = 1  # bump when anything below changes the table; old builds are then ignored
SEED = 0
HOLDOUT = 0.05
RIDGE = 1e-2  # chosen on the held-out split: 1e-3 fits the corpus tighter but generalises no better
BIGRAM_MIN_COUNT = 2
BIGRAM_LIMIT = 60_000
CG_ITERATIONS = 120
TEACHER_BATCH = 256


class FitReport(BaseModel):
    recipe: int
    corpus: dict[str, int]
    corpus_fingerprint: str
    train_texts: int
    heldout_texts: int
    bigrams: int
    heldout_cosine: float  # mean cosine to MiniLM on held-out texts
    heldout_cosine_before: float  # the same for the unfitted token-alone table
    heldout_agreement: float  # share of MiniLM's 10 nearest held-out neighbours this table also finds
    heldout_agreement_before: float
    seconds: dict[str, float]


def build(out: Path, *, progress: BuildProgress | None = None, teacher=None, corpus: Corpus | None = None) -> FitReport:
    """Write table.npy, bigrams.npy and meta.json into the directory ``out``.

    ``teacher`` (default: the int8 ONNX MiniLM) needs ``dims``, ``encode(texts)`` and
    ``run_ids(ids, mask)``; ``corpus`` defaults to :func:`build_corpus`. Both are
    parameters so a test can fit a small corpus against a fake teacher in seconds.
    """
    from knowledge.encoders import OnnxEncoder, load_tokenizer

    def say(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    clock = _Clock()
    say("corpus", 0, 1)
    corpus = corpus or build_corpus()
    say("corpus", 1, 1)
    clock.lap("corpus")
    teacher = teacher or OnnxEncoder(quantized=True)
    tokenizer = load_tokenizer()
    vocab_size = tokenizer.get_vocab_size()
    ids = [e.ids for e in tokenizer.encode_batch(corpus.texts, add_special_tokens=False)]
    targets = teacher_embeddings(teacher, corpus.texts, lengths=[len(i) for i in ids], say=say)
    clock.lap("teacher")
    base = token_rows(teacher, vocab_size=vocab_size, say=say) * sif_weights(vocab_size).astype(np.float32)[:, None]
    clock.lap("vocabulary")

    order = np.random.default_rng(SEED).permutation(len(ids))
    held, train = np.sort(order[: int(len(ids) * HOLDOUT)]), np.sort(order[int(len(ids) * HOLDOUT):])
    bigrams = frequent_bigrams([ids[i] for i in train], vocab_size=vocab_size, min_count=BIGRAM_MIN_COUNT,
                               limit=BIGRAM_LIMIT)
    first, second = bigrams // vocab_size, bigrams % vocab_size
    # A bigram starts as the mean of its two tokens, so before fitting the text's mean is unchanged in kind.
    prior = np.concatenate([base, (base[first] + base[second]) / 2]).astype(np.float32)
    x_train = feature_matrix([ids[i] for i in train], bigrams=bigrams, vocab_size=vocab_size)
    y_train = targets[train]
    prior *= _best_scale(x_train @ prior, y_train)
    table = ridge(x_train, y_train, prior=prior, ridge=RIDGE, iterations=CG_ITERATIONS, say=say)
    clock.lap("fit")

    x_held = feature_matrix([ids[i] for i in held], bigrams=bigrams, vocab_size=vocab_size)
    fitted, before = _normalise(x_held @ table), _normalise(x_held @ prior)
    report = FitReport(
        recipe=FIT_RECIPE, corpus=corpus.sources, corpus_fingerprint=corpus.fingerprint(),
        train_texts=len(train), heldout_texts=len(held), bigrams=len(bigrams),
        heldout_cosine=_mean_cosine(fitted, targets[held]), heldout_cosine_before=_mean_cosine(before, targets[held]),
        heldout_agreement=neighbour_agreement(fitted, targets[held]),
        heldout_agreement_before=neighbour_agreement(before, targets[held]),
        seconds=clock.laps,
    )
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "table.npy", table.astype(np.float32))
    np.save(out / "bigrams.npy", bigrams.astype(np.int64))
    (out / "meta.json").write_text(report.model_dump_json(indent=2))
    return report


def teacher_embeddings(teacher, texts: list[str], *, lengths: list[int], say: BuildProgress) -> np.ndarray:
    """MiniLM embeddings of every text, in batches of similar length (little padding)."""
    out = np.zeros((len(texts), teacher.dims), dtype=np.float32)
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), TEACHER_BATCH):
        rows = order[start : start + TEACHER_BATCH]
        out[rows] = teacher.encode([texts[i] for i in rows])
        say("teacher", min(start + TEACHER_BATCH, len(order)), len(order))
    return out


def ridge(x: sparse.csr_matrix, y: np.ndarray, *, prior: np.ndarray, ridge: float, iterations: int,
          say: BuildProgress | None = None) -> np.ndarray:
    """argmin_T ||x T - y||^2 + ridge ||T - prior||^2, by Jacobi-preconditioned conjugate gradients
    (all output columns at once; each keeps its own step sizes)."""
    xt = x.T.tocsr()
    rhs = xt @ y + ridge * prior

    def apply(t: np.ndarray) -> np.ndarray:
        return xt @ (x @ t) + ridge * t

    diagonal = (np.asarray(x.multiply(x).sum(axis=0)).ravel() + ridge).astype(np.float32)[:, None]
    table = prior.copy()
    residual = rhs - apply(table)
    z = residual / diagonal
    direction = z.copy()
    rz = np.sum(residual * z, axis=0)
    for step in range(iterations):
        moved = apply(direction)
        alpha = rz / np.maximum(np.sum(direction * moved, axis=0), 1e-30)
        table += direction * alpha
        residual -= moved * alpha
        z = residual / diagonal
        rz_next = np.sum(residual * z, axis=0)
        direction = z + direction * (rz_next / np.maximum(rz, 1e-30))
        rz = rz_next
        if say:
            say("fit", step + 1, iterations)
    return table


def neighbour_agreement(embedded: np.ndarray, reference: np.ndarray, *, k: int = 10, queries: int = 1000) -> float:
    """Mean share of each text's k nearest neighbours (by the reference) that ``embedded`` also ranks top k."""
    k = min(k, len(embedded) - 2)
    if k < 1:
        return 0.0
    picked = np.random.default_rng(SEED).permutation(len(embedded))[:queries]
    mine, theirs = embedded[picked] @ embedded.T, reference[picked] @ reference.T
    for sims in (mine, theirs):
        sims[np.arange(len(picked)), picked] = -np.inf  # a text is not its own neighbour
    top_mine = np.argpartition(-mine, k, axis=1)[:, :k]
    top_theirs = np.argpartition(-theirs, k, axis=1)[:, :k]
    return round(float(np.mean([len(set(a) & set(b)) / k for a, b in zip(top_mine, top_theirs, strict=True)])), 4)


def read_report(directory: Path) -> FitReport | None:
    path = directory / "meta.json"
    return FitReport.model_validate(json.loads(path.read_text())) if path.exists() else None


def _best_scale(predicted: np.ndarray, target: np.ndarray) -> float:
    # The token-alone rows are on another scale than sentence embeddings; match it before the ridge
    # pulls toward them, or the prior would drag every row toward zero or away from it.
    return float(np.sum(predicted * target) / max(float(np.sum(predicted * predicted)), 1e-12))


def _normalise(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.mean(np.sum(_normalise(a) * _normalise(b), axis=1))), 4)


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 1)
        self._last = now


__all__ = ["FIT_RECIPE", "BuildProgress", "Corpus", "FitReport", "build", "read_report", "ridge"]
