"""Who is asking, what they may see, and what time it is.

Every tool call receives a ``ToolContext``. Scope is derived from the caller's role
here, once, and applied inside each query; tools never widen it.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.db import engine_for, get_engine
from storage.models import Role, StaffUser, utcnow
from storage.scope import Scope


class ToolContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int | None = None
    user_name: str = "system"
    user_email: str | None = None
    role: Role = Role.admin
    team: str | None = None
    scope: Scope = Field(default_factory=Scope.everything)
    now: datetime = Field(default_factory=utcnow)
    channel: str = "cli"
    database_url: str | None = None
    # Channels with a confirm button (web, Slack) set this: write tools then only preview (dry run),
    # and the edge runs the write itself when the user presses the button.
    confirm_writes: bool = False

    @property
    def engine(self) -> Engine:
        return engine_for(self.database_url) if self.database_url else get_engine()

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def hides_credit(self) -> bool:
        return self.role == Role.support

    @property
    def can_write_customers(self) -> bool:
        return self.role in (Role.rep, Role.manager, Role.admin)

    @classmethod
    def system(cls, *, now: datetime | None = None, database_url: str | None = None) -> ToolContext:
        return cls(now=now or utcnow(), database_url=database_url)

    @classmethod
    def for_user(
        cls,
        user: StaffUser,
        *,
        now: datetime | None = None,
        channel: str = "cli",
        database_url: str | None = None,
        session: Session | None = None,
    ) -> ToolContext:
        return cls(
            user_id=user.id,
            user_name=user.name,
            user_email=user.email,
            role=Role(user.role),
            team=user.team,
            scope=scope_for(user, session=session, database_url=database_url),
            now=now or utcnow(),
            channel=channel,
            database_url=database_url,
        )

    @classmethod
    def for_email(cls, email: str, **kwargs) -> ToolContext:
        url = kwargs.get("database_url")
        with Session(engine_for(url) if url else get_engine()) as session:
            user = session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()
            if user is None or not user.is_active:
                raise LookupError(f"no active staff user with email {email!r}")
            return cls.for_user(user, session=session, **kwargs)


def scope_for(user: StaffUser, *, session: Session | None = None, database_url: str | None = None) -> Scope:
    """rep: own + public pool; manager: team + pool (head of sales: all); support and admin: all."""
    role = Role(user.role)
    if role in (Role.admin, Role.support) or (role == Role.manager and user.is_head_of_sales):
        return Scope.everything()
    if role == Role.rep:
        return Scope(owner_ids=frozenset({user.id}), include_pool=True)
    # Manager: everyone on the same team, including the manager.
    own = session or Session(engine_for(database_url) if database_url else get_engine())
    try:
        ids = own.exec(select(StaffUser.id).where(StaffUser.team == user.team)).all() if user.team else []
    finally:
        if session is None:
            own.close()
    return Scope(owner_ids=frozenset({user.id, *ids}), include_pool=True)
