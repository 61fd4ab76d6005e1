"""Stream a CSV file as records that remember the line they started on.

Bytes that are not valid in the file's encoding do not stop the read: they are
kept as surrogate escapes so the one record holding them can be reported and
the others imported.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from storage.errors import ImportFailed

_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Record:
    line: int
    values: list[str]
    # Set when the record could not be read at all (bad encoding, malformed quoting).
    problem: str | None = None
    problem_kind: str | None = None


def open_text(path: Path, *, encoding: str) -> IO[str]:
    if not path.exists():
        raise ImportFailed(f"file not found: {path}")
    if not path.is_file():
        raise ImportFailed(f"not a file: {path}")
    try:
        codec = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
        raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115
        return io.TextIOWrapper(raw, encoding=codec, errors="surrogateescape", newline="")
    except LookupError as exc:
        raise ImportFailed(f"unknown encoding {encoding!r}") from exc
    except OSError as exc:
        raise ImportFailed(f"cannot open {path}: {exc}") from exc


def count_lines(path: Path) -> int:
    """Physical lines, for a progress bar's total (cheap: a binary scan)."""
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


class CsvSource:
    """Header and records of one CSV file; use as a context manager."""

    def __init__(self, path: Path, *, encoding: str = "utf-8") -> None:
        self.path = Path(path)
        self.encoding = "UTF-8" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
        self._fh = open_text(self.path, encoding=encoding)
        try:
            self._reader = csv.reader(self._fh)
            self._last_line = 0
            self.header = self._read_header()
        except BaseException:
            self._fh.close()
            raise

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def _read_header(self) -> list[str]:
        try:
            for row in self._reader:
                self._last_line = self._reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if _UNDECODABLE.search("".join(row)):
                    raise ImportFailed(f"{self.path}: the header line is not valid text in the file's encoding")
                return [cell.strip() for cell in row]
        except csv.Error as exc:
            raise ImportFailed(f"{self.path}: cannot read the header line: {exc}") from exc
        except UnicodeError as exc:  # only for encodings without surrogateescape support
            raise ImportFailed(f"{self.path}: cannot decode the header: {exc}") from exc
        raise ImportFailed(f"{self.path} is empty: expected a header line naming the columns")

    def records(self) -> Iterator[Record]:
        reader = self._reader
        while True:
            start = self._last_line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._last_line = reader.line_num
                yield Record(line=start, values=[], problem=f"malformed CSV: {exc}", problem_kind="malformed_csv")
                continue
            self._last_line = reader.line_num
            if not row or not any(cell.strip() for cell in row):
                continue
            if _UNDECODABLE.search("".join(row)):
                yield Record(
                    line=start,
                    values=row,
                    problem=f"bad encoding: the line holds bytes that are not valid {self.encoding}; nothing imported from it",
                    problem_kind="bad_encoding",
                )
                continue
            yield Record(line=start, values=row)
