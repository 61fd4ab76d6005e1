"""Each package's __init__ lists its public surface, and every listed name exists."""

import importlib

import pytest


@pytest.mark.parametrize("package", ["storage", "storage.models", "storage.importers", "tools", "assistant"])
def test_all_names_exist(package):
    module = importlib.import_module(package)
    assert module.__all__, f"{package} has an empty __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    assert sorted(module.__all__) == sorted(set(module.__all__)), "duplicate names in __all__"
