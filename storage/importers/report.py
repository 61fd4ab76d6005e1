"""What an import did, row by row: the one result every importer returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

# (stage, done, total): importers call it as work advances so a CLI can draw a progress bar.
ProgressFn = Callable[[str, int, int], None]


class RowError(BaseModel):
    """One rejected or skipped source row. ``line`` is the 1-based line in the file (header = 1)."""

    line: int
    reason: str
    column: str | None = None
    kind: str = Field(default="invalid_value", description="Stable code, counted in ImportReport.reasons")


class EntityCounts(BaseModel):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.updated


class ImportReport(BaseModel):
    """Counts per outcome and the rows that were not imported, with their line numbers."""

    source: str
    entity: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    reasons: dict[str, int] = Field(default_factory=dict, description="skipped rows per error kind")
    notes: dict[str, int] = Field(
        default_factory=dict, description="rows kept but worth knowing about (e.g. zero-dollar CDNOW rows)"
    )
    per_table: dict[str, EntityCounts] = Field(default_factory=dict)
    errors: list[RowError] = Field(default_factory=list)
    errors_omitted: int = Field(default=0, description="errors counted in `reasons` but not listed")
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.skipped == 0


class ReportBuilder:
    """Accumulates a report; ``max_errors`` caps the listed errors (counts stay exact)."""

    def __init__(self, *, source: str | Path, entity: str, max_errors: int | None = None) -> None:
        self.report = ImportReport(source=str(source), entity=entity)
        self._reasons: Counter[str] = Counter()
        self._max_errors = max_errors

    def skip(self, *, line: int, kind: str, reason: str, column: str | None = None) -> None:
        self.report.skipped += 1
        self._reasons[kind] += 1
        if self._max_errors is None or len(self.report.errors) < self._max_errors:
            self.report.errors.append(RowError(line=line, reason=reason, column=column, kind=kind))
        else:
            self.report.errors_omitted += 1

    def skip_many(self, *, kind: str, reason: str, lines: list[int], column: str | None = None) -> None:
        """Skip a vectorised group of rows sharing one reason (bulk importers)."""
        listed = lines[: self._room()]
        self.report.errors.extend(RowError(line=line, reason=reason, kind=kind, column=column) for line in listed)
        self.report.errors_omitted += len(lines) - len(listed)
        self.report.skipped += len(lines)
        self._reasons[kind] += len(lines)

    def _room(self) -> int:
        if self._max_errors is None:
            return 1 << 62
        return max(0, self._max_errors - len(self.report.errors))

    def note(self, kind: str, n: int = 1) -> None:
        if n:
            self.report.notes[kind] = self.report.notes.get(kind, 0) + n

    def add_counts(self, table: str, counts: EntityCounts, *, primary: bool = False) -> None:
        current = self.report.per_table.setdefault(table, EntityCounts())
        current.inserted += counts.inserted
        current.updated += counts.updated
        current.unchanged += counts.unchanged
        if primary:
            self.report.inserted += counts.inserted
            self.report.updated += counts.updated
            self.report.unchanged += counts.unchanged

    def finish(self, *, seconds: float) -> ImportReport:
        self.report.reasons = dict(sorted(self._reasons.items()))
        self.report.seconds = round(seconds, 3)
        return self.report
