from sqlmodel import Field, SQLModel


class ProductBase(SQLModel):
    sku: str = Field(max_length=60, unique=True, index=True)
    name: str = Field(max_length=300, index=True)
    category: str | None = Field(default=None, max_length=80, index=True)
    brand: str | None = Field(default=None, max_length=80, index=True)
    list_price: float = Field(default=0.0, ge=0)
    description: str | None = None


class ProductCreate(ProductBase):
    pass


class ProductUpdate(SQLModel):
    name: str | None = None
    category: str | None = None
    brand: str | None = None
    list_price: float | None = None


class Product(ProductBase, table=True):
    __tablename__ = "product"

    id: int | None = Field(default=None, primary_key=True)


class ProductPublic(ProductBase):
    id: int
