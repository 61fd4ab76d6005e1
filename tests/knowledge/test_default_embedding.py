"""The default encoder: the fitted static one only where its fit corpus (the datasets) exists."""

from __future__ import annotations

from knowledge.settings import get_settings

_FILES = ("banking77/train.csv", "chinese_reviews/waimai_10k.csv", "chinese_reviews/online_shopping_10_cats.zip")


def test_without_the_datasets_the_default_is_int8_minilm(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_EMBEDDING", raising=False)
    monkeypatch.setenv("CRM_DATASETS", str(tmp_path))  # a directory without the corpus files
    get_settings.cache_clear()  # settings are read once per process; these tests change the environment
    assert get_settings().embedding == "minilm-onnx-int8"


def test_with_the_datasets_the_default_is_the_fitted_static_encoder(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_EMBEDDING", raising=False)
    for name in _FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    monkeypatch.setenv("CRM_DATASETS", str(tmp_path))
    get_settings.cache_clear()  # settings are read once per process; these tests change the environment
    assert get_settings().embedding == "minilm-static-fit"


def test_an_explicit_choice_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATASETS", str(tmp_path))
    monkeypatch.setenv("CRM_EMBEDDING", "minilm-static-fit")
    get_settings.cache_clear()  # settings are read once per process; these tests change the environment
    assert get_settings().embedding == "minilm-static-fit"

