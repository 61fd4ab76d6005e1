"""The caller's scope plus search filters, as one value both search back ends apply.

Chroma gets it as a ``where`` clause; the in-process index applies it to its
metadata columns. Building both from one value keeps the two from drifting apart:
whatever narrows one narrows the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knowledge.documents import epoch_seconds
from knowledge.hits import SearchFilters
from storage.scope import Scope

# An empty scope must match nothing, not everything: -1 is no one's id.
NOBODY = -1


@dataclass(frozen=True)
class RowFilter:
    """Which chunks a query may read. ``None`` means "no condition" for that field."""

    owners: tuple[int, ...] | None = None
    customers: tuple[int, ...] | None = None
    channels: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    staff: tuple[int, ...] | None = None
    start: int | None = None  # epoch seconds, inclusive
    end: int | None = None  # epoch seconds, exclusive

    @classmethod
    def of(cls, scope: Scope, filters: SearchFilters | None = None) -> RowFilter:
        owners = scope.metadata_owner_ids()
        f = filters or SearchFilters()
        return cls(
            owners=None if owners is None else tuple(owners or [NOBODY]),
            customers=None if f.customer_ids is None else tuple(f.customer_ids or [NOBODY]),
            channels=tuple(f.channels) if f.channels else None,
            kinds=tuple(f.kinds) if f.kinds else None,
            staff=tuple(f.staff_ids) if f.staff_ids else None,
            start=epoch_seconds(f.start) if f.start else None,
            end=epoch_seconds(f.end) if f.end else None,
        )

    @property
    def narrows(self) -> bool:
        return any(v is not None for v in (self.owners, self.customers, self.channels, self.kinds, self.staff,
                                           self.start, self.end))

    def where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause (None when nothing narrows)."""
        parts: list[dict[str, Any]] = []
        for key, values in (("owner_id", self.owners), ("customer_id", self.customers), ("channel", self.channels),
                            ("kind", self.kinds), ("staff_id", self.staff)):
            if values is not None:
                parts.append({key: {"$in": list(values)}})
        if self.start is not None:
            parts.append({"occurred_at": {"$gte": self.start}})
        if self.end is not None:
            parts.append({"occurred_at": {"$lt": self.end}})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}
