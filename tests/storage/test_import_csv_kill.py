"""`crm import csv` killed with SIGKILL mid-file, then re-run, ends with exactly the data of a clean run.

Real processes, a real SQLite file: the import runs as `crm import csv` in a
subprocess, is killed -9 once some batches have committed, and is run again. A
full dump of every table is then compared with an uninterrupted import into
another CRM_HOME. Only write-time stamps (created_at, updated_at) may differ.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CUSTOMERS = 1_200
LINES = 3_000
ORDERS = 1_000
BATCH = 20
STAMPS = {"created_at", "updated_at"}


def crm(home: Path, *args: str, check: bool = True) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "CRM_HOME": str(home)}
    env.pop("CRM_DATABASE_URL", None)
    script = Path(sys.executable).with_name("crm")
    cmd = [str(script)] if script.exists() else [sys.executable, "-c", "from integrations.cli import main; main()"]
    if not check:
        return subprocess.Popen([*cmd, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def make_files(folder: Path) -> dict[str, Path]:
    files = {
        "customers": "external_id,name,email,tags\n" + "".join(
            f"c{i},Customer {i},c{i}@example.com,{'vip;' if i % 7 == 0 else ''}t{i % 5}\n" for i in range(CUSTOMERS)
        ),
        "products": "sku,name,list_price\n" + "".join(f"P{i},Product {i},{i % 13 + 0.99}\n" for i in range(40)),
        "orders": "external_id,customer_external_id,ordered_at\n" + "".join(
            f"o{i},c{i % CUSTOMERS},2024-{i % 12 + 1:02d}-{i % 28 + 1:02d} 10:00\n" for i in range(ORDERS)
        ),
        # No external_id column: line ids are derived from the order and the line's place in the file.
        "order-lines": "order_external_id,sku,quantity,unit_price,discount\n" + "".join(
            f"o{(i * 7) % ORDERS},P{i % 40},{i % 4 + 1},{(i % 50) / 4 + 0.25},{(i % 3) / 10}\n" for i in range(LINES)
        ),
    }
    out = {}
    for entity, body in files.items():
        out[entity] = folder / f"{entity}.csv"
        out[entity].write_text(body, encoding="utf-8")
    return out


def rows_in(db: Path, table: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def kill_after_first_commits(home: Path, entity: str, path: Path, table: str, total: int) -> None:
    proc = crm(home, "import", "csv", "--entity", entity, str(path), "--batch-size", str(BATCH), check=False)
    db = home / "crm.sqlite3"
    deadline = time.monotonic() + 120
    try:
        while rows_in(db, table) < 3 * BATCH:
            assert proc.poll() is None, f"import ended before it could be killed: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "no batch committed within 120 s"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    written = rows_in(db, table)
    assert 0 < written < total, f"the kill came too late to test anything ({written} of {total})"
    assert written % BATCH == 0, "only whole batches may survive a kill"


def dump(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version' ORDER BY name")]
        out = {}
        for table in tables:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in STAMPS]
            quoted = ", ".join(f'"{c}"' for c in cols)
            out[table] = conn.execute(f'SELECT {quoted} FROM "{table}" ORDER BY {quoted}').fetchall()
        return out


def import_in_process(home: Path, entity: str, path: Path) -> None:
    from storage.importers import import_csv

    import_csv(path, entity=entity, url=url_of(home), batch_size=BATCH)


def url_of(home: Path) -> str:
    return f"sqlite:///{home / 'crm.sqlite3'}"


@pytest.mark.slow
def test_killed_import_rerun_matches_a_clean_run(tmp_path):
    from storage.migrate import upgrade

    files = make_files(tmp_path)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for home in (clean, killed):
        home.mkdir()
        upgrade(url_of(home))

    for entity in ("customers", "products", "orders", "order-lines"):
        import_in_process(clean, entity, files[entity])

    kill_after_first_commits(killed, "customers", files["customers"], "customer", CUSTOMERS)
    import_in_process(killed, "customers", files["customers"])
    for entity in ("products", "orders"):
        import_in_process(killed, entity, files[entity])
    kill_after_first_commits(killed, "order-lines", files["order-lines"], "order_line", LINES)
    rerun = crm(killed, "import", "csv", "--entity", "order-lines", str(files["order-lines"]),
                "--batch-size", str(BATCH), "--json")

    report = json.loads(rerun.stdout)
    assert report["unchanged"] > 0 and report["inserted"] > 0
    assert report["unchanged"] + report["inserted"] == LINES

    expected, got = dump(clean / "crm.sqlite3"), dump(killed / "crm.sqlite3")
    assert expected.keys() == got.keys()
    for table in expected:
        assert got[table] == expected[table], f"table {table} differs after kill + re-run"
    assert len(got["order_line"]) == LINES and len(got["customer"]) == CUSTOMERS
    with sqlite3.connect(killed / "crm.sqlite3") as conn:
        off = conn.execute(
            "SELECT COUNT(*) FROM orders o WHERE abs(o.total_amount - "
            "(SELECT COALESCE(SUM(amount), 0) FROM order_line l WHERE l.order_id = o.id)) > 0.005"
        ).fetchone()[0]
    assert off == 0
