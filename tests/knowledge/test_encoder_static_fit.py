"""The fitted static encoder: its features, its solver, a whole build against a fake teacher, and the real model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from knowledge import encoder_corpus, encoder_fit
from knowledge.encoder_corpus import Corpus
from knowledge.encoder_features import feature_matrix, frequent_bigrams

V = 50  # a toy vocabulary


def _naive_features(ids_per_text, bigrams, vocab_size):
    known = {int(k): j for j, k in enumerate(bigrams)}
    out = np.zeros((len(ids_per_text), vocab_size + len(bigrams)))
    for r, ids in enumerate(ids_per_text):
        cols = list(ids) + [vocab_size + known[a * vocab_size + b] for a, b in zip(ids, ids[1:], strict=False)
                            if a * vocab_size + b in known]
        for c in cols:
            out[r, c] += 1 / len(cols)
    return out


def test_features_are_the_mean_of_tokens_and_known_bigrams():
    texts = [[3, 4, 3, 4], [4, 3], [], [7], [3, 4, 9]]
    bigrams = frequent_bigrams(texts, vocab_size=V, min_count=2, limit=10)
    # (3,4) twice in text 0 and once in text 4; (4,3) once in 0 and once in 1; (4,9) only once.
    assert bigrams.tolist() == [3 * V + 4, 4 * V + 3]
    dense = feature_matrix(texts, bigrams=bigrams, vocab_size=V).toarray()
    assert np.allclose(dense, _naive_features(texts, bigrams, V))
    assert np.allclose(dense[[0, 1, 3, 4]].sum(axis=1), 1.0) and dense[2].sum() == 0


def test_no_bigram_spans_two_texts():
    dense = feature_matrix([[3], [4]], bigrams=np.array([3 * V + 4]), vocab_size=V).toarray()
    assert dense[:, V:].sum() == 0


def test_bigram_limit_keeps_the_most_frequent_and_is_stable():
    texts = [[1, 2]] * 5 + [[2, 3]] * 3 + [[3, 4]] * 3 + [[4, 5]] * 2
    assert frequent_bigrams(texts, vocab_size=V, min_count=2, limit=2).tolist() == [1 * V + 2, 2 * V + 3]


def test_ridge_matches_the_closed_form_and_leaves_unseen_rows_at_the_prior():
    rng = np.random.default_rng(0)
    texts = [rng.integers(0, 30, size=rng.integers(1, 8)).tolist() for _ in range(200)]  # rows 30..49 unseen
    x = feature_matrix(texts, bigrams=np.zeros(0, dtype=np.int64), vocab_size=V)
    y = rng.normal(size=(200, 6)).astype(np.float32)
    prior = rng.normal(size=(V, 6)).astype(np.float32)
    got = encoder_fit.ridge(x, y, prior=prior, ridge=0.05, iterations=200)
    dense = x.toarray().astype(np.float64)
    want = np.linalg.solve(dense.T @ dense + 0.05 * np.eye(V), dense.T @ y + 0.05 * prior)
    assert np.allclose(got, want, atol=1e-3)
    assert np.array_equal(got[30:], prior[30:])


class FakeTeacher:
    """A stand-in for MiniLM: each token has a fixed random vector, a text is its tokens' tanh'd mean."""

    dims = 16

    def __init__(self):
        self._rows = np.random.default_rng(7).normal(size=(40_000, self.dims)).astype(np.float32)

    def run_ids(self, ids, mask):
        return np.tanh(self._rows[ids].mean(axis=1))

    def encode(self, texts):
        from knowledge.encoders import load_tokenizer

        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for r, e in enumerate(load_tokenizer().encode_batch(list(texts), add_special_tokens=False)):
            out[r] = np.tanh(self._rows[e.ids].mean(axis=0) * 2) if e.ids else 0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _toy_corpus() -> Corpus:
    words = ["order", "refund", "late", "parcel", "broken", "charge", "card", "thanks", "address", "password"]
    zh = ["快递", "退款", "质量", "好评", "发货", "客服"]
    rng = np.random.default_rng(1)
    texts = {" ".join(rng.choice(words, size=rng.integers(2, 7))) for _ in range(300)}
    texts |= {"".join(rng.choice(zh, size=rng.integers(1, 4))) for _ in range(100)}
    return Corpus(texts=sorted(texts), sources={"toy": len(texts)})


def test_a_build_fits_the_teacher_better_than_the_token_alone_table_and_repeats_exactly(tmp_path):
    teacher, corpus = FakeTeacher(), _toy_corpus()
    first = encoder_fit.build(tmp_path / "a", teacher=teacher, corpus=corpus)
    encoder_fit.build(tmp_path / "b", teacher=teacher, corpus=corpus)
    assert first.heldout_cosine > first.heldout_cosine_before and first.heldout_cosine > 0.9
    assert first.bigrams > 0 and first.train_texts + first.heldout_texts == len(corpus.texts)
    for name in ("table.npy", "bigrams.npy"):
        assert np.array_equal(np.load(tmp_path / "a" / name), np.load(tmp_path / "b" / name))
    assert json.loads((tmp_path / "a" / "meta.json").read_text())["corpus_fingerprint"] == corpus.fingerprint()


def test_the_encoder_embeds_with_a_built_table(tmp_path):
    from knowledge.encoders import FittedStaticEncoder, load_tokenizer

    corpus = _toy_corpus()
    encoder_fit.build(tmp_path / "model", teacher=FakeTeacher(), corpus=corpus)
    encoder = FittedStaticEncoder(directory=tmp_path / "model")
    texts = ["late parcel refund", "快递退款", ""]
    rows = encoder.encode(texts)
    assert rows.shape == (3, FakeTeacher.dims) and rows.dtype == np.float32
    ids = [e.ids for e in load_tokenizer().encode_batch(texts, add_special_tokens=False)]
    table, bigrams = np.load(tmp_path / "model" / "table.npy"), np.load(tmp_path / "model" / "bigrams.npy")
    want = feature_matrix(ids, bigrams=bigrams, vocab_size=table.shape[0] - len(bigrams)) @ table
    assert np.allclose(rows[:2], want[:2] / np.linalg.norm(want[:2], axis=1, keepdims=True), atol=1e-6)
    assert not rows[2].any() and encoder.encode([]).shape == (0, FakeTeacher.dims)


def test_the_artefact_name_follows_the_corpus_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATASETS", str(tmp_path))  # exists, but holds none of the dataset files
    assert encoder_corpus.corpus_key() == "builtin"


def test_two_builds_at_once_build_once_and_the_waiting_one_says_so(tmp_path):
    import threading

    from knowledge import model_build

    target = tmp_path / "minilm-static-fit-test" / "model"
    started, release, calls, stages = threading.Event(), threading.Event(), [], []

    def builder(out):
        calls.append(1)
        started.set()
        release.wait(5)
        out.mkdir()
        (out / "table.npy").write_bytes(b"built")

    def build():
        model_build._build(target, builder, progress=lambda stage, done, total: stages.append((stage, done)))

    first = threading.Thread(target=build)
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=build)  # a second process (its own lock file handle) wanting the same model
    second.start()
    for _ in range(500):  # until the second one reports it is waiting (5 s at most)
        if stages:
            break
        threading.Event().wait(0.01)
    release.set()
    first.join(5)
    second.join(5)
    assert calls == [1] and (target / "table.npy").read_bytes() == b"built"
    assert stages == [("waiting for another process's build", 0), ("waiting for another process's build", 1)]


@pytest.mark.slow
def test_the_fitted_model_stays_close_to_minilm_and_ranks_like_it():
    """The real model, as built from the datasets (CI sets CRM_DATASETS). Building it takes minutes; as the
    default encoder it is built once per machine anyway (the session's encoder fixture)."""
    from knowledge import model_build
    from knowledge.embeddings import MiniLMEmbeddingFunction
    from knowledge.encoder_corpus import corpus_key
    from knowledge.encoders import get_encoder
    from knowledge.settings import get_settings

    if corpus_key() == "builtin":
        # Fitted to built-in phrases alone it is a weaker model (README: ~5 points of recall@10 lost), and
        # this bar is the one the datasets build must hold; the wiring is tested by every other test here.
        pytest.skip("no datasets here (CRM_DATASETS): the built-in-corpus build is not held to this bar")
    if os.environ.get("CI") and not model_build.static_fit_path().exists():
        # CI must measure the real model, not skip it: build it here once (minutes, cached afterwards).
        from knowledge.encoders import prepare_encoder

        prepare_encoder("minilm-static-fit")
    if not model_build.static_fit_path().exists() and get_settings().embedding != "minilm-static-fit":
        pytest.skip("minilm-static-fit not built here; build it with "
                    "`python -c \"from knowledge.encoders import prepare_encoder as p; p('minilm-static-fit')\"`")

    texts = [
        "Customer called about order SO-0012345: my parcel still has not arrived.",
        "I would like a refund for the broken keyboard.",
        "My card payment was declined at checkout.",
        "客户投诉配送太慢，快递一直没到。",
        "衣服质量很差，穿了一次就破了。",
        "",
    ]
    fitted = get_encoder("minilm-static-fit").encode(texts)
    minilm = get_encoder("minilm-onnx-int8").encode(texts)
    assert fitted.shape == minilm.shape and np.isfinite(fitted).all()
    assert np.allclose(np.linalg.norm(fitted[:5], axis=1), 1, atol=1e-5)
    assert (fitted[:5] * minilm[:5]).sum(axis=1).min() > 0.75
    queries = get_encoder("minilm-static-fit").encode(["where is my package?", "I want my money back",
                                                       "物流太慢了", "质量不好"])
    assert ((queries @ fitted[:5].T).argmax(axis=1) == [0, 1, 3, 4]).all()
    assert MiniLMEmbeddingFunction(variant="minilm-static-fit").get_config() == {"variant": "minilm-static-fit"}
