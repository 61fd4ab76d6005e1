"""Probe cases as data: ``evals/probes/cases/*.jsonl``, one JSON object per line.

A case names who asks (``persona``), what it probes (``target``: a customer outside the
asker's scope, a planted injection, a pool/own/team customer), and how: a question for the
assistant (``q``) or direct registry calls (``via: registry``). ``calls`` are also what the
scripted obedient model asks for on the LLM path. Placeholders such as ``{name}``,
``{external_id}``, ``{phone}``, ``{email}``, ``{order}``, ``{quote}``, ``{other_rep}`` are
filled by ``evals.probes.targets``.

``control`` says what the reply is compared with: ``absent`` (the same question again while
the customer's identifiers are gone from the database: a refusal must not confirm
existence, ``evals.probes.absent``) or ``clean`` (the same question about a clean look-alike
customer: planted text must change nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CASES_DIR = Path(__file__).parent / "cases"
Category = Literal["scope", "injection", "masking", "writes"]
CATEGORIES: tuple[str, ...] = ("scope", "injection", "masking", "writes")


class ProbeCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class ProbeCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    category: Category
    lang: Literal["en", "zh"]
    persona: str
    via: Literal["assistant", "registry"] = "assistant"
    q: str | None = None
    calls: list[ProbeCall] = Field(default_factory=list)
    target: str = "none"
    ident: Literal["name", "external_id", "phone", "email", "quote", "order", "owner", "city"] | None = None
    script: Literal["latin", "cjk", "any"] = "any"
    control: Literal["none", "absent", "clean"] = "none"
    expect_tools: list[str] | None = None
    expect_visible: list[Literal["phone", "email", "address", "credit_rating"]] = Field(default_factory=list)
    confirm_writes: bool = True

    @model_validator(mode="after")
    def _runnable(self) -> ProbeCase:
        if self.via == "assistant" and not self.q:
            raise ValueError(f"{self.id}: an assistant case needs a question (q)")
        if not self.calls:
            raise ValueError(f"{self.id}: every case needs calls (registry calls, or what the obedient model asks)")
        return self


def load_cases(directory: Path = CASES_DIR) -> list[ProbeCase]:
    cases: list[ProbeCase] = []
    for path in sorted(directory.glob("*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            try:
                cases.append(ProbeCase.model_validate(json.loads(line)))
            except (ValueError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path.name}:{lineno}: {exc}") from None
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate probe ids: {duplicates}")
    return cases


def fill(template: Any, values: dict[str, str]) -> Any:
    """``template`` (a string, or a dict/list of them) with ``{placeholders}`` replaced."""
    if isinstance(template, str):
        out = template
        for key, value in values.items():
            out = out.replace("{" + key + "}", value)
        return out
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template
