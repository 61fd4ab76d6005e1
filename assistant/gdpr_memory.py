"""What the assistant itself remembers about an erased customer, and forgetting it.

``tools.gdpr.erase_customer`` anonymises the CRM database and the vector store. The
assistant keeps two more copies, which only this package knows about:

- conversation memory: the agent's checkpointer (``CRM_HOME/checkpoints.sqlite``, LangGraph's
  ``SqliteSaver`` tables ``checkpoints`` and ``writes``; see ``assistant.agent.checkpointer``)
  holds every message and tool result of a thread, so a phone number or a note can sit there
  after the database is erased. A thread whose stored state contains one of the person's values
  is deleted whole: its messages are serialised blobs that cannot be edited safely in place.
  The web chat's visible history (``web_message``) is scrubbed by ``storage.gdpr`` instead, so
  the conversation still shows, with the values replaced; only its memory for follow-ups goes.
- the router's name gazetteer, cached per process: cleared so the old name stops matching now
  rather than after its next re-check.

The edges pass :func:`forget_customer` as the ``forget`` hook of the erase.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from storage.settings import get_settings as storage_settings

_MEMORY_TABLES = {"checkpoints": ("checkpoint", "metadata"), "writes": ("value",)}


def _needles(values: Sequence[str]) -> set[str]:
    """Lower-cased forms to look for: as typed, and as JSON writes non-ASCII (``\\u9648``)."""
    out: set[str] = set()
    for value in values:
        if value:
            out.update({value.lower(), json.dumps(value.lower())[1:-1]})
    return out


def forget_conversations(values: Sequence[str], *, path: Path | None = None) -> int:
    """Delete every stored conversation whose memory contains one of ``values``; returns how many."""
    path = path or storage_settings().home / "checkpoints.sqlite"
    needles = _needles(values)
    if not needles or not path.exists():
        return 0
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA secure_delete=ON")  # freed pages are zeroed, not left readable
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        tables = {t: cols for t, cols in _MEMORY_TABLES.items() if t in present}
        threads: set[str] = set()
        for table, columns in tables.items():
            # Blobs read as text and lower-cased (ASCII): an email typed in capitals still matches.
            where = " OR ".join(f"instr(lower(CAST({c} AS TEXT)), ?) > 0" for c in columns)
            for needle in needles:
                rows = conn.execute(f"SELECT DISTINCT thread_id FROM {table} WHERE {where}", [needle] * len(columns))
                threads.update(r[0] for r in rows)
        if threads:
            with conn:
                for table in tables:
                    conn.executemany(f"DELETE FROM {table} WHERE thread_id = ?", [(t,) for t in sorted(threads)])
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(threads)
    finally:
        conn.close()


def forget_customer(values: Sequence[str]) -> int:
    """The erase hook: forget conversations mentioning ``values`` and drop this process's name cache."""
    from assistant.router.gazetteer import clear_cache

    removed = forget_conversations(values)
    clear_cache()
    return removed
