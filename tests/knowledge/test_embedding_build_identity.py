"""The collection records which build of its encoder made its vectors; another build is refused, never mixed."""

from __future__ import annotations

import json

import pytest

from knowledge import encoder_fit, model_build
from knowledge.index_sync import IndexHandle
from knowledge.indexing import index_interactions, sync_index
from knowledge.retrieval import current_index, search
from knowledge.settings import get_settings
from knowledge.store import BUILD_KEY, VARIANT_KEY, StoreError, get_client, get_collection, index_handle
from storage.scope import Scope


def _pretend_build(monkeypatch, name: str) -> str:
    """As if this machine's encoder were another build of the same variant (another corpus, say)."""
    real = model_build.build_identity
    monkeypatch.setattr(model_build, "build_identity", lambda variant: f"{real(variant)}-{name}")
    return model_build.build_identity(get_settings().embedding)


def _search(text: str):
    return search(text, scope=Scope.everything(), limit=3)


def test_the_collection_records_the_build(indexed):
    meta = get_collection().metadata
    variant = get_settings().embedding
    assert meta[VARIANT_KEY] == variant and meta[BUILD_KEY] == model_build.build_identity(variant)
    assert meta[BUILD_KEY].startswith(variant)


def test_another_build_of_the_same_variant_is_refused_until_rebuilt(indexed, monkeypatch):
    before = get_collection().metadata[BUILD_KEY]
    other = _pretend_build(monkeypatch, "other-corpus")
    assert other != before
    for attempt in (get_collection, lambda: _search("refund for the broken keyboard"), sync_index,
                    lambda: index_interactions([indexed.interactions["a2"]])):
        with pytest.raises(StoreError, match=r"embedded by the .* build .* but this setup builds .*crm index --rebuild"):
            attempt()
    assert sync_index(rebuild=True).added == 10
    assert get_collection().metadata[BUILD_KEY] == other
    assert _search("refund for the broken keyboard")[0].external_id == "INT-a2"


def test_erasure_and_owner_moves_work_whichever_build_made_the_vectors(indexed, monkeypatch):
    # Neither embeds anything, and neither may wait for a rebuild (privacy, scope).
    from knowledge.erase import erase_customer
    from knowledge.indexing import update_owner

    _pretend_build(monkeypatch, "other-corpus")
    assert update_owner(indexed.customers["bob"], indexed.staff["rep_a"]) == 2
    assert erase_customer(indexed.customers["bob"]) == 2


def _legacy_collection(variant: str):
    # What this package created before it recorded builds: the variant alone.
    from knowledge.embeddings import MiniLMEmbeddingFunction

    return get_client().create_collection(
        get_settings().chroma_collection, embedding_function=MiniLMEmbeddingFunction(variant=variant),
        configuration={"hnsw": {"space": "cosine"}}, metadata={VARIANT_KEY: variant},
    )


def test_an_unrecorded_int8_collection_still_opens(fresh_store, monkeypatch):
    monkeypatch.setenv("CRM_EMBEDDING", "minilm-onnx-int8")
    get_settings.cache_clear()
    _legacy_collection("minilm-onnx-int8")
    assert BUILD_KEY not in get_collection().metadata  # taken as today's int8 build, not rewritten


def test_an_unrecorded_fitted_static_collection_is_refused(fresh_store, monkeypatch):
    # Its build depended on the machine's corpus even then, so which one made it is unknown.
    monkeypatch.setenv("CRM_EMBEDDING", "minilm-static-fit")
    get_settings.cache_clear()
    _legacy_collection("minilm-static-fit")
    with pytest.raises(StoreError, match=r"before the encoder build was recorded.*--rebuild"):
        get_collection()


def test_the_fitted_build_is_named_by_corpus_and_recipe(tmp_path, monkeypatch, dataset):
    datasets = dataset("banking77", "train.csv").parents[1]
    monkeypatch.setenv("CRM_DATASETS", str(tmp_path))  # holds no dataset: the built-in corpus
    builtin = model_build.build_identity("minilm-static-fit")
    monkeypatch.setenv("CRM_DATASETS", str(datasets))
    with_datasets = model_build.build_identity("minilm-static-fit")
    monkeypatch.setattr(encoder_fit, "FIT_RECIPE", encoder_fit.FIT_RECIPE + 1)
    next_recipe = model_build.build_identity("minilm-static-fit")
    assert builtin.endswith("-builtin") and len({builtin, with_datasets, next_recipe}) == 3
    assert all(name.startswith("minilm-static-fit-") for name in (builtin, with_datasets, next_recipe))


def test_an_index_snapshot_of_another_build_is_never_served(indexed, monkeypatch):
    builds: list[int] = []
    original = IndexHandle._build
    monkeypatch.setattr(IndexHandle, "_build", lambda self, c, p: builds.append(1) or original(self, c, p))
    state = current_index()
    assert state is not None and builds == []
    # The collection now says another build (same id, same token): the saved snapshot must not be reused.
    other = _pretend_build(monkeypatch, "other-corpus")
    collection = get_collection(embedding_check=False)
    collection.modify(metadata={**collection.metadata, BUILD_KEY: other})
    fresh = current_index()
    assert builds == [1] and fresh is not None and fresh is not state
    handle = index_handle(get_collection())
    assert json.loads((handle.root / "state.json").read_text())["embedding"] == other


def test_crm_index_names_the_fix_and_rebuild_applies_it(indexed, monkeypatch):
    from typer.testing import CliRunner

    from integrations.cli.app import app

    other = _pretend_build(monkeypatch, "other-corpus")
    refused = CliRunner().invoke(app, ["index", "--quiet"])
    assert refused.exit_code != 0 and "crm index --rebuild" in refused.output
    assert "Traceback" not in refused.output
    rebuilt = CliRunner().invoke(app, ["index", "--rebuild", "--quiet"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "10 new" in rebuilt.output and get_collection().metadata[BUILD_KEY] == other
