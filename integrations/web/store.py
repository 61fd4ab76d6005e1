"""The web chat's records in the CRM database: threads, messages, chart grants, proposed writes.

Every read takes the user id, so one user can never list, continue or confirm what
belongs to another; a thread or write of someone else looks exactly like one that
does not exist.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import WebChart, WebMessage, WebPendingWrite, WebThread, WebThreadPublic, utcnow

TITLE_LENGTH = 80


def new_id() -> str:
    return secrets.token_hex(16)


def undo_id_for(write_id: str) -> str:
    """The id of the pending write that undoes ``write_id``: derived, so the Undo button needs no new column."""
    return hashlib.sha256(f"undo:{write_id}".encode()).hexdigest()[:32]


def title_of(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1].rstrip() + "…"


class WebStore:
    def __init__(self, engine: Engine, *, write_ttl_hours: float = 24.0) -> None:
        self.engine = engine
        self.write_ttl = timedelta(hours=write_ttl_hours)

    # -- threads -------------------------------------------------------------------------------

    def open_thread(self, *, user_id: int, thread_id: str | None, question: str) -> WebThread | None:
        """The user's thread ``thread_id``, or a new one titled by ``question``; None if the id is not theirs."""
        with Session(self.engine, expire_on_commit=False) as session:
            if thread_id:
                thread = session.get(WebThread, thread_id)
                return thread if thread is not None and thread.user_id == user_id else None
            thread = WebThread(id=new_id(), user_id=user_id, title=title_of(question))
            session.add(thread)
            session.commit()
            return thread

    def add_message(self, *, thread_id: str, question: str, reply: dict[str, Any]) -> int:
        with Session(self.engine) as session:
            message = WebMessage(thread_id=thread_id, question=question, reply=reply)
            session.add(message)
            session.execute(update(WebThread).where(WebThread.id == thread_id).values(updated_at=utcnow()))
            session.commit()
            return message.id

    def threads(self, *, user_id: int, limit: int = 100) -> list[WebThreadPublic]:
        counts = (select(WebMessage.thread_id, func.count().label("n")).group_by(WebMessage.thread_id).subquery())
        query = (
            select(WebThread, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.thread_id == WebThread.id)
            .where(WebThread.user_id == user_id)
            .order_by(WebThread.updated_at.desc(), WebThread.id)
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.exec(query).all()
        return [WebThreadPublic(**t.model_dump(), messages=n) for t, n in rows]

    def thread(self, *, user_id: int, thread_id: str) -> tuple[WebThreadPublic, list[WebMessage]] | None:
        with Session(self.engine) as session:
            thread = session.get(WebThread, thread_id)
            if thread is None or thread.user_id != user_id:
                return None
            messages = list(session.exec(select(WebMessage).where(WebMessage.thread_id == thread_id)
                                         .order_by(WebMessage.id)).all())
            return WebThreadPublic(**thread.model_dump(), messages=len(messages)), messages

    # -- charts --------------------------------------------------------------------------------

    def grant_charts(self, *, user_id: int, names: list[str]) -> None:
        for name in dict.fromkeys(names):
            with Session(self.engine) as session:
                if session.get(WebChart, (name, user_id)) is not None:
                    continue
                session.add(WebChart(name=name, user_id=user_id))
                try:
                    session.commit()
                except IntegrityError:  # the same chart granted by a concurrent request
                    session.rollback()

    def may_see_chart(self, *, user_id: int, name: str) -> bool:
        with Session(self.engine) as session:
            return session.get(WebChart, (name, user_id)) is not None

    # -- proposed writes -------------------------------------------------------------------------

    def propose(self, *, user_id: int, thread_id: str | None, tool: str, arguments: dict[str, Any],
                summary: str, language: str = "en", write_id: str | None = None) -> WebPendingWrite:
        write = WebPendingWrite(id=write_id or new_id(), user_id=user_id, thread_id=thread_id, tool=tool, arguments=arguments,
                                summary=summary, language=language)
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(write)
            session.commit()
        return write

    def writes(self, *, user_id: int, ids: list[str]) -> dict[str, WebPendingWrite]:
        if not ids:
            return {}
        with Session(self.engine) as session:
            rows = session.exec(select(WebPendingWrite).where(WebPendingWrite.user_id == user_id,
                                                              WebPendingWrite.id.in_(ids))).all()
        return {w.id: w for w in rows}

    def get_write(self, *, user_id: int, write_id: str) -> WebPendingWrite | None:
        with Session(self.engine) as session:
            write = session.get(WebPendingWrite, write_id)
        return write if write is not None and write.user_id == user_id else None

    def expired(self, write: WebPendingWrite, *, now: datetime | None = None) -> bool:
        return (now or utcnow()) - write.created_at > self.write_ttl

    def move(self, write_id: str, *, user_id: int, from_status: str, to_status: str, outcome: str | None = None) -> bool:
        """Compare-and-set on the status: of two presses of the same button, only one gets True."""
        values: dict[str, Any] = {"status": to_status}
        if to_status != "running":
            values["decided_at"] = utcnow()
        if outcome is not None:
            values["outcome"] = outcome
        with Session(self.engine) as session:
            changed = session.execute(
                update(WebPendingWrite)
                .where(WebPendingWrite.id == write_id, WebPendingWrite.user_id == user_id,
                       WebPendingWrite.status == from_status)
                .values(**values)
            ).rowcount
            session.commit()
        return changed == 1
