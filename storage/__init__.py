"""Storage: settings, engine and sessions, the data model, migrations, importers, demo data.

The lowest layer: it imports no other project package.
"""

from storage.db import engine_for, get_engine, session_scope
from storage.errors import BackupError, DatabaseUnavailable, ImportFailed, StorageError
from storage.scope import POOL_OWNER_ID, Scope
from storage.settings import StorageSettings, get_settings

__all__ = [
    "POOL_OWNER_ID",
    "BackupError",
    "DatabaseUnavailable",
    "ImportFailed",
    "Scope",
    "StorageError",
    "StorageSettings",
    "engine_for",
    "get_engine",
    "get_settings",
    "session_scope",
]
