"""Passwords, web settings (secrets refused or generated), cookie flags over https, the login limiter."""

from __future__ import annotations

import stat

import pytest

from integrations.web.ratelimit import LoginLimiter
from integrations.web.settings import WebConfigError, WebSettings, get_settings
from storage.passwords import PasswordRejected, fingerprint, hash_password, needs_rehash, verify_password


def test_password_hash_round_trip():
    stored = hash_password("s3cret-enough")
    assert stored.startswith("scrypt$14$8$1$") and "s3cret" not in stored
    assert verify_password("s3cret-enough", stored)
    assert not verify_password("s3cret-enougH", stored)
    assert hash_password("s3cret-enough") != stored  # salted
    assert not needs_rehash(stored)
    assert fingerprint(stored) != fingerprint(hash_password("s3cret-enough"))


@pytest.mark.parametrize("stored", [None, "", "plain-text", "bcrypt$x$y", "scrypt$14$8$1$!!$!!", "scrypt$40$8$1$AA$AA"])
def test_verify_never_raises_on_bad_hashes(stored):
    assert verify_password("whatever-password", stored) is False


def test_weaker_hashes_are_upgraded_on_login():
    cheap = hash_password("s3cret-enough", log2_n=10)
    assert verify_password("s3cret-enough", cheap) and needs_rehash(cheap)


@pytest.mark.parametrize("password", ["short", " " * 12, "x" * 2000])
def test_weak_passwords_are_rejected(password):
    with pytest.raises(PasswordRejected):
        hash_password(password)


@pytest.mark.parametrize("secret", ["changeme", "your-secret-here", "<secret>", "tooshort-but-random-1234"])
def test_placeholder_or_short_secret_is_refused(monkeypatch, secret):
    monkeypatch.setenv("CRM_WEB_SECRET", secret)
    get_settings.cache_clear()
    with pytest.raises(WebConfigError, match="CRM_WEB_SECRET"):
        get_settings()


def test_secret_is_generated_once_and_kept_private(crm_home):
    settings = WebSettings()
    first = settings.secret_key(crm_home)
    path = crm_home / "web_secret"
    assert len(first) >= 32 and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert WebSettings().secret_key(crm_home) == first  # survives a restart


def test_bad_pinned_clock_is_refused(monkeypatch):
    monkeypatch.setenv("CRM_WEB_NOW", "next tuesday")
    get_settings.cache_clear()
    with pytest.raises(WebConfigError, match="CRM_WEB_NOW"):
        get_settings()


def test_secure_cookie_over_https(sqlite_url, crm_home):
    """Over https the session cookie also gets Secure (Starlette's in-process client, no mocks)."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from integrations.web import create_app
    from storage.db import engine_for
    from storage.models import StaffUser

    with Session(engine_for(sqlite_url)) as session:
        session.add(StaffUser(name="Ada", email="ada@example.com", role="admin", password_hash=hash_password("pa55word!")))
        session.commit()
    app = create_app(database_url=sqlite_url, settings=WebSettings(secret="s" * 40), home=crm_home, warm=False)
    with TestClient(app, base_url="https://crm.example") as c:
        r = c.post("/login", data={"email": "ada@example.com", "password": "pa55word!"}, follow_redirects=False)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        # An open redirect through ?next= is refused.
        r = c.post("/login", data={"email": "ada@example.com", "password": "pa55word!", "next": "//evil.example"},
                   follow_redirects=False)
        assert r.headers["location"] == "/"
        assert c.get("/").text.count('id="ask-form"') == 1


def test_login_limiter_window():
    limiter = LoginLimiter(attempts=2, window_seconds=60)
    for _ in range(2):
        assert limiter.retry_after(client="1.2.3.4", email="a@b.c") == 0
        limiter.failed(client="1.2.3.4", email="A@b.c ")
    assert limiter.retry_after(client="1.2.3.4", email="a@b.c") > 0
    assert limiter.retry_after(client="5.6.7.8", email="a@b.c") == 0  # another client is not blocked
    limiter.succeeded(client="1.2.3.4", email="a@b.c")
    assert limiter.retry_after(client="1.2.3.4", email="a@b.c") == 0
