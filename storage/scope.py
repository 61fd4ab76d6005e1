"""Which customers a caller may see, as data, applied inside queries.

Built from the caller's role by ``tools.context`` and applied server-side by every
SQL query (``customer_clause``) and by vector retrieval (``owner_ids``), so no
prompt can widen it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, false, or_, true

# Chroma metadata cannot hold NULL; the public pool is stored as owner 0.
POOL_OWNER_ID = 0


class Scope(BaseModel):
    model_config = ConfigDict(frozen=True)

    all_customers: bool = False
    owner_ids: frozenset[int] = frozenset()
    include_pool: bool = False

    @classmethod
    def everything(cls) -> Scope:
        return cls(all_customers=True)

    def allows_owner(self, owner_id: int | None) -> bool:
        if self.all_customers:
            return True
        if owner_id is None or owner_id == POOL_OWNER_ID:
            return self.include_pool
        return owner_id in self.owner_ids

    def customer_clause(self, owner_column) -> ColumnElement[bool]:
        """A WHERE clause over a customer owner column (e.g. ``Customer.owner_id``)."""
        if self.all_customers:
            return true()
        parts = []
        if self.owner_ids:
            parts.append(owner_column.in_(sorted(self.owner_ids)))
        if self.include_pool:
            parts.append(owner_column.is_(None))
        return or_(*parts) if parts else false()

    def metadata_owner_ids(self) -> list[int] | None:
        """Owner ids as stored in vector metadata (pool = 0); None means no filter."""
        if self.all_customers:
            return None
        ids = sorted(self.owner_ids)
        if self.include_pool:
            ids.append(POOL_OWNER_ID)
        return ids
