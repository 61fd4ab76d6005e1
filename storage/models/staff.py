
from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from storage.models.enums import Role
from storage.models.timeutil import utcnow


class StaffUserBase(SQLModel):
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, index=True, unique=True)
    role: str = Field(default=Role.rep.value, max_length=20, description="rep | manager | support | admin")
    team: str | None = Field(default=None, max_length=100, index=True)
    region: str | None = Field(default=None, max_length=100)
    slack_user_id: str | None = Field(default=None, max_length=40, index=True, unique=True)
    # A manager with this flag sees every team (head of sales).
    is_head_of_sales: bool = False
    is_active: bool = True


class StaffUserCreate(StaffUserBase):
    role: Role = Role.rep
    password: str | None = None


class StaffUserUpdate(SQLModel):
    name: str | None = None
    role: Role | None = None
    team: str | None = None
    region: str | None = None
    slack_user_id: str | None = None
    is_active: bool | None = None


class StaffUser(StaffUserBase, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=300)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class StaffUserPublic(StaffUserBase):
    id: int
