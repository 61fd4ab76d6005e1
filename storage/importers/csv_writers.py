"""Write one batch of prepared CSV rows in one transaction.

Inside the transaction: take the write lock, resolve references, validate every
row, then upsert the survivors. If the database still rejects the batch (a
constraint nothing upstream knew about), it is retried row by row under
savepoints, so only the offending rows are dropped and reported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from storage.importers.bulk import LOOKUP_CHUNK, bulk_write, table_of, update_rows, upsert
from storage.importers.derived import (
    current_owners,
    line_order_ids,
    recompute_order_totals,
    record_owner_changes,
    sync_tags,
)
from storage.importers.mappings import Entity, EntitySpec, Reference
from storage.importers.report import EntityCounts, ReportBuilder, RowError
from storage.importers.rows import Columns, Prepared, RowRejected, validate
from storage.models import CustomerTag, Order, PoolHistory, line_amount, utcnow

Item = tuple[Prepared, dict[str, Any]]

_UNKNOWN_KIND = {"customer": "unknown_customer", "product": "unknown_product", "orders": "unknown_order",
                 "staff_user": "unknown_staff"}
_NOUN = {"customer": "customer", "product": "product", "orders": "order", "staff_user": "staff member"}


class BatchWriter:
    def __init__(
        self,
        *,
        engine: Engine,
        spec: EntitySpec,
        columns: Columns,
        builder: ReportBuilder,
        limit: datetime,
        now: datetime | None = None,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.columns = columns
        self.builder = builder
        self.limit = limit
        self.now = now
        self.table = table_of(spec.model)
        self._refs = [r for r in spec.references if r.column in columns.index]
        self._ids: dict[Reference, dict[str, int]] = {r: {} for r in self._refs}
        self._first_line: dict[str, int] = {}
        extra = {
            Entity.order_lines: [table_of(Order)],
            Entity.customers: [table_of(CustomerTag), table_of(PoolHistory)],
        }
        self._locked = [self.table, *extra.get(spec.entity, [])]

    def write(self, batch: list[Prepared]) -> None:
        with self.engine.begin() as conn, bulk_write(conn, self._locked, large=len(batch) >= 20_000):
            items = self._validate(conn, batch)
            counts = EntityCounts()
            if items:
                try:
                    with conn.begin_nested():
                        counts = self._write(conn, items)
                except DBAPIError:
                    counts = self._write_one_by_one(conn, items)
        # Counted only once the batch is committed: a killed run reports nothing it did not keep.
        self.builder.add_counts(self.table.name, counts, primary=True)

    def _write_one_by_one(self, conn: Connection, items: list[Item]) -> EntityCounts:
        total = EntityCounts()
        for item in items:
            try:
                with conn.begin_nested():
                    counts = self._write(conn, [item])
            except DBAPIError as exc:
                detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                self.builder.skip(line=item[0].line, kind="rejected_by_database",
                                  reason=f"the database rejected the row: {detail}")
                continue
            total.inserted += counts.inserted
            total.updated += counts.updated
            total.unchanged += counts.unchanged
        return total

    # -- validation -----------------------------------------------------------------

    def _validate(self, conn: Connection, batch: list[Prepared]) -> list[Item]:
        for ref in self._refs:
            self._resolve(conn, ref, {row.refs.get(ref.column) for row in batch} - {None})
        items: list[Item] = []
        for row in batch:
            try:
                self._attach_references(row)
                values = validate(row, spec=self.spec, columns=self.columns, limit=self.limit)
                first = self._first_line.get(row.key)
                if first is not None:
                    raise RowRejected(self._error(row, "duplicate_id",
                                                  f"{self.spec.key} {row.key!r} appears again in this file "
                                                  f"(first on line {first}); the first one was kept", self.spec.key))
            except RowRejected as rejected:
                err = rejected.error
                self.builder.skip(line=err.line, kind=err.kind, reason=err.reason, column=err.column)
                continue
            self._first_line[row.key] = row.line
            items.append((row, values))
        return items

    def _attach_references(self, row: Prepared) -> None:
        for ref in self._refs:
            text = row.refs.get(ref.column)
            if text is None:
                row.resolved[ref.target] = None
                continue
            found = self._ids[ref].get(_fold(ref, text))
            if found is None:
                table = table_of(ref.model).name
                raise RowRejected(self._error(
                    row, _UNKNOWN_KIND[table], f"{self.columns.name(ref.column)}: no {_NOUN[table]} with "
                    f"{ref.key} {text!r} (import or create it first)", ref.column))
            row.resolved[ref.target] = found

    def _resolve(self, conn: Connection, ref: Reference, keys: set[str | None]) -> None:
        known = self._ids[ref]
        wanted = sorted({_fold(ref, k) for k in keys if k} - known.keys())
        table = table_of(ref.model)
        column = func.lower(table.c[ref.key]) if ref.key == "email" else table.c[ref.key]
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            for key, id_ in conn.execute(select(column, table.c.id).where(column.in_(chunk))):
                known[key] = id_

    def _error(self, row: Prepared, kind: str, reason: str, ours: str) -> RowError:
        return RowError(line=row.line, kind=kind, reason=reason, column=self.columns.name(ours))

    # -- writing --------------------------------------------------------------------

    def _write(self, conn: Connection, items: list[Item]) -> EntityCounts:
        names = list(items[0][1])
        data: dict[str, list[Any]] = {name: [values[name] for _, values in items] for name in names}
        keys = data[self.spec.key]
        now = self.now or utcnow()
        old_orders: set[int] = set()
        if self.spec.entity is Entity.order_lines:
            discounts = data.get("discount") or [0.0] * len(keys)
            data["amount"] = [
                line_amount(q, p, d) for q, p, d in zip(data["quantity"], data["unit_price"], discounts, strict=True)
            ]
            old_orders = line_order_ids(conn, keys)
        owners_before = current_owners(conn, keys) if "owner_id" in data else None
        on_update = {"updated_at": now} if "updated_at" in self.table.c else None
        result = upsert(conn, self.spec.model, key=self.spec.key, data=data, on_update=on_update)
        counts = result.counts

        if owners_before is not None:
            moves = [
                (result.ids[i], owners_before.get(keys[i]), data["owner_id"][i])
                for i in result.changed
                if owners_before.get(keys[i]) != data["owner_id"][i]
            ]
            record_owner_changes(conn, moves, at=now, reason="set by CSV import")

        if self.spec.entity is Entity.order_lines and result.changed:
            touched = old_orders | {data["order_id"][i] for i in result.changed}
            recompute_order_totals(conn, touched)
        if self.spec.entity is Entity.customers and items[0][0].tags is not None:
            changed_tags = sync_tags(conn, {result.ids[i]: row.tags or [] for i, (row, _) in enumerate(items)})
            already = {result.ids[i] for i in result.changed}
            bumped = sorted(changed_tags - already)
            # A tag change alone still counts as (and stamps) an update of the customer.
            counts.unchanged -= len(bumped)
            counts.updated += len(bumped)
            update_rows(conn, self.table, columns=["updated_at"], rows=[{"_id": i, "updated_at": now} for i in bumped])
        return counts


def _fold(ref: Reference, text: str) -> str:
    # E-mail addresses match whatever their case; other keys are exact.
    return text.lower() if ref.key == "email" else text
