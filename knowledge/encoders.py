"""Text encoders over the bundled MiniLM: one interface, several speed/quality points.

Each returns L2-normalised float32 rows. The variants trade speed for fidelity to
plain MiniLM (sentence-transformers on torch), measured by ``evals/bench/embedding_bench.py``
(speed, recall loss, Banking77) and ``evals/bench/knowledge_bench.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, get_args

import numpy as np

from knowledge import model_build
from knowledge.encoder_features import feature_matrix
from knowledge.settings import EmbeddingVariant, get_settings

# MiniLM was trained on 128-token windows; chunking keeps texts near that, this is the hard cap.
MAX_TOKENS = 256
BATCH = 64
SINGLE_THREAD_BELOW = 4  # texts per run: queries go to a one-thread session


class Encoder(Protocol):
    variant: str
    dims: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@lru_cache
def load_tokenizer(*, special_tokens: bool = True):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_build.bundled_model_path() / "tokenizer.json"))
    # The bundled tokenizer pads every text to 128; dynamic padding per batch is much cheaper.
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEncoder:
    """MiniLM through onnxruntime, batches sorted by length so padding stays small."""

    dims = 384

    def __init__(self, *, quantized: bool, threads: int | None = None):
        self.variant = "minilm-onnx-int8" if quantized else "minilm-onnx"
        self._path = str(model_build.onnx_path(quantized=quantized))
        self._threads = threads or get_settings().threads
        # Keyed by "single thread": each session is opened on first use, so a process that only
        # indexes (or only answers queries) never pays for loading the other one.
        self._sessions: dict[bool, object] = {}
        self._locks = {True: threading.Lock(), False: threading.Lock()}

    def _open(self, single: bool):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if single else self._threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if single:
            # A search query is one short text: too little work to share between threads, and on a
            # busy machine the spinning second thread made it slower (27 ms vs 15 ms p50 measured here).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(self._path, options, providers=["CPUExecutionProvider"])

    def run_ids(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, unnormalised states for padded id and mask arrays."""
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        single = len(ids) <= SINGLE_THREAD_BELOW
        with self._locks[single]:
            session = self._sessions.get(single)
            if session is None:
                session = self._sessions[single] = self._open(single)
            return session.run(None, feeds)[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        encodings = load_tokenizer().encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : lengths[i]] = encodings[i].ids
            mask = (np.arange(width)[None, :] < lengths[rows][:, None]).astype(np.int64)
            out[rows] = self.run_ids(ids, mask)
        return _normalise(out)


class StaticEncoder:
    """A token table distilled from MiniLM: an embedding is the mean of its tokens' rows."""

    def __init__(self):
        self.variant = "minilm-static"
        self._table = np.load(model_build.static_table_path())
        self.dims = int(self._table.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        encodings = load_tokenizer().encode_batch(list(texts), add_special_tokens=False)
        lengths = np.array([len(e.ids) for e in encodings])
        nonempty = lengths > 0
        if nonempty.any():
            ids = np.concatenate([e.ids for e in encodings if e.ids]).astype(np.int64)
            starts = np.concatenate([[0], np.cumsum(lengths[nonempty])[:-1]])
            # One gather and one segmented sum for the whole batch instead of a Python loop.
            sums = np.add.reduceat(self._table[ids], starts, axis=0)
            out[nonempty] = sums / lengths[nonempty][:, None]
        return _normalise(out)


class FittedStaticEncoder:
    """Tokens and frequent bigrams, each a row fitted to MiniLM sentence embeddings (knowledge.encoder_fit)."""

    def __init__(self, *, directory: Path | None = None):
        self.variant = "minilm-static-fit"
        directory = directory or model_build.static_fit_dir()
        # Memory-mapped: a CLI run touches only the rows its texts use, and processes share the pages.
        self._table = np.load(directory / "table.npy", mmap_mode="r")
        self._bigrams = np.load(directory / "bigrams.npy")
        self._vocab_size = int(self._table.shape[0] - len(self._bigrams))
        self.dims = int(self._table.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        encodings = load_tokenizer().encode_batch(list(texts), add_special_tokens=False)
        features = feature_matrix([e.ids for e in encodings], bigrams=self._bigrams, vocab_size=self._vocab_size)
        return _normalise(np.asarray(features @ self._table))


class TorchEncoder:
    """Plain sentence-transformers MiniLM on torch: the reference the others are measured against."""

    dims = 384

    def __init__(self):
        from sentence_transformers import SentenceTransformer

        self.variant = "minilm-torch"
        self._model = SentenceTransformer(str(model_build.bundled_model_path()), device="cpu")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        rows = self._model.encode(list(texts), batch_size=BATCH, normalize_embeddings=True)
        return np.asarray(rows, dtype=np.float32)


_ENCODERS: dict[tuple[str, str, str], Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_encoder(variant: EmbeddingVariant | str | None = None) -> Encoder:
    """The process-wide encoder for a variant (built and loaded once per build identity)."""
    name = variant or get_settings().embedding
    if name not in _VARIANTS:
        raise ValueError(f"unknown embedding variant {name!r}")
    # Keyed by the build too: if the model directory or the datasets change under a running
    # process, it loads the build the vector store now names instead of embedding with the old one.
    key = (name, model_build.build_identity(name), str(get_settings().model_dir))
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = _make(name)
        return _ENCODERS[key]


def prepare_encoder(variant: str, *, progress: model_build.BuildProgress | None = None) -> None:
    """Build a variant's artefacts now (a no-op once built), reporting (stage, done, total) while it runs.

    Lets a command show its own progress bar for the one slow first use instead of stalling inside a
    later call; the fitted static model takes minutes to build on a busy 2-core machine.
    """
    if variant == "minilm-static-fit":
        model_build.static_fit_dir(progress=progress)
    elif variant in ("minilm-onnx", "minilm-onnx-int8"):
        model_build.onnx_path(quantized=variant.endswith("int8"))
    elif variant == "minilm-static":
        model_build.static_table_path()


_VARIANTS = get_args(EmbeddingVariant)


def _make(name: str) -> Encoder:
    if name == "minilm-static-fit":
        return FittedStaticEncoder()
    if name == "minilm-static":
        return StaticEncoder()
    if name == "minilm-onnx":
        return OnnxEncoder(quantized=False)
    if name == "minilm-onnx-int8":
        return OnnxEncoder(quantized=True)
    if name == "minilm-torch":
        return TorchEncoder()
    raise ValueError(f"unknown embedding variant {name!r}")
