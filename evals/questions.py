"""Load the question files (``evals/questions/*.yaml``) into flat items and dialogues."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

QUESTIONS_DIR = Path(__file__).parent / "questions"


@dataclass(frozen=True)
class Item:
    id: str
    persona: str
    lang: str
    question: str
    tool: str | None
    alternatives: tuple[str, ...] = ()  # other tools that answer the question just as well
    args: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    dialogue: str | None = None
    turn: int = 1
    tags: tuple[str, ...] = ()

    def accepts(self, tool: str | None) -> bool:
        return tool == self.tool or (tool is not None and tool in self.alternatives)

    @property
    def is_write(self) -> bool:
        return self.expect.get("kind") in ("logged", "owner")

    @property
    def is_follow_up(self) -> bool:
        return self.dialogue is not None and self.turn > 1


def _item(raw: dict, *, persona: str, default_id: str, dialogue: str | None = None, turn: int = 1,
          lang: str | None = None) -> Item:  # fmt: skip
    return Item(
        id=str(raw.get("id", default_id)),
        persona=raw.get("persona", persona),
        lang=raw.get("lang", lang or "en"),
        question=str(raw["q"]),
        tool=raw["tool"][0] if isinstance(raw.get("tool"), list) else raw.get("tool"),
        alternatives=tuple(raw["tool"][1:]) if isinstance(raw.get("tool"), list) else (),
        args=dict(raw.get("args") or {}),
        expect=dict(raw.get("expect") or {"kind": "any"}),
        dialogue=dialogue,
        turn=turn,
        tags=tuple(raw.get("tags") or ()),
    )


def load_file(path: Path) -> list[Item]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    persona = data.get("persona", path.stem)
    items = [_item(q, persona=persona, default_id=f"{path.stem}-{i + 1}") for i, q in enumerate(data.get("questions") or [])]
    for d_index, dialogue in enumerate(data.get("dialogues") or []):
        did = str(dialogue.get("id", f"{path.stem}-d{d_index + 1}"))
        for t_index, turn in enumerate(dialogue["turns"]):
            items.append(_item(turn, persona=dialogue.get("persona", persona), default_id=f"{did}-t{t_index + 1}",
                               dialogue=did, turn=t_index + 1, lang=dialogue.get("lang")))  # fmt: skip
    return items


def load_all(directory: Path = QUESTIONS_DIR) -> list[Item]:
    items: list[Item] = []
    for path in sorted(directory.glob("*.yaml")):
        items += load_file(path)
    ids = [i.id for i in items]
    duplicates = {x for x in ids if ids.count(x) > 1}
    if duplicates:
        raise ValueError(f"duplicate question ids: {sorted(duplicates)[:5]}")
    return items
