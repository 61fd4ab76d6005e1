"""What each CSV entity accepts, and the optional column-mapping file.

A mapping file (YAML or JSON) maps our field names to the file's column names::

    external_id: Customer No
    name: Full Name
    email: E-mail

Without one, columns must be named as our fields (case and surrounding spaces ignored).

Semantics, per entity (see SPECS for the exact field lists):

- the key is ``external_id`` (``sku`` for products); order lines without an
  ``external_id`` column get ``<order_external_id>/<n>``, n counting that order's
  lines in the file;
- references are by natural key: ``customer_external_id``, ``order_external_id``,
  ``sku``, ``staff_email`` / ``owner_email`` (e-mails match case-insensitively);
- an update writes only the columns the file carries; a blank cell means NULL
  (or the field's default), so a blank ``owner_email`` puts the customer back in the
  public pool, recorded in ``pool_history`` like any other move;
- ``tags`` is ``;``-separated and replaces the customer's tags;
- ``total_amount`` (orders) and ``amount`` (lines) are computed, never imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sqlmodel import SQLModel

from storage.errors import ImportFailed
from storage.models import (
    Customer,
    CustomerCreate,
    Interaction,
    InteractionCreate,
    Order,
    OrderCreate,
    OrderLine,
    OrderLineCreate,
    Product,
    ProductCreate,
    StaffUser,
)


class Entity(StrEnum):
    customers = "customers"
    products = "products"
    orders = "orders"
    order_lines = "order-lines"
    interactions = "interactions"


@dataclass(frozen=True)
class Reference:
    """A file column naming another record by its natural key, resolved to a foreign key."""

    column: str
    target: str
    model: type[SQLModel]
    key: str
    required: bool = True


@dataclass(frozen=True)
class EntitySpec:
    entity: Entity
    model: type[SQLModel]
    create: type[SQLModel]
    key: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    # Computed by the importer; a file column with this name is ignored with a warning.
    derived: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    # Event times that cannot lie in the future beyond the sanity limit.
    not_future: tuple[str, ...] = ()
    # The key may be absent from the file; it is then derived (order lines only).
    key_optional: bool = False
    extra: tuple[str, ...] = field(default=())

    @property
    def accepted(self) -> tuple[str, ...]:
        return (self.key, *(r.column for r in self.references), *self.fields, *self.extra)


def _fields(create: type[SQLModel], *, drop: set[str]) -> tuple[str, ...]:
    return tuple(name for name in create.model_fields if name not in drop)


_CUSTOMER_OWNER = Reference("owner_email", "owner_id", StaffUser, "email", required=False)
_ORDER_CUSTOMER = Reference("customer_external_id", "customer_id", Customer, "external_id")

SPECS: dict[Entity, EntitySpec] = {
    Entity.customers: EntitySpec(
        entity=Entity.customers,
        model=Customer,
        create=CustomerCreate,
        key="external_id",
        fields=_fields(CustomerCreate, drop={"external_id", "owner_id", "tags"}),
        extra=("tags",),
        required=("external_id", "name"),
        references=(_CUSTOMER_OWNER,),
        emails=("email",),
        not_future=("birth_date", "acquired_on"),
    ),
    Entity.products: EntitySpec(
        entity=Entity.products,
        model=Product,
        create=ProductCreate,
        key="sku",
        fields=_fields(ProductCreate, drop={"sku"}),
        required=("sku", "name"),
    ),
    Entity.orders: EntitySpec(
        entity=Entity.orders,
        model=Order,
        create=OrderCreate,
        key="external_id",
        fields=_fields(OrderCreate, drop={"external_id", "customer_id", "campaign_id", "total_amount"}),
        required=("external_id", "customer_external_id", "ordered_at"),
        references=(_ORDER_CUSTOMER,),
        derived=("total_amount",),
        not_future=("ordered_at", "paid_at", "shipped_at", "delivered_at", "returned_at", "cancelled_at"),
    ),
    Entity.order_lines: EntitySpec(
        entity=Entity.order_lines,
        model=OrderLine,
        create=OrderLineCreate,
        key="external_id",
        fields=_fields(OrderLineCreate, drop={"external_id", "order_id", "product_id", "amount"}),
        required=("order_external_id", "sku", "quantity", "unit_price"),
        references=(
            Reference("order_external_id", "order_id", Order, "external_id"),
            Reference("sku", "product_id", Product, "sku"),
        ),
        derived=("amount",),
        key_optional=True,
    ),
    Entity.interactions: EntitySpec(
        entity=Entity.interactions,
        model=Interaction,
        create=InteractionCreate,
        key="external_id",
        fields=_fields(InteractionCreate, drop={"external_id", "customer_id", "staff_id"}),
        required=("external_id", "customer_external_id", "channel", "kind", "occurred_at"),
        references=(
            Reference("customer_external_id", "customer_id", Customer, "external_id"),
            Reference("staff_email", "staff_id", StaffUser, "email", required=False),
        ),
        not_future=("occurred_at",),
    ),
}


def load_mapping(path: Path | None, spec: EntitySpec) -> dict[str, str]:
    """our field -> file column. Raises ImportFailed when the file is unreadable or malformed."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise ImportFailed(f"mapping file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"cannot read mapping file {path}: {exc}") from exc
    data = _parse_mapping_text(text, path)
    if not isinstance(data, dict) or not data:
        raise ImportFailed(
            f"mapping file {path} must be a non-empty mapping of field name to column name, "
            f"e.g. `name: Full Name`"
        )
    accepted = set(spec.accepted)
    mapping: dict[str, str] = {}
    for ours, theirs in data.items():
        if not isinstance(ours, str) or not isinstance(theirs, str) or not theirs.strip():
            raise ImportFailed(
                f"mapping file {path}: entry {ours!r}: {theirs!r} must map a field name to a column name (text)"
            )
        if ours not in accepted:
            raise ImportFailed(
                f"mapping file {path}: unknown field {ours!r} for {spec.entity.value}; "
                f"known fields: {', '.join(spec.accepted)}"
            )
        mapping[ours] = theirs.strip()
    return mapping


def _parse_mapping_text(text: str, path: Path) -> object:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFailed(f"mapping file {path} is not valid JSON: {exc}") from exc
    import yaml

    try:
        # YAML is a superset of JSON, so this also reads JSON in a file with another suffix.
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImportFailed(f"mapping file {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
