"""Fill a case's placeholders: which customer it probes, and what its reply is compared with.

Scope probes name a customer outside the asker's scope. Each target is one the asker cannot
reach even by accident: its name is unique, shares no word with anything the asker may see,
and fuzzy name search within the asker's scope finds nothing for it. So the only thing that
could tell its reply apart from the reply about a customer that does not exist is the
record's existence, which is exactly what the "absent" comparison removes
(``evals.probes.absent``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session

from evals.probes.detector import note_fragments, static_examples
from evals.probes.world import CustomerFacts, Persona, World

_CJK = re.compile(r"[\u3400-\u9fff]")
# Enough distinct targets per (persona, kind) for the cases to rotate through; finding more costs time.
MAX_TARGETS = 24


@dataclass
class Resolved:
    """One case's values: the subject's (and staff names), and a clean look-alike's for injection controls."""

    values: dict[str, str] = field(default_factory=dict)
    subject_id: int | None = None
    twin: dict[str, str] | None = None


class Resolver:
    def __init__(self, world: World):
        self.world = world
        self._eligible: dict[tuple[str, str], list[CustomerFacts]] = {}
        self._turn: dict[tuple[str, str, str], int] = {}
        self._vocab: dict[str, tuple[set[str], list[str]]] = {}
        taken = set(world.planted.subjects.values()) | set(world.planted.controls.values())
        self._planted = taken | {cid for cid, _text, _lang in world.planted.canaries}

    def resolve(self, *, persona: str, target: str, control: str, script: str = "any", lang: str = "en",
                ident: str | None = None) -> Resolved:  # fmt: skip
        who = self.world.personas[persona]
        people = self._people(who)
        if target == "none":
            return Resolved(values=people)
        subject = self.pick(who, target, script=script, lang=lang, ident=ident)
        out = Resolved(values=self.values_of(subject, slot=target) | people, subject_id=subject.id)
        if control == "clean":
            clean = self.world.customers[self.world.planted.controls[target]]
            out.twin = self.values_of(clean, slot=target.replace("inj_", "control_")) | people
        return out

    def _people(self, persona: Persona) -> dict[str, str]:
        """Staff the questions name: a rep outside the asker's team, and one inside it."""
        team = persona.team if persona.role in ("rep", "manager") and persona.team not in (None, "Sales") else None
        other = self.world.rep_named(team=None, exclude_team=team) if team else self.world.rep_named(team=None)
        mates = [name for sid, (name, role, rteam) in sorted(self.world.staff.items())
                 if role == "rep" and rteam == team and sid != persona.user_id]  # fmt: skip
        return {"other_rep": other, "team_rep": mates[0] if mates else other}

    # -- picking ---------------------------------------------------------------------------------
    def pick(self, persona: Persona, target: str, *, script: str, lang: str, ident: str | None) -> CustomerFacts:
        if target in self.world.planted.subjects:
            return self.world.customers[self.world.planted.subjects[target]]
        if ident == "quote" and target == "out_of_scope":
            return self._canary(persona, lang)
        pool = self._candidates(persona, target)
        preferred = [c for c in pool if script == "any" or bool(_CJK.search(c.name)) == (script == "cjk")] or pool
        if not preferred:
            raise LookupError(f"no {target} customer for {persona.key}")
        key = (persona.key, target, script)
        turn = self._turn.get(key, 0)
        self._turn[key] = turn + 1
        return preferred[turn % len(preferred)]

    def _canary(self, persona: Persona, lang: str) -> CustomerFacts:
        outside = [(cid, lg) for cid, _text, lg in self.world.planted.canaries
                   if not persona.sees(self.world.customers[cid].owner_id)]  # fmt: skip
        if not outside:
            raise LookupError(f"no canary outside {persona.key}'s scope")
        cid = next((c for c, lg in outside if lg == lang), outside[0][0])
        return self.world.customers[cid]

    def _candidates(self, persona: Persona, target: str) -> list[CustomerFacts]:
        key = (persona.key, target)
        if key not in self._eligible:
            found: list[CustomerFacts] = []
            scripts = {True: 0, False: 0}
            for c in sorted(self.world.customers.values(), key=lambda c: c.id):
                cjk = bool(_CJK.search(c.name))
                # Both scripts are wanted (English and Chinese questions); stop once each has enough.
                if scripts[cjk] < MAX_TARGETS and self._fits(persona, target, c):
                    found.append(c)
                    scripts[cjk] += 1
            self._eligible[key] = found
        return self._eligible[key]

    def _fits(self, persona: Persona, target: str, c: CustomerFacts) -> bool:
        if c.id in self._planted or not (c.phone and c.email and self.world.orders.get(c.id)):
            return False
        if "'" in c.name or '"' in c.name or not self.world.notes.get(c.id):
            return False
        examples = static_examples()
        if c.external_id in examples or any(o in examples for o in self.world.orders.get(c.id, [])):
            return False  # the product's own hints quote these ids: a probe on them could not tell a leak apart
        owner = c.owner_id
        if target == "out_of_scope":
            return not persona.sees(owner) and self._unreachable(persona, c.name)
        if target == "pool":
            return owner is None
        if target == "own":
            return owner == persona.user_id
        if target == "team":
            return owner is not None and owner != persona.user_id and persona.owner_ids is not None and owner in persona.owner_ids
        if target == "any":
            return owner is not None
        raise ValueError(f"unknown target {target!r}")

    def _unreachable(self, persona: Persona, name: str) -> bool:
        """True when nothing the persona may see resembles ``name`` (no shared word, no fuzzy match)."""
        tokens, cjk_names = self._visible(persona)
        if _CJK.search(name):
            if any(v in name or name in v for v in cjk_names):
                return False
        elif any(t.casefold() in tokens for t in name.split()):
            return False
        from tools.lookup import match_customer_ids

        ctx = self.world.context(persona.key)
        with Session(ctx.engine) as session:
            return not match_customer_ids(ctx, text=name, session=session, min_score=60.0)

    def _visible(self, persona: Persona) -> tuple[set[str], list[str]]:
        if persona.key not in self._vocab:
            texts = [c.name for c in self.world.customers.values() if persona.sees(c.owner_id)]
            texts += [name for name, _role, _team in self.world.staff.values()] + sorted(self.world.vocabulary)
            tokens = {w.casefold() for t in texts if not _CJK.search(t) for w in re.split(r"[\s,.()\-]+", t) if len(w) >= 3}
            self._vocab[persona.key] = (tokens, [t for t in texts if _CJK.search(t) and len(t) <= 6])
        return self._vocab[persona.key]

    # -- values ----------------------------------------------------------------------------------
    def values_of(self, c: CustomerFacts, *, slot: str | None = None) -> dict[str, str]:
        planted_order = self.world.planted.orders.get(slot or "")
        quote = next((text for cid, text, _lg in self.world.planted.canaries if cid == c.id), None)
        if quote is None:
            frags = [f for n in self.world.notes.get(c.id, []) for f in note_fragments(n)]
            quote = frags[0] if frags else ""
        return {"name": c.name, "external_id": c.external_id, "phone": c.phone or "", "email": c.email or "",
                "order": planted_order or (self.world.orders.get(c.id) or [""])[0], "quote": quote,
                "city": c.city or ""}  # fmt: skip
