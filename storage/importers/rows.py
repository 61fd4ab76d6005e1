"""Turn one CSV record into a validated row, or into one clear RowError.

Two steps, because references need the database: ``prepare`` does everything the
file alone can decide (field count, blanks, dates, e-mails); ``validate`` runs the
pydantic Create model once references are resolved to ids.
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from storage.importers.csv_reader import Record
from storage.importers.mappings import EntitySpec
from storage.importers.report import RowError

# Deliberately loose: catches typos ("ann.example.com", "a@b") without rejecting real addresses.
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Integer columns are 32-bit on Postgres; SQLite would take more, so both refuse it here.
INT_MAX = 2**31 - 1
TAG_SEPARATOR = ";"
MAX_TAG_LENGTH = 60

_KIND_BY_PYDANTIC_TYPE = {
    "string_too_long": "too_long",
    "int_parsing": "not_a_number",
    "int_from_float": "not_a_number",
    "float_parsing": "not_a_number",
    "finite_number": "not_a_number",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "enum": "unknown_enum",
    "missing": "blank_required",
    "bool_parsing": "bad_bool",
}


@dataclass
class Columns:
    """Where each of our fields sits in the file: field -> (index, file column name)."""

    index: dict[str, tuple[int, str]]
    width: int

    def name(self, ours: str) -> str:
        return self.index[ours][1] if ours in self.index else ours


@dataclass
class Prepared:
    line: int
    key: str
    values: dict[str, Any]
    refs: dict[str, str | None]
    tags: list[str] | None = None
    resolved: dict[str, int | None] = field(default_factory=dict)


class RowRejected(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.reason)
        self.error = error


def _reject(line: int, kind: str, reason: str, column: str | None = None) -> RowRejected:
    return RowRejected(RowError(line=line, kind=kind, reason=reason, column=column))


def base_type(annotation: Any) -> Any:
    """``datetime | None`` -> datetime; ``OrderChannel`` stays itself."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return typing.get_origin(annotation) or annotation


def _is_datetime(kind: Any) -> bool:
    # The models annotate with pydantic's NaiveDatetime, which is not a datetime subclass.
    return kind is datetime or getattr(kind, "__name__", "") in {"NaiveDatetime", "AwareDatetime"}


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def prepare(record: Record, *, spec: EntitySpec, columns: Columns, line_key: str | None = None) -> Prepared:
    """File-level checks. ``line_key`` is the derived key when the file has no key column."""
    line = record.line
    if record.problem:
        raise _reject(line, record.problem_kind or "malformed_csv", record.problem)
    if len(record.values) != columns.width:
        many = "too many" if len(record.values) > columns.width else "too few"
        raise _reject(
            line, "field_count", f"{many} fields: expected {columns.width}, found {len(record.values)}"
        )

    cells = {ours: record.values[i].strip() for ours, (i, _) in columns.index.items()}
    for ours, text in cells.items():
        if _CONTROL.search(text):
            # Postgres refuses NUL in text, SQLite keeps it: reject on both so backends agree.
            raise _reject(line, "control_character", f"{columns.name(ours)}: holds a control character (e.g. NUL)",
                          columns.name(ours))
    key = cells.get(spec.key) or line_key or ""
    if not key:
        raise _reject(line, "missing_id", f"missing {spec.key}: every row needs one", columns.name(spec.key))
    for ours in spec.required:
        if ours in cells and not cells[ours]:
            raise _reject(line, "blank_required", f"{columns.name(ours)} is required but blank", columns.name(ours))

    refs = {ref.column: (cells.get(ref.column) or None) for ref in spec.references if ref.column in cells}
    values: dict[str, Any] = {}
    model_fields = spec.create.model_fields
    for ours in spec.fields:
        if ours not in cells:
            continue
        text = cells[ours]
        info = model_fields[ours]
        if text == "":
            # Blank: NULL for nullable fields, the model's default otherwise (e.g. loyalty_points 0).
            values[ours] = info.get_default(call_default_factory=True) if not info.is_required() else None
            continue
        values[ours] = _convert(line, ours, text, base_type(info.annotation), columns)
    for ours in spec.emails:
        if values.get(ours) and not _EMAIL.match(values[ours]):
            raise _reject(line, "bad_email", f"{columns.name(ours)}: not an e-mail address: {values[ours]!r}", columns.name(ours))

    tags = None
    if "tags" in spec.extra and "tags" in cells:
        tags = sorted({t.strip() for t in cells["tags"].split(TAG_SEPARATOR) if t.strip()})
        too_long = [t for t in tags if len(t) > MAX_TAG_LENGTH]
        if too_long:
            raise _reject(line, "too_long", f"tags: tag longer than {MAX_TAG_LENGTH} characters: {too_long[0][:40]!r}…", columns.name("tags"))
    return Prepared(line=line, key=key, values=values, refs=refs, tags=tags)


def _convert(line: int, ours: str, text: str, kind: Any, columns: Columns) -> Any:
    column = columns.name(ours)
    # Dates are parsed here, strictly: pydantic would read "1300000000" as a Unix time.
    if _is_datetime(kind):
        try:
            return _parse_datetime(text)
        except ValueError:
            raise _reject(line, "bad_date", f"{column}: not a date-time: {text!r} (expected YYYY-MM-DD[ HH:MM[:SS]])", column) from None
    if kind is date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise _reject(line, "bad_date", f"{column}: not a date: {text!r} (expected YYYY-MM-DD)", column) from None
    if kind is float and text.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
        raise _reject(line, "not_a_number", f"{column}: not a finite number: {text!r}", column)
    if kind is dict:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise _reject(line, "invalid_value", f"{column}: expected a JSON object, got {text[:40]!r}", column)
        return parsed
    return text


def validate(row: Prepared, *, spec: EntitySpec, columns: Columns, limit: datetime) -> dict[str, Any]:
    """Run the Create model; return the column values to write (only the fields the file carries)."""
    data = {**row.values, **row.resolved, spec.key: row.key}
    try:
        model = spec.create.model_validate(data)
    except ValidationError as exc:
        raise RowRejected(_from_validation(row.line, exc, columns)) from None
    keep = {spec.key, *row.values, *row.resolved}
    out = {name: getattr(model, name) for name in keep}
    for name, value in out.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise _reject(row.line, "not_a_number", f"{columns.name(name)}: not a finite number", columns.name(name))
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT_MAX:
            raise _reject(row.line, "out_of_range", f"{columns.name(name)}: {value} is too large", columns.name(name))
    for name in spec.not_future:
        value = out.get(name)
        if value is None:
            continue
        moment = value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())
        if moment > limit:
            raise _reject(
                row.line,
                "future_date",
                f"{columns.name(name)}: {value.isoformat()} is in the future (later than {limit:%Y-%m-%d %H:%M} UTC)",
                columns.name(name),
            )
    return out


def _from_validation(line: int, exc: ValidationError, columns: Columns) -> RowError:
    parts = []
    first_column = None
    kind = "invalid_value"
    for err in exc.errors():
        ours = str(err["loc"][0]) if err["loc"] else ""
        column = columns.name(ours)
        first_column = first_column or column
        if len(parts) == 0:
            kind = _KIND_BY_PYDANTIC_TYPE.get(err["type"], kind)
            if err["type"].startswith(("date", "datetime")):
                kind = "bad_date"
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) and err["type"] != "missing" else ""
        text = str(got) if got is not None else ""
        if err["type"] == "string_too_long":
            shown = f" (got {len(text)} characters)"
        parts.append(f"{column}: {err['msg']}{shown}")
    return RowError(line=line, kind=kind, reason="; ".join(parts), column=first_column)
