"""A tiny CRM for the assistant tests (not collected: no test_ prefix), plus a scripted fake chat model.

Two reps, the demo admin, three customers and a handful of opportunities: enough
for ``sales_pipeline`` (a real tool) to return a table, a chart and a typed error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from sqlmodel import Session

from storage.db import engine_for
from storage.migrate import upgrade
from storage.models import Customer, Opportunity, StaffUser

NOW = datetime(2025, 6, 15, 12, 0)


def build_db(directory) -> str:
    url = f"sqlite:///{directory / 'assistant.sqlite3'}"
    upgrade(url)
    return seed(url)


def seed(url: str) -> str:
    """Fill a migrated, empty database (SQLite or Postgres) with the tiny CRM."""
    with Session(engine_for(url)) as s:
        admin = StaffUser(name="Demo Admin", email="admin@demo.crm", role="admin")
        rep1 = StaffUser(name="Rita Rep", email="rita@demo.crm", role="rep", team="East")
        rep2 = StaffUser(name="Sam Rep", email="sam@demo.crm", role="rep", team="East")
        s.add_all([admin, rep1, rep2])
        s.flush()
        acme = Customer(name="Acme Trading", owner_id=rep1.id, city="Shanghai")
        bolt = Customer(name="Bolt Retail", owner_id=rep2.id, city="Beijing")
        pool = Customer(name="Pool Partners", owner_id=None, city="Shenzhen")
        s.add_all([acme, bolt, pool])
        s.flush()
        deals = [
            (acme, rep1, "won", 1234.5, 1.0, datetime(2025, 3, 1), datetime(2025, 4, 1)),
            (acme, rep1, "proposal", 800.0, 0.5, datetime(2025, 5, 1), None),
            (bolt, rep2, "lost", 500.0, 0.2, datetime(2025, 2, 1), datetime(2025, 3, 20)),
            (bolt, rep2, "negotiation", 2000.0, 0.75, datetime(2025, 5, 10), None),
        ]
        for i, (cust, rep, stage, amount, prob, created, closed) in enumerate(deals):
            s.add(Opportunity(customer_id=cust.id, owner_id=rep.id, name=f"Deal {i}", stage=stage, amount=amount,
                              probability=prob, created_at=created, closed_at=closed))
        s.commit()
    return url


class ScriptedChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts tools (it ignores them) and records every message list it was sent."""

    seen: list[list[BaseMessage]] = []

    def __init__(self, replies: list[AIMessage | str], **kwargs: Any):
        super().__init__(messages=iter(replies), **kwargs)
        object.__setattr__(self, "seen", [])

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def call(name: str, args: dict | None = None, call_id: str = "call_1") -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args or {}, "id": call_id}])
