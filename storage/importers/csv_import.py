"""`crm import csv`: any supported entity from a CSV file, validated row by row, upserted in batches.

Each batch is one transaction: a bad row is reported and left out before the
batch is written, so it is never half-written, and a run killed mid-file leaves
only whole batches behind. Re-running the same file upserts by external id, so
it finishes with exactly the data an uninterrupted run would have written.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from storage.errors import ImportFailed
from storage.importers.csv_reader import CsvSource, count_lines
from storage.importers.csv_writers import BatchWriter
from storage.importers.mappings import SPECS, Entity, EntitySpec, load_mapping
from storage.importers.report import ImportReport, ProgressFn, ReportBuilder
from storage.importers.rows import Columns, Prepared, RowRejected, prepare
from storage.importers.schema import require_schema
from storage.models import utcnow

DEFAULT_BATCH_SIZE = 5_000
# Rows dated later than now + this are rejected as typos (e.g. 2052 for 2025).
DEFAULT_MAX_FUTURE = timedelta(days=1)


def import_csv(
    path: str | Path,
    *,
    entity: Entity | str,
    mapping: str | Path | None = None,
    url: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    encoding: str = "utf-8",
    now: datetime | None = None,
    max_future: timedelta = DEFAULT_MAX_FUTURE,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import ``entity`` rows from a CSV file; raises ImportFailed when the import cannot start."""
    started = time.perf_counter()
    try:
        spec = SPECS[Entity(entity)]
    except ValueError:
        raise ImportFailed(f"unknown entity {entity!r}; choose one of: {', '.join(e.value for e in Entity)}") from None
    if batch_size < 1:
        raise ImportFailed("batch size must be at least 1")
    path = Path(path)
    field_map = load_mapping(Path(mapping) if mapping else None, spec)
    engine = require_schema(url)
    builder = ReportBuilder(source=path, entity=spec.entity.value)
    limit = (now or utcnow()) + max_future

    with CsvSource(path, encoding=encoding) as source:
        columns = resolve_columns(source.header, spec=spec, mapping=field_map, report=builder.report)
        total = max(count_lines(path) - 1, 0) if progress else 0
        writer = BatchWriter(engine=engine, spec=spec, columns=columns, builder=builder, limit=limit, now=now)
        _run(source, spec=spec, columns=columns, writer=writer, builder=builder, batch_size=batch_size,
             progress=progress, total=total)
    if builder.report.rows_read == 0:
        builder.report.warnings.append("the file has a header but no data rows; nothing to import")
    return builder.finish(seconds=time.perf_counter() - started)


def _run(
    source: CsvSource,
    *,
    spec: EntitySpec,
    columns: Columns,
    writer: BatchWriter,
    builder: ReportBuilder,
    batch_size: int,
    progress: ProgressFn | None,
    total: int,
) -> None:
    derive_key = spec.key_optional and spec.key not in columns.index
    per_order: Counter[str] = Counter()
    pending: list[Prepared] = []
    for record in source.records():
        builder.report.rows_read += 1
        line_key = None
        if derive_key:
            # Lines without their own id get "<order id>/<n-th line of that order in this file>",
            # which is stable across re-runs of the same file.
            order_ref = _cell(record.values, columns, "order_external_id")
            if order_ref:
                per_order[order_ref] += 1
                line_key = f"{order_ref}/{per_order[order_ref]}"
        try:
            pending.append(prepare(record, spec=spec, columns=columns, line_key=line_key))
        except RowRejected as rejected:
            builder.skip(**rejected.error.model_dump(include={"line", "kind", "reason", "column"}))
        if len(pending) >= batch_size:
            writer.write(pending)
            pending = []
            if progress:
                progress("rows", builder.report.rows_read, total)
    if pending:
        writer.write(pending)
    if progress:
        progress("rows", builder.report.rows_read, max(total, builder.report.rows_read))


def _cell(values: list[str], columns: Columns, ours: str) -> str:
    index = columns.index.get(ours)
    if index is None or index[0] >= len(values):
        return ""
    return values[index[0]].strip()


def resolve_columns(
    header: list[str], *, spec: EntitySpec, mapping: dict[str, str], report: ImportReport
) -> Columns:
    """Find each field's column; raise ImportFailed before any write when required ones are missing."""
    by_name: dict[str, int] = {}
    for i, name in enumerate(header):
        folded = name.casefold()
        if folded in by_name:
            raise ImportFailed(f"the header names column {name!r} twice")
        by_name[folded] = i

    index: dict[str, tuple[int, str]] = {}
    absent_mapped = []
    for ours in spec.accepted:
        theirs = mapping.get(ours, ours)
        i = by_name.get(theirs.casefold())
        if i is not None:
            index[ours] = (i, header[i])
        elif ours in mapping:
            absent_mapped.append(f"{theirs!r} (mapped to {ours})")
    missing = [
        f"{mapping.get(r, r)!r}" + (f" (for {r})" if r in mapping else "") for r in spec.required if r not in index
    ]
    if missing or absent_mapped:
        problems = []
        if missing:
            problems.append(f"required column(s) missing: {', '.join(missing)}")
        if absent_mapped:
            problems.append(f"mapped column(s) not in the file: {', '.join(absent_mapped)}")
        raise ImportFailed(
            f"cannot import {spec.entity.value}: {'; '.join(problems)}. Columns found: {', '.join(header)}"
        )

    used = {i for i, _ in index.values()}
    for i, name in enumerate(header):
        if i in used:
            continue
        if name.casefold() in spec.derived:
            report.warnings.append(f"column {name!r} is computed by the importer; the file's values are ignored")
        else:
            report.warnings.append(f"column {name!r} is not a {spec.entity.value} field; ignored")
    return Columns(index=index, width=len(header))

