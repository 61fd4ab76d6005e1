"""Errors the storage layer raises, sorted by who reads them.

    StorageError                  root: carries a message that is safe to show a user
    ├── DatabaseUnavailable       the database is down or locked after bounded retries
    ├── ImportFailed              an import could not start (missing file, empty file, missing columns)
    ├── DemoRefused               (storage.demo) `crm demo` on a non-empty database without --reset
    └── BackupError               backup or restore failed; nothing was overwritten
"""


class StorageError(Exception):
    """Root of storage errors; ``str(err)`` is safe to show a user."""


class DatabaseUnavailable(StorageError):
    """``reason`` is "locked" (another writer holds the lock) or "down" (unreachable); ``detail`` is the
    driver's own first line, for operators and logs only: it may name hosts and ports."""

    def __init__(self, message: str, *, reason: str = "down", detail: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class ImportFailed(StorageError):
    pass


class BackupError(StorageError):
    pass
