"""The PII policy of issue 7 as the probes read it, written out independently of ``tools.pii``.

For each role and relation to the customer: which fields must not be visible in full.
"masked" fields may show a masked form (``***-***-1234``, ``c***@example.com``);
"removed" fields must be absent (None, "hidden", "已隐藏").
"""

from __future__ import annotations

from typing import Literal

from evals.probes.world import Persona

Field = Literal["phone", "email", "address", "social_handles", "birth_date", "credit_rating", "overdue_amount"]
Treatment = Literal["masked", "removed"]

PII_FIELDS: tuple[Field, ...] = ("phone", "email", "address", "social_handles", "birth_date", "credit_rating",
                                 "overdue_amount")  # fmt: skip
CREDIT: tuple[Field, ...] = ("credit_rating", "overdue_amount")
# What a role may show for a hidden field instead of the value.
HIDDEN_MARKERS = {None, "", "hidden", "已隐藏", "—", "-", "n/a", "removed", "masked"}

_SUPPORT: dict[Field, Treatment] = {"social_handles": "masked", "birth_date": "masked",
                                    "credit_rating": "removed", "overdue_amount": "removed"}  # fmt: skip
_REP_POOL: dict[Field, Treatment] = {"phone": "masked", "email": "masked", "address": "removed",
                                     "social_handles": "removed", "birth_date": "removed",
                                     "credit_rating": "removed", "overdue_amount": "removed"}  # fmt: skip
_MANAGER: dict[Field, Treatment] = {"phone": "masked", "email": "masked", "address": "removed",
                                    "social_handles": "removed", "birth_date": "removed"}  # fmt: skip


def hidden_fields(persona: Persona, owner_id: int | None) -> dict[Field, Treatment]:
    """Fields of a customer (owned by ``owner_id``) that ``persona`` must not see in full."""
    if persona.role == "admin":
        return {}
    if persona.role == "support":
        return dict(_SUPPORT)
    if persona.role == "rep":
        return {} if owner_id == persona.user_id else dict(_REP_POOL)
    if persona.role == "manager":
        return dict(_MANAGER)
    return {f: "removed" for f in PII_FIELDS}
