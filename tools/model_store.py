"""Fitted models cached on disk under ``CRM_HOME/models``, keyed by what they were fitted on.

A key names the model kind, the database, the data fingerprint and the fit's own
arguments, so a changed order book or a new "as of" day refits, and anything else
reuses the fit. Files are written atomically (temp file + rename): a reader never
loads half a pickle. Only files this process wrote are read back: they live in the
CRM's own home directory, like the database itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from storage.settings import get_settings

log = logging.getLogger(__name__)

# Old fits of one kind beyond this many are deleted when a new one is saved.
KEEP_PER_KIND = 6


def models_dir() -> Path:
    path = get_settings().home / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def load(kind: str, key: str) -> Any | None:
    path = models_dir() / f"{kind}-{key}.pkl"
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        # A fit from an older code version or a torn file: refit rather than fail the call.
        log.info("ignoring unreadable model cache %s: %s", path.name, exc)
        return None


def save(kind: str, key: str, value: Any, *, keep: int = KEEP_PER_KIND) -> Path:
    folder = models_dir()
    path = folder / f"{kind}-{key}.pkl"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{kind}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _prune(folder, kind, keep)
    return path


def _prune(folder: Path, kind: str, keep: int) -> None:
    fits = sorted(folder.glob(f"{kind}-*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in fits[keep:]:
        old.unlink(missing_ok=True)
