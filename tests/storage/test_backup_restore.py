"""Backup and restore round-trips on SQLite and a real PostgreSQL server."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from storage.backup import backup, restore
from storage.db import engine_for
from storage.errors import BackupError
from storage.models import Customer, Order, StaffUser
from storage.stats import table_counts


def _seed(url: str, n: int) -> None:
    with Session(engine_for(url)) as s:
        rep = StaffUser(name="Rep", email=f"rep{n}@x.test", role="rep")
        s.add(rep)
        s.flush()
        for i in range(n):
            c = Customer(name=f"Customer {i}", city="Shanghai", owner_id=rep.id if i % 2 else None)
            s.add(c)
            s.flush()
            s.add(Order(customer_id=c.id, ordered_at=datetime(2026, 1, 1 + i % 28), total_amount=10.0 * i))
        s.commit()


def _snapshot(url: str) -> list[tuple]:
    with Session(engine_for(url)) as s:
        return [(c.id, c.name, c.owner_id) for c in s.exec(select(Customer).order_by(Customer.id))]


def test_round_trip_restores_exact_contents(database_url, tmp_path):
    _seed(database_url, 20)
    before, counts = _snapshot(database_url), table_counts(database_url)
    path = backup(tmp_path / "crm.backup", url=database_url)
    assert path.stat().st_size > 0

    _seed(database_url, 5)  # changes after the backup must disappear on restore
    with Session(engine_for(database_url)) as s:
        s.get(Customer, 1).name = "changed"
        s.commit()
    assert _snapshot(database_url) != before

    restore(path, url=database_url)
    assert _snapshot(database_url) == before
    assert table_counts(database_url) == counts


def test_restore_refuses_a_bad_file_and_keeps_the_data(database_url, tmp_path):
    _seed(database_url, 3)
    before = _snapshot(database_url)
    bad = tmp_path / "bad.backup"
    bad.write_bytes(b"not a backup at all")
    with pytest.raises(BackupError):
        restore(bad, url=database_url)
    with pytest.raises(BackupError, match="not found"):
        restore(tmp_path / "missing.backup", url=database_url)
    assert _snapshot(database_url) == before


def test_backup_of_a_missing_database_fails_cleanly(tmp_path):
    out = tmp_path / "backups"
    with pytest.raises(BackupError, match="cannot open"):
        backup(out / "x.backup", url=f"sqlite:///{tmp_path / 'nope' / 'missing.sqlite3'}")
    assert list(out.iterdir()) == [], "no partial or empty backup file may be left behind"


def test_cli_stats_backup_restore(sqlite_url, tmp_path):
    from typer.testing import CliRunner

    from integrations.cli import app

    _seed(sqlite_url, 4)
    runner = CliRunner()
    out = runner.invoke(app, ["stats", "--json"])
    assert out.exit_code == 0, out.output
    assert '"customer": 4' in out.output
    assert runner.invoke(app, ["backup", str(tmp_path / "b.db")]).exit_code == 0
    _seed(sqlite_url, 2)
    assert runner.invoke(app, ["restore", str(tmp_path / "b.db"), "--yes"]).exit_code == 0
    assert table_counts(sqlite_url)["customer"] == 4
