"""`crm serve`: the web chat and JSON API (and Slack's HTTP events when configured), under uvicorn.

``--demo-login`` gives the demo accounts (``…@demo.crm``) web passwords and prints them.
The passwords are random, kept in ``CRM_HOME/demo_logins.json`` (mode 0600) and reused on
the next start, so a demo's login does not change every time the server restarts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from integrations.cli.output import console, fail

DEMO_ACCOUNTS = ("admin@demo.crm", "manager01@demo.crm", "rep01@demo.crm", "support01@demo.crm")
DEMO_LOGINS_FILE = "demo_logins.json"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Server processes (each answers questions in parallel)."),
    demo_login: bool = typer.Option(False, "--demo-login", help="Give the demo accounts web passwords and print them."),
    now: str | None = typer.Option(None, "--now", help="Pretend today is this date (YYYY-MM-DD), e.g. the demo's --today."),
) -> None:
    """Serve the web chat at http://HOST:PORT/ (API documentation at /docs)."""
    import uvicorn

    from integrations.web.settings import WebConfigError, get_settings

    if now:
        os.environ["CRM_WEB_NOW"] = now
        get_settings.cache_clear()
    try:
        get_settings()
        _check_assistant()
    except WebConfigError as exc:
        fail(str(exc))
    _check_database()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host}:{port}/"
    if demo_login:
        logins = demo_logins()
        console.print("[bold]Demo logins[/] (kept in CRM_HOME/demo_logins.json):")
        for email, password in logins.items():
            console.print(f"  {email:<22} password: [bold]{password}[/]", highlight=False)
    console.print(f"[bold green]CRM web chat:[/] {url}", highlight=False, soft_wrap=True)
    console.print(f"API documentation: {url}docs   (Ctrl+C stops the server)", highlight=False, soft_wrap=True)
    app = _build_app(warm=workers == 1)
    # Several workers each build their own app from the factory; the one built above only checked the settings.
    target = app if workers == 1 else "integrations.web.app:create_app"
    uvicorn.run(target, factory=workers > 1, host=host, port=port, workers=workers, log_level="warning",
                proxy_headers=True, timeout_graceful_shutdown=5)


def _build_app(*, warm: bool):
    """The app, built here so a configuration error (web, Slack, assistant) ends in one clear line."""
    from integrations.web import create_app

    try:
        return create_app(warm=warm)
    except Exception as exc:
        # Each edge has its own *ConfigError with a message meant for people; anything else is a bug.
        if type(exc).__name__.endswith("ConfigError"):
            fail(str(exc))
        raise


def demo_logins() -> dict[str, str]:
    """email -> password for the demo accounts that exist; reuses the stored passwords while they still work."""
    import secrets

    from sqlmodel import Session, select

    from storage.db import get_engine
    from storage.models import StaffUser
    from storage.passwords import hash_password, verify_password
    from storage.settings import get_settings

    path = get_settings().home / DEMO_LOGINS_FILE
    stored = _read_logins(path)
    out: dict[str, str] = {}
    with Session(get_engine()) as session:
        users = session.exec(select(StaffUser).where(StaffUser.email.in_(DEMO_ACCOUNTS))).all()
        if not users:
            fail("there are no demo accounts; run `crm demo --reset` first (or use `crm users set-password`)")
        for user in sorted(users, key=lambda u: DEMO_ACCOUNTS.index(u.email)):
            password = stored.get(user.email)
            if not password or not verify_password(password, user.password_hash):
                password = f"demo-{secrets.token_urlsafe(9)}"
                user.password_hash = hash_password(password)
                session.add(user)
            out[user.email] = password
        session.commit()
    _write_logins(path, out)
    return out


def _read_logins(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def _write_logins(path: Path, logins: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(logins, out, indent=2)


def _check_assistant() -> None:
    from assistant import ConfigError
    from assistant import get_settings as assistant_settings

    try:
        assistant_settings()
    except ConfigError as exc:
        fail(str(exc))


def _check_database() -> None:
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import OperationalError

    from storage.migrate import alembic_config, current_revision

    try:
        current = current_revision()
    except OperationalError as exc:
        fail(f"the database is unavailable: {str(exc.orig).strip().splitlines()[0] if exc.orig else exc}")
    if current is None:
        fail("there is no CRM database yet; run `crm demo` (sample data) or `crm db upgrade` and import data")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        fail(f"the database schema is at revision {current}, the code needs {head}: run `crm db upgrade`")
