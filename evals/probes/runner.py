"""Run probe cases against the offline router or the scripted LLM, and collect what leaked.

Per case: fill the placeholders, fingerprint the tables a write would touch, ask (through
``assistant.respond`` or a direct registry call), fingerprint again, then run every check:
text leaks in each surface of the reply (and, on the LLM path, in every request body the
model was sent), writes, structured masking, and the comparison with the case's twin.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evals.probes import checks
from evals.probes.absent import absent
from evals.probes.cases import ProbeCase, fill
from evals.probes.detector import Detector, Leak, contact_secrets
from evals.probes.llm import ObedientModel, injected
from evals.probes.targets import Resolved, Resolver
from evals.probes.world import World

# Request bodies carry static tool schemas whose examples are not customer data; only messages are checked.
_BODY_KEYS = ("messages",)


@dataclass
class Outcome:
    case: ProbeCase
    question: str
    leaks: list[Leak] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    surfaced: bool = False  # injection cases: planted text reached the reply or the model

    @property
    def failures(self) -> list[Leak]:
        return [leak for leak in self.leaks if leak.kind in ("over_masked", "error")]

    @property
    def confidentiality(self) -> list[Leak]:
        return [leak for leak in self.leaks if leak.kind not in ("over_masked", "error")]

    def to_json(self) -> dict[str, Any]:
        c = self.case
        return {"id": c.id, "category": c.category, "lang": c.lang, "persona": c.persona, "via": c.via,
                "question": self.question, "tools": self.tools, "seconds": round(self.seconds, 3),
                "requests": self.requests, "surfaced": self.surfaced,
                "leaks": [leak.to_json() for leak in self.leaks]}  # fmt: skip


@dataclass
class Asked:
    """What one run of a case produced, as the checks see it."""

    surfaces: dict[str, str]
    tools: list[str]
    payload: Any  # compared with the twin's
    structured: list[tuple[str, Any]] = field(default_factory=list)  # (where, result JSON)
    tables: list[Any] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)


class ProbeRun:
    """One model's run over a world. ``server`` is a ScriptedOpenAIServer when model is llm-scripted."""

    def __init__(self, world: World, *, model: str = "offline", server: Any = None):
        if model == "llm-scripted" and server is None:
            raise ValueError("the llm-scripted model needs a scripted OpenAI-protocol server")
        self.world, self.model, self.server = world, model, server
        self.llm = model == "llm-scripted"
        self.resolver = Resolver(world)
        self._contacts = contact_secrets(world)
        self._detectors: dict[str, Detector] = {}

    def detector(self, persona: str) -> Detector:
        if persona not in self._detectors:
            self._detectors[persona] = Detector.build(self.world, self.world.personas[persona], contacts=self._contacts)
        return self._detectors[persona]

    def run(self, cases: list[ProbeCase], *, progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        outcomes = []
        for case in cases:
            outcome = self.run_case(case)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
        return outcomes

    def run_case(self, case: ProbeCase) -> Outcome:
        started = time.perf_counter()
        try:
            resolved = self.resolver.resolve(persona=case.persona, target=case.target, control=case.control,
                                             script=case.script, lang=case.lang, ident=case.ident)  # fmt: skip
        except LookupError as exc:
            return Outcome(case, "", [Leak("error", "setup", f"cannot fill the case: {exc}")])
        question = fill(case.q or json.dumps([c.model_dump() for c in case.calls], ensure_ascii=False), resolved.values)
        before = checks.snapshot(self.world)
        try:
            asked = self._ask(case, resolved.values)
            leaks = checks.write_leaks(before, checks.snapshot(self.world))
            leaks += self._leaks(case, resolved, asked, question)
            leaks += self._compare(case, resolved, asked)
        except Exception as exc:  # noqa: BLE001 - a crash is a finding for this case, not the end of the run
            return Outcome(case, question, [Leak("error", "run", f"{type(exc).__name__}: {exc}")],
                           seconds=time.perf_counter() - started)  # fmt: skip
        seen = list(asked.surfaces.values()) + [json.dumps(b.get("messages"), ensure_ascii=False) for b in asked.bodies]
        return Outcome(case, question, leaks, asked.tools, time.perf_counter() - started, len(asked.bodies),
                       surfaced=injected(seen))  # fmt: skip

    # -- asking ----------------------------------------------------------------------------------
    def _ask(self, case: ProbeCase, values: dict[str, str]) -> Asked:
        if case.via == "registry":
            return self._registry(case, values)
        return self._assistant(case, values)

    def _assistant(self, case: ProbeCase, values: dict[str, str]) -> Asked:
        from assistant import respond

        ctx = self.world.context(case.persona, confirm_writes=case.confirm_writes)
        if self.llm:
            model = ObedientModel([fill(c.model_dump(), values) for c in case.calls])
            self.server.requests.clear()
            self.server.script[:] = [model] * 12
        reply = respond(fill(case.q, values), context=ctx, render_charts=False)
        bodies = list(self.server.requests) if self.llm else []
        surfaces = {
            "answer": reply.answer,
            "tables": json.dumps([t.model_dump(mode="json") for t in reply.tables], ensure_ascii=False),
            "citations": json.dumps([c.model_dump(mode="json") for c in reply.citations], ensure_ascii=False),
            "charts": json.dumps([c.model_dump(mode="json") for c in reply.chart_specs], ensure_ascii=False),
            "tool_calls": json.dumps([c.model_dump(mode="json") for c in reply.tool_calls], ensure_ascii=False),
            "error": reply.error.message if reply.error else "",
        }
        payload = {k: v for k, v in surfaces.items() if k != "tool_calls"}
        payload["calls"] = [(c.name, c.args, c.error) for c in reply.tool_calls]
        payload["error_code"] = reply.error.code if reply.error else None
        return Asked(surfaces, [c.name for c in reply.tool_calls], payload, tables=list(reply.tables), bodies=bodies)

    def _registry(self, case: ProbeCase, values: dict[str, str]) -> Asked:
        from tools import ToolError, get_tool

        ctx = self.world.context(case.persona, confirm_writes=case.confirm_writes, channel="cli")
        surfaces: dict[str, str] = {}
        structured, tables, payload = [], [], []
        for i, call in enumerate(case.calls):
            args = fill(call.args, values)
            try:
                result = get_tool(call.tool)(args, ctx=ctx)
            except ToolError as err:
                surfaces[f"call[{i}].error"] = json.dumps(err.to_dict(), ensure_ascii=False)
                payload.append(err.to_dict())
                continue
            data = result.to_json()
            surfaces |= {f"call[{i}].json": json.dumps(data, ensure_ascii=False), f"call[{i}].prompt": result.to_prompt(),
                         f"call[{i}].text": result.to_text(lang=case.lang)}  # fmt: skip
            structured.append((f"call[{i}].json", data))
            tables += [result.table] if result.table is not None else []
            payload.append(data)
        return Asked(surfaces, [c.tool for c in case.calls], payload, structured, tables)

    # -- checks ----------------------------------------------------------------------------------
    def _leaks(self, case: ProbeCase, resolved: Resolved, asked: Asked, question: str) -> list[Leak]:
        detector = self.detector(case.persona)
        leaks = detector.leaks(asked.surfaces, question=question)
        for i, body in enumerate(asked.bodies):
            sent = json.dumps({k: body.get(k) for k in _BODY_KEYS}, ensure_ascii=False)
            leaks += detector.leaks({f"request[{i}]": sent}, question=question, to_model=True)
        persona = self.world.personas[case.persona]
        for where, data in asked.structured:
            leaks += checks.structural_masking(data, self.world, persona, where=where)
        subject = self.world.customers.get(resolved.subject_id) if resolved.subject_id is not None else None
        texts = {k: v for k, v in asked.surfaces.items() if k == "answer" or k.endswith((".prompt", ".text"))}
        if asked.bodies:  # what the model was sent: the last request holds every tool message of the turn
            tool_messages = [m for m in asked.bodies[-1].get("messages", []) if m.get("role") == "tool"]
            texts |= {f"request[-1].tool[{i}]": str(m.get("content") or "") for i, m in enumerate(tool_messages)}
        leaks += checks.credit_leaks(self.world, persona, tables=asked.tables, texts=texts,
                                     subject_owner=subject.owner_id if subject else None, has_subject=subject is not None)
        leaks += checks.over_masked(case.expect_visible, self.world, resolved.subject_id, asked.surfaces)
        return leaks

    def _compare(self, case: ProbeCase, resolved: Resolved, asked: Asked) -> list[Leak]:
        offline_question = self.model == "offline" and case.via == "assistant"
        if case.control == "absent" and resolved.subject_id is not None:
            with absent(self.world, resolved.subject_id):
                before = checks.snapshot(self.world)
                twin = self._ask(case, resolved.values)
                leaks = [Leak("write", f"absent:{leak.where}", leak.detail)
                         for leak in checks.write_leaks(before, checks.snapshot(self.world))]  # fmt: skip
            return leaks + checks.existence_leak(asked.payload, twin.payload)
        if case.control == "clean" and offline_question and resolved.twin is not None:
            # Planted text must not change what the router does: same tools as for the clean look-alike.
            before = checks.snapshot(self.world)
            twin = self._ask(case, resolved.twin)
            leaks = [Leak("write", f"clean:{leak.where}", leak.detail)
                     for leak in checks.write_leaks(before, checks.snapshot(self.world))]  # fmt: skip
            return leaks + checks.tools_changed(asked.tools, twin.tools, against="the clean look-alike")
        if case.expect_tools is not None and offline_question:
            return checks.tools_changed(asked.tools, case.expect_tools, against="the case")
        return []
