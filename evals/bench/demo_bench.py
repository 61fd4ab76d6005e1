"""Benchmark: `crm demo` at 100k customers into a fresh SQLite file, beside a raw-insert baseline.

Prints wall and CPU seconds and rows/s for the whole generator (generate + load), and
for the baseline: plain ``sqlite3.executemany`` of the same number of order-line-shaped
rows (pre-built tuples, same pragmas, no indexes) in the same run. The ratio says how
much the generator costs over simply pushing that many rows into SQLite.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

CUSTOMERS = int(os.environ.get("CRM_BENCH_DEMO_CUSTOMERS", "100000"))
TODAY = date(2026, 11, 22)
TARGET_SECONDS = 120.0


def _baseline(path: Path, rows: int) -> tuple[float, float]:
    import numpy as np

    rng = np.random.default_rng(0)
    order_id = np.sort(rng.integers(1, rows // 2 + 2, size=rows)).tolist()
    product = rng.integers(1, 301, size=rows).tolist()
    quantity = rng.integers(1, 4, size=rows).tolist()
    price = rng.uniform(1, 500, size=rows).round(2).tolist()
    data = list(zip(range(1, rows + 1), order_id, product, quantity, price, [0.0] * rows, [False] * rows, price,
                    strict=True))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        "CREATE TABLE order_line (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, product_id INTEGER NOT NULL,"
        " quantity INTEGER NOT NULL, unit_price FLOAT NOT NULL, discount FLOAT NOT NULL, promo BOOLEAN NOT NULL,"
        " amount FLOAT NOT NULL)"
    )
    wall, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN")
    for start in range(0, rows, 50_000):
        conn.executemany("INSERT INTO order_line VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data[start:start + 50_000])
    conn.execute("COMMIT")
    result = time.perf_counter() - wall, time.process_time() - cpu
    conn.close()
    return result


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from storage.demo import generate

    with tempfile.TemporaryDirectory(prefix="crm-demo-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
        wall, cpu = time.perf_counter(), time.process_time()
        summary = generate(customers=CUSTOMERS, today=TODAY, url=url)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows = sum(summary.counts.values())
        base_wall, base_cpu = _baseline(Path(tmp) / "baseline.sqlite3", rows)

    load = summary.timings.get("load", 0.0)
    print(f"demo generator, {CUSTOMERS:,} customers -> {rows:,} rows "
          f"({summary.counts['orders']:,} orders, {summary.counts['order_line']:,} lines, "
          f"{summary.counts['interaction']:,} interactions)")
    print(f"  generate + load : {wall:8.1f} s wall  {cpu:8.1f} s CPU  {rows / wall:10,.0f} rows/s "
          f"(of which load {load:.1f} s wall)  target < {TARGET_SECONDS:.0f} s: "
          f"{'met' if wall < TARGET_SECONDS else 'MISSED'}")
    print(f"  baseline        : {base_wall:8.1f} s wall  {base_cpu:8.1f} s CPU  {rows / base_wall:10,.0f} rows/s "
          "(raw sqlite3 executemany of the same number of order-line-shaped rows)")
    print(f"  ratio (demo / baseline): {wall / base_wall:.2f}x wall, {cpu / base_cpu:.2f}x CPU")
    print(f"  load average at end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
