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
    pass


class ImportFailed(StorageError):
    pass


class BackupError(StorageError):
    pass
