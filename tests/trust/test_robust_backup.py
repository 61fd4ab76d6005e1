"""Restore refuses a *damaged real* backup and leaves the data as it was, on SQLite and PostgreSQL.

tests/storage/test_backup_restore.py already covers the round trip on both backends and a file that
was never a backup; here a genuine backup is cut short or overwritten in the middle, as a failed
copy or a bad disk would leave it.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.backup import backup, restore
from storage.db import engine_for
from storage.errors import BackupError
from storage.models import Customer, StaffUser
from storage.stats import table_counts


def _seed(url: str, n: int) -> None:
    with Session(engine_for(url)) as s:
        rep = StaffUser(name="Rep", email=f"rep{n}@x.test", role="rep")
        s.add(rep)
        s.flush()
        s.add_all([Customer(name=f"Customer {i}", city="Shanghai", owner_id=rep.id if i % 2 else None)
                   for i in range(n)])
        s.commit()


def _names(url: str) -> list[str]:
    with Session(engine_for(url)) as s:
        return list(s.exec(select(Customer.name).order_by(Customer.id)))


def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "header-overwritten":
        data[:100] = b"\x00" * 100
        path.write_bytes(bytes(data))
    elif how == "tail-zeroed":
        cut = len(data) * 2 // 3
        data[cut:] = b"\x00" * (len(data) - cut)
        path.write_bytes(bytes(data))
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["truncated", "header-overwritten", "tail-zeroed", "empty"])
def test_a_damaged_backup_is_refused_and_the_data_kept(database_url, tmp_path, how):
    _seed(database_url, 300)
    path = backup(tmp_path / "crm.backup", url=database_url)
    _seed(database_url, 7)  # changes after the backup: a refused restore must keep them too
    names, counts = _names(database_url), table_counts(database_url)
    _damage(path, how)
    with pytest.raises(BackupError):
        restore(path, url=database_url)
    assert _names(database_url) == names
    assert table_counts(database_url) == counts


def test_cli_restore_of_a_damaged_backup_says_so_in_one_line(sqlite_url, tmp_path, monkeypatch, capsys):
    import sys

    from integrations.cli.app import main

    _seed(sqlite_url, 50)
    path = backup(tmp_path / "crm.backup", url=sqlite_url)
    _damage(path, "truncated")
    monkeypatch.setattr(sys, "argv", ["crm", "restore", str(path), "--yes"])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [err.strip()] and err.startswith("error: ")
    assert table_counts(sqlite_url)["customer"] == 50
