"""Cached teacher outputs for experiments on the fitted static encoder (knowledge.encoder_fit).

A build spends most of its time running int8 MiniLM over the corpus. Experiments that fit
many tables to subsets of one corpus (evals.knowledge.corpus_curve) run it once: the
embeddings of every corpus text and the token-alone rows are saved under the bench cache,
named by the corpus fingerprint and the bundled weights, and a :class:`CachedTeacher` hands
them to ``encoder_fit.build`` in place of the model.

Dynamic int8 quantisation scales activations per batch, so a row can differ in the third
decimal from the one a fresh build of a subset would compute; the curve is therefore
checked against one real build of the chosen size (see the README's numbers).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from knowledge.encoder_corpus import Corpus


def cache_dir() -> Path:
    from evals.bench.knowledge_scale import bench_dir

    return bench_dir() / "encoder-fit"


class CachedTeacher:
    """Stands in for the int8 MiniLM teacher: every answer comes from saved arrays."""

    def __init__(self, *, texts: list[str], rows: np.ndarray, vocabulary: np.ndarray):
        self._row_of = {text: i for i, text in enumerate(texts)}
        self._rows = rows
        self._vocabulary = vocabulary
        self.dims = int(rows.shape[1])

    def encode(self, texts) -> np.ndarray:
        return self._rows[[self._row_of[t] for t in texts]]

    def run_ids(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # model_build.token_rows asks for [SEP] token [CLS] triples; the middle column is the token.
        return self._vocabulary[ids[:, 1]]


def teacher_for(corpus: Corpus) -> CachedTeacher:
    """The cached teacher for ``corpus`` (computed and saved on first use: minutes)."""
    from knowledge import model_build

    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    rows_path = root / f"teacher-{corpus.fingerprint()}.npy"
    vocab_path = root / f"vocabulary-{model_build.weights_fingerprint()}.npy"
    if not rows_path.exists() or not vocab_path.exists():
        _compute(corpus, rows_path, vocab_path)
    return CachedTeacher(texts=corpus.texts, rows=np.load(rows_path), vocabulary=np.load(vocab_path))


def _compute(corpus: Corpus, rows_path: Path, vocab_path: Path) -> None:
    from knowledge.encoder_fit import teacher_embeddings
    from knowledge.encoders import OnnxEncoder, load_tokenizer
    from knowledge.model_build import token_rows

    teacher = OnnxEncoder(quantized=True)
    tokenizer = load_tokenizer()
    started, marks = time.perf_counter(), set()

    def say(stage: str, done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if (stage, tenth) not in marks:
            marks.add((stage, tenth))
            print(f"  {stage}: {done:,}/{total:,} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    if not rows_path.exists():
        lengths = [len(e.ids) for e in tokenizer.encode_batch(corpus.texts, add_special_tokens=False)]
        rows = teacher_embeddings(teacher, corpus.texts, lengths=lengths, say=say)
        np.save(rows_path.with_suffix(".tmp.npy"), rows)
        rows_path.with_suffix(".tmp.npy").replace(rows_path)
    if not vocab_path.exists():
        vocabulary = token_rows(teacher, vocab_size=tokenizer.get_vocab_size(), say=say)
        np.save(vocab_path.with_suffix(".tmp.npy"), vocabulary)
        vocab_path.with_suffix(".tmp.npy").replace(vocab_path)


def _cli() -> None:  # `python -m evals.knowledge.fit_cache`: fill the cache for the configured corpus
    from knowledge.encoder_corpus import build_corpus

    started = time.perf_counter()
    corpus = build_corpus()
    print(f"corpus {corpus.sources} ({len(corpus.texts):,} texts, fingerprint {corpus.fingerprint()})")
    teacher_for(corpus)
    print(f"cached in {time.perf_counter() - started:.0f} s under {cache_dir()}")


if __name__ == "__main__":
    _cli()
