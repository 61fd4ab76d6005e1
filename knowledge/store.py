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


def index_handle(collection):
    """The in-process index of this collection (files under ``CRM_VECTOR_INDEX_PATH``), kept in step by writers."""
    import hashlib

    from knowledge.index_sync import handle_for

    settings = get_settings()
    # One directory per store, so two stores used from one CRM_HOME never share or delete each other's files.
    store = settings.chroma_url or str(settings.store_path.resolve())
    return handle_for(get_client(), collection, settings.index_path / hashlib.blake2b(store.encode(), digest_size=6).hexdigest())


def get_collection(*, create: bool = True):
    """The interaction-chunk collection with our embedding function; raises StoreError on a variant mismatch."""
    settings = get_settings()
    client = get_client()
    function = MiniLMEmbeddingFunction(variant=settings.embedding)
    if create:
        collection = client.get_or_create_collection(
            settings.chroma_collection,
            embedding_function=function,
            configuration={"hnsw": {"space": "cosine", "ef_search": 64}},
            metadata={"embedding_variant": settings.embedding},
        )
    else:
        collection = client.get_collection(settings.chroma_collection, embedding_function=function)
    stored = (collection.metadata or {}).get("embedding_variant")
    if stored and stored != settings.embedding:
        raise StoreError(
            f"the search index was built with {stored!r} embeddings but CRM_EMBEDDING is {settings.embedding!r}; "
            "run `crm index --rebuild`"
        )
    return collection


def drop_collection() -> None:
    settings = get_settings()
    client = get_client()
    try:
        client.delete_collection(settings.chroma_collection)
    except Exception as exc:  # Chroma raises different types per backend for "does not exist".
        if "does not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
            raise
