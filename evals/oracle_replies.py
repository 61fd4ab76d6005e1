"""Expectations for replies that carry no figures: refusals, clarifications, errors, and writes.

Registered into ``evals.oracle``'s kinds on import. Writes are checked on the database
after the reply (the expected change), not in the reply text.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from evals.oracle import Expectation, _customer_id, _frame, kind


@kind("refuse")
def _refuse(spec, engine, persona, ent) -> Expectation:
    return Expectation(no_tool=True)


@kind("chit_chat")
def _chit(spec, engine, persona, ent) -> Expectation:
    return Expectation(no_tool=True)


@kind("clarify")
def _clarify(spec, engine, persona, ent) -> Expectation:
    return Expectation(clarify=True)


@kind("not_found")
def _not_found(spec, engine, persona, ent) -> Expectation:
    return Expectation(error="not_found")


@kind("denied")
def _denied(spec, engine, persona, ent) -> Expectation:
    return Expectation(error="permission_denied")


@kind("ask_back")
def _ask_back(spec, engine, persona, ent) -> Expectation:
    return Expectation(no_tool=True, ask_back=True)


@kind("any")
def _any(spec, engine, persona, ent) -> Expectation:
    return Expectation(nonempty_table=bool(spec.get("table")))


# ---------------------------------------------------------------- writes


@kind("logged")
def _logged(spec, engine, persona, ent) -> Expectation:
    cid = _customer_id(ent, spec)
    fragment = spec["text"]

    def check(eng: Engine) -> bool:
        rows = _frame(eng, "SELECT body FROM interaction WHERE customer_id = :cid ORDER BY id DESC LIMIT 3", {"cid": cid})
        return any(fragment.casefold() in str(b).casefold() for b in rows["body"])

    return Expectation(db_check=check)


@kind("owner")
def _owner(spec, engine, persona, ent) -> Expectation:
    cid = _customer_id(ent, spec)
    want = spec["owner"]
    target = None if want == "pool" else persona.user_id if want == "me" else ent.ids[want.strip("{}")]

    def check(eng: Engine) -> bool:
        owner = _frame(eng, "SELECT owner_id FROM customer WHERE id = :cid", {"cid": cid}).iloc[0]["owner_id"]
        owner = None if pd.isna(owner) else int(owner)
        return owner == target

    return Expectation(db_check=check)
