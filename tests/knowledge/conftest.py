"""Fixtures for the knowledge tests: a seeded CRM, indexed into a Chroma under the test's CRM_HOME."""

from __future__ import annotations

import pytest
from _knowledge_data import KnowledgeCrm, seed_knowledge_crm


@pytest.fixture(scope="session")
def encoder():
    """The configured encoder, built (first use on a machine) and loaded once per test session."""
    from knowledge.encoders import get_encoder

    return get_encoder()


@pytest.fixture
def fresh_store():
    from knowledge.store import forget_clients

    forget_clients()
    yield
    forget_clients()


@pytest.fixture
def kcrm(sqlite_url, encoder, fresh_store) -> KnowledgeCrm:
    return seed_knowledge_crm(sqlite_url)


@pytest.fixture
def indexed(kcrm) -> KnowledgeCrm:
    from knowledge.indexing import sync_index

    sync_index()
    return kcrm
