"""The six bad-argument cases of the issue, each as a typed error the assistant can show."""

from __future__ import annotations

import pytest
from _coretools_data import NOW, seed_crm

from storage.migrate import upgrade
from tools.context import ToolContext
from tools.errors import (
    Ambiguous,
    EmptyPeriod,
    FutureDate,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ToolError,
)
from tools.registry import get_tool


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    u = f"sqlite:///{tmp_path_factory.mktemp('errors') / 'crm.sqlite3'}"
    upgrade(u)
    seed_crm(u, customers=20)
    return u


def _call(url, tool, args, email=None):
    ctx = ToolContext.system(now=NOW, database_url=url) if email is None else ToolContext.for_email(email, now=NOW, database_url=url)
    return get_tool(tool)(args, ctx=ctx)


def _check(exc: ToolError, code: str):
    data = exc.to_dict()
    assert data["error"] == code and data["message"] and "Traceback" not in data["message"]


def test_unknown_customer(url):
    with pytest.raises(NotFound) as err:
        _call(url, "customer_profile", {"customer": "Xavier Nobody"})
    _check(err.value, "not_found")


def test_ambiguous_name_returns_candidates(url):
    with pytest.raises(Ambiguous) as err:
        _call(url, "purchase_history", {"customer": "Wang Fang"})
    _check(err.value, "ambiguous")
    assert len(err.value.to_dict()["candidates"]) == 2


def test_empty_period(url):
    with pytest.raises(EmptyPeriod) as err:
        _call(url, "query_metrics", {"measures": ["revenue"], "period": {"start": "2026-05-01", "end": "2026-04-01"}})
    _check(err.value, "empty_period")


def test_unknown_measure_or_dimension(url):
    with pytest.raises(InvalidArgument) as err:
        _call(url, "query_metrics", {"measures": ["profit margin"]})
    _check(err.value, "invalid_argument")
    with pytest.raises(InvalidArgument) as err:
        _call(url, "query_metrics", {"measures": ["revenue"], "dimensions": ["planet"]})
    assert "valid dimensions" in err.value.hint


def test_future_dates(url):
    with pytest.raises(FutureDate) as err:
        _call(url, "purchase_history", {"customer": "Chen Jing", "period": {"start": "2027-01-01"}})
    _check(err.value, "future_date")


def test_write_outside_scope(url):
    with pytest.raises(PermissionDenied) as err:
        _call(url, "assign_customer", {"customer": "Pat Pool", "action": "assign", "to": "rep2@t.crm"}, email="rep1@t.crm")
    _check(err.value, "permission_denied")
    with pytest.raises(PermissionDenied):
        _call(url, "assign_customer", {"customer": "Wes Western", "action": "assign", "to": "rep1@t.crm"}, email="mgr.west@t.crm")
