"""Orders and their lines.

``Order.total_amount`` is the net value of the lines, stored rather than summed on
every read: RFM, CLV and metrics scan it over millions of orders, and a covering
index on (customer_id, ordered_at, total_amount, status) makes that a pure index scan.
Writers (demo, importers, tools) keep it equal to the sum of ``OrderLine.amount``.
Returns: the order's status becomes ``returned``; lines keep positive quantities.
"""


from pydantic import NaiveDatetime
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models.enums import OrderChannel, OrderStatus


class OrderBase(SQLModel):
    external_id: str | None = Field(default=None, max_length=100, unique=True, index=True)
    customer_id: int = Field(foreign_key="customer.id")
    ordered_at: NaiveDatetime
    channel: str = Field(default=OrderChannel.online.value, max_length=20)
    store: str | None = Field(default=None, max_length=80, description="Store name or sales region")
    status: str = Field(default=OrderStatus.paid.value, max_length=20, index=True)
    paid_at: NaiveDatetime | None = None
    shipped_at: NaiveDatetime | None = None
    delivered_at: NaiveDatetime | None = None
    returned_at: NaiveDatetime | None = None
    cancelled_at: NaiveDatetime | None = None
    carrier: str | None = Field(default=None, max_length=60)
    tracking_number: str | None = Field(default=None, max_length=80)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    total_amount: float = 0.0
    currency: str = Field(default="USD", max_length=3)


class OrderCreate(OrderBase):
    channel: OrderChannel = OrderChannel.online
    status: OrderStatus = OrderStatus.paid


class OrderUpdate(SQLModel):
    status: OrderStatus | None = None
    shipped_at: NaiveDatetime | None = None
    delivered_at: NaiveDatetime | None = None
    returned_at: NaiveDatetime | None = None
    cancelled_at: NaiveDatetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None


class Order(OrderBase, table=True):
    __tablename__ = "orders"  # "order" is a reserved word in SQL
    __table_args__ = (
        # Covers RFM, cadence and CLV scans (status filters out returns) without touching the table.
        Index("ix_orders_customer_covering", "customer_id", "ordered_at", "total_amount", "status"),
        Index("ix_orders_ordered_at", "ordered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)


class OrderPublic(OrderBase):
    id: int


class OrderLineBase(SQLModel):
    external_id: str | None = Field(default=None, max_length=120, unique=True, index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    quantity: int = Field(gt=0)
    unit_price: float = Field(ge=0, description="Price charged per unit before the discount")
    discount: float = Field(default=0.0, ge=0, le=1, description="Fraction off unit_price, 0..1")
    promo: bool = Field(default=False, description="Bought under a promotion")
    amount: float = Field(default=0.0, description="quantity * unit_price * (1 - discount)")


class OrderLineCreate(OrderLineBase):
    pass


class OrderLine(OrderLineBase, table=True):
    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)


class OrderLinePublic(OrderLineBase):
    id: int


def line_amount(quantity: int, unit_price: float, discount: float = 0.0) -> float:
    return round(quantity * unit_price * (1.0 - discount), 2)
