"""Backup and restore of the whole CRM database.

SQLite uses the online backup API, so a backup is consistent while the app keeps
serving, and restore copies pages into the live file under SQLite's own locking.
Postgres uses pg_dump / pg_restore (custom format). Both write to a temp file
first and rename, so a failed backup never leaves a truncated file behind, and
both check the source before restoring, so a bad file never overwrites good data.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import engine_for
from storage.errors import BackupError
from storage.settings import get_settings


def backup(path: Path, *, url: str | None = None) -> Path:
    url = url or get_settings().url
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        if url.startswith("sqlite"):
            _sqlite_backup(_sqlite_file(url), tmp)
            _check_sqlite(tmp)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={tmp}", _libpq_url(url)], what="pg_dump")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def restore(path: Path, *, url: str | None = None) -> None:
    url = url or get_settings().url
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"backup file not found: {path}")
    if url.startswith("sqlite"):
        _check_sqlite(path)
        # Close pooled connections first so none keeps reading the old pages.
        engine_for(url).dispose()
        target = _sqlite_file(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_backup(path, target)
        engine_for(url).dispose()
    else:
        _run(["pg_restore", "--list", str(path)], what="pg_restore --list")  # validates before touching the DB
        engine_for(url).dispose()
        _run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
             f"--dbname={_libpq_url(url)}", str(path)],
            what="pg_restore",
        )


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_backup(source: Path, target: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}") from exc
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup from {source} failed: {exc}") from exc
    finally:
        src.close()


def _check_sqlite(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            has_schema = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from exc
    if ok != "ok":
        raise BackupError(f"{path} failed the integrity check: {ok}")
    if not has_schema:
        raise BackupError(f"{path} is not a CRM database (no schema version table)")


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(cmd: list[str], *, what: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed; install the PostgreSQL client tools")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    with tempfile.TemporaryFile() as err:
        result = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, check=False)
        if result.returncode != 0:
            err.seek(0)
            raise BackupError(f"{what} failed: {err.read().decode(errors='replace').strip()[-500:]}")
