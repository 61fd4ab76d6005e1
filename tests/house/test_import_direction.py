"""The layers import one way: integrations, evals -> assistant -> tools -> knowledge -> storage.

Walks every module's AST (imports inside functions included), so a lazy import
cannot sneak past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["storage", "knowledge", "tools", "assistant", "integrations", "evals"]

# What each package may import, besides itself.
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "knowledge": {"storage"},
    "tools": {"knowledge", "storage"},
    "assistant": {"tools", "knowledge", "storage"},
    "integrations": {"assistant", "tools", "knowledge", "storage"},
    "evals": {"assistant", "tools", "knowledge", "storage"},
}
# Third-party libraries that belong to one layer only.
FORBIDDEN_LIBS: dict[str, set[str]] = {"tools": {"langchain", "langchain_core", "langgraph"}, "storage": {"langchain"}}


def imported_top_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations() -> list[str]:
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for lineno, name in imported_top_names(path):
                rel = f"{path.relative_to(ROOT)}:{lineno}"
                if name in PACKAGES and name != package and name not in ALLOWED[package]:
                    problems.append(f"{rel} imports {name} ({package} may import only {sorted(ALLOWED[package])})")
                if name in FORBIDDEN_LIBS.get(package, set()):
                    problems.append(f"{rel} imports {name}, which {package} must not use")
    return problems


def test_layers_import_one_way():
    assert violations() == []


@pytest.mark.parametrize(
    "package,source,bad",
    [("storage", "from tools.registry import TOOLS\n", True), ("tools", "import langchain_core\n", True),
     ("tools", "from storage.db import get_engine\n", False)],
)
def test_checker_catches_a_planted_violation(tmp_path, monkeypatch, package, source, bad):
    # The rule must be able to fail: plant a module and run the same walk over it.
    fake_root = tmp_path
    for p in PACKAGES:
        (fake_root / p).mkdir()
    (fake_root / package / "planted.py").write_text(source)
    monkeypatch.setattr(__import__(__name__), "ROOT", fake_root, raising=False)
    globals()["ROOT"], saved = fake_root, ROOT
    try:
        assert bool(violations()) is bad
    finally:
        globals()["ROOT"] = saved
