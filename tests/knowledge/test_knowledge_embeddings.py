"""The embedding function: portable collection config, and encoders faithful to plain MiniLM."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge.embeddings import MiniLMEmbeddingFunction, embed
from knowledge.encoder_corpus import corpus_key
from knowledge.encoders import get_encoder
from knowledge.indexing import sync_index
from knowledge.settings import get_settings
from knowledge.store import StoreError, forget_clients, get_client, get_collection

TEXTS = [
    "Customer called about order SO-2024-00123: the parcel arrived two weeks late.",
    "I would like a refund for the broken keyboard.",
    "Friendly chat about the spring catalogue.",
    "客户投诉配送太慢，要求退款。",
    "",
]


def test_collection_config_names_the_function_not_a_path(indexed):
    saved = get_collection().configuration_json
    assert saved["embedding_function"] == {
        "type": "known", "name": "crm-minilm", "config": {"variant": get_settings().embedding}
    }
    assert "/" not in json.dumps(saved["embedding_function"])


def test_reopened_collection_embeds_text_queries_with_the_saved_function(indexed):
    forget_clients()
    # No embedding function passed: Chroma rebuilds ours from the saved name and config.
    raw = get_client().get_collection(get_settings().chroma_collection)
    query = "the keyboard was broken, she wants her money back"
    found = raw.query(query_texts=[query], n_results=3)
    # The very vectors our own embedding gives (the ranking itself is the encoder's business, tested elsewhere).
    ours = raw.query(query_embeddings=embed([query], variant=get_settings().embedding), n_results=3)
    assert found["ids"] == ours["ids"] and np.allclose(found["distances"], ours["distances"], atol=1e-5)
    # Fitted to built-in phrases alone (no datasets), the static table ranks this paraphrase worse (README).
    weak = get_settings().embedding == "minilm-static-fit" and corpus_key() == "builtin"
    if not weak:
        assert found["metadatas"][0][0]["external_id"] == "INT-a2"


def test_build_from_config_is_lazy_and_checks_the_variant():
    function = MiniLMEmbeddingFunction.build_from_config({"variant": "minilm-onnx"})
    assert function.get_config() == {"variant": "minilm-onnx"} and not function.is_legacy()
    with pytest.raises(ValueError):
        MiniLMEmbeddingFunction(variant="/abs/path/to/model")


def test_switching_variant_without_rebuild_is_refused(indexed, monkeypatch):
    other = "minilm-onnx" if get_settings().embedding != "minilm-onnx" else "minilm-static"
    monkeypatch.setenv("CRM_EMBEDDING", other)
    get_settings.cache_clear()
    with pytest.raises(StoreError, match="--rebuild"):
        get_collection()
    assert sync_index(rebuild=True).added == 10


def test_embed_dedupes_and_normalises(encoder):
    rows = embed(TEXTS + TEXTS[:2], variant=get_settings().embedding)
    assert rows.shape == (len(TEXTS) + 2, encoder.dims)
    assert np.allclose(rows[-2:], rows[:2])
    norms = np.linalg.norm(rows[:4], axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    assert np.isfinite(rows).all()  # an empty text embeds to something harmless, never NaN


@pytest.mark.slow
def test_onnx_encoders_stay_close_to_plain_minilm():
    reference = get_encoder("minilm-torch").encode(TEXTS[:4])
    fp32 = get_encoder("minilm-onnx").encode(TEXTS[:4])
    int8 = get_encoder("minilm-onnx-int8").encode(TEXTS[:4])
    assert (fp32 * reference).sum(axis=1).min() > 0.999
    assert (int8 * reference).sum(axis=1).min() > 0.95
