"""Shared fixtures.

Every test runs with its own CRM_HOME in a temp directory and no network for
model hubs. ``database_url`` gives a migrated, empty database on SQLite and, when
``CRM_TEST_POSTGRES`` names a server, on a fresh PostgreSQL database too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def _clear_settings_caches() -> None:
    # Each package reads its settings through a cached getter; tests change the env, so reset them all.
    from storage.settings import get_settings

    get_settings.cache_clear()
    for module_name, getter in (
        ("knowledge.settings", "get_settings"),
        ("assistant.settings", "get_settings"),
        ("integrations.settings", "get_settings"),
        ("integrations.slack.settings", "get_settings"),
        ("integrations.web.settings", "get_settings"),
    ):
        try:
            module = __import__(module_name, fromlist=[getter])
        except ImportError:
            continue
        fn = getattr(module, getter, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()


@pytest.fixture(autouse=True)
def crm_home(tmp_path, monkeypatch) -> Iterator:
    home = tmp_path / "crm_home"
    home.mkdir()
    monkeypatch.setenv("CRM_HOME", str(home))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.delenv("CRM_CHROMA_URL", raising=False)
    _clear_settings_caches()
    yield home
    _clear_settings_caches()


def postgres_admin_url() -> str | None:
    return os.environ.get("CRM_TEST_POSTGRES") or None


@pytest.fixture
def postgres_url(monkeypatch) -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards.

    Skips only when CRM_TEST_POSTGRES is unset (CI always sets it). When it is set
    and the server is unreachable the test fails: a silent skip would hide a broken CI.
    """
    admin = postgres_admin_url()
    if not admin:
        pytest.skip("CRM_TEST_POSTGRES is not set (CI sets it and starts a server)")
    import sqlalchemy as sa

    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0] + "/" + name
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    _clear_settings_caches()
    try:
        yield url
    finally:
        from storage.db import engine_for

        engine_for(url).dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, crm_home) -> str:
    """A migrated, empty database on each backend; CRM_DATABASE_URL points at it."""
    from storage.migrate import upgrade
    from storage.settings import get_settings

    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = get_settings().url
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(crm_home) -> str:
    from storage.migrate import upgrade
    from storage.settings import get_settings

    url = get_settings().url
    upgrade(url)
    return url


def dataset_path(*parts: str):
    """A file under CRM_DATASETS. Skips when the variable is unset; fails when set and the file is missing."""
    from pathlib import Path

    root = os.environ.get("CRM_DATASETS")
    if not root:
        pytest.skip("CRM_DATASETS is not set (CI sets it to ../shared/datasets)")
    path = Path(root).joinpath(*parts)
    if not path.exists():
        pytest.fail(f"CRM_DATASETS is set but {path} is missing")
    return path


@pytest.fixture
def dataset():
    """Callable fixture: ``dataset("online_retail", "online_retail.csv.gz")`` -> Path (skip/fail as dataset_path)."""
    return dataset_path
