"""Knowledge: interaction history in Chroma, embedded offline, searched within the caller's scope.

Imports only ``storage``. Heavy libraries (chromadb, onnxruntime, torch) load on
first use, not on import. Public surface:

- indexing: ``sync_index`` (``crm index``), ``index_interactions`` (after a write),
  ``update_owner`` (after assign/claim/release), ``erase_customer`` (delete/anonymise);
- retrieval: ``search`` (hybrid), ``recent`` (latest first, SQL), ``SearchFilters``,
  ``InteractionHit``, ``RowFilter`` (scope + filters as one value), ``current_index``
  (the in-process filtered index snapshot, kept in step with Chroma; see
  ``knowledge.vector_index`` and ``knowledge.index_sync``);
- settings and store: ``get_settings``, ``KnowledgeSettings``, ``StoreError``.
"""

from knowledge.settings import KnowledgeSettings, get_settings


def __getattr__(name: str):
    # Lazy re-exports: `import knowledge` must stay cheap for `crm --help` and for
    # callers that only need settings.
    if name in _LAZY:
        module = __import__(_LAZY[name], fromlist=[name])
        return getattr(module, name)
    raise AttributeError(f"module 'knowledge' has no attribute {name!r}")


_LAZY = {
    "sync_index": "knowledge.indexing",
    "rebuild_index": "knowledge.indexing",
    "index_interactions": "knowledge.indexing",
    "update_owner": "knowledge.indexing",
    "IndexReport": "knowledge.indexing",
    "erase_customer": "knowledge.erase",
    "search": "knowledge.retrieval",
    "build_where": "knowledge.retrieval",
    "current_index": "knowledge.retrieval",
    "RowFilter": "knowledge.row_filter",
    "recent": "knowledge.hits",
    "SearchFilters": "knowledge.hits",
    "InteractionHit": "knowledge.hits",
    "StoreError": "knowledge.store",
    "get_collection": "knowledge.store",
    "forget_clients": "knowledge.store",
}

__all__ = ["KnowledgeSettings", "get_settings", *_LAZY]
