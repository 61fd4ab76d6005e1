"""A real web server for tests: a small demo CRM, staff passwords, and uvicorn in a thread on a free port.

Built once per test module (the demo takes a few seconds); every URL is passed explicitly,
because module fixtures run before the per-test CRM_HOME is set.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import uvicorn

TODAY = date(2026, 11, 22)
PASSWORD = "correct horse battery"
SECRET = "test-secret-" + "0123456789abcdef" * 3


@dataclass
class LiveWeb:
    url: str
    database_url: str
    home: Path
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def build_demo(home: Path, *, customers: int = 300) -> str:
    """A migrated SQLite demo CRM under ``home`` with every staff user's password set to PASSWORD."""
    from sqlmodel import Session, select

    from storage.db import engine_for
    from storage.demo import generate
    from storage.models import StaffUser
    from storage.passwords import hash_password

    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(home / 'crm.sqlite3').resolve()}"
    generate(customers=customers, seed=1, today=TODAY, url=url)
    stored = hash_password(PASSWORD)
    with Session(engine_for(url)) as session:
        for user in session.exec(select(StaffUser)).all():
            user.password_hash = stored
            session.add(user)
        session.commit()
    return url


def start(database_url: str, home: Path, **settings) -> LiveWeb:
    from integrations.web import WebSettings, create_app

    web_settings = WebSettings(secret=SECRET, now=TODAY.isoformat(), **settings)
    app = create_app(database_url=database_url, settings=web_settings, home=home, warm=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    return LiveWeb(url=f"http://127.0.0.1:{port}", database_url=database_url, home=home, server=server, thread=thread)


def customers_by_owner(database_url: str) -> dict[str, list[int]]:
    """Customer ids: 'pool', 'rep01' (owned by rep01@demo.crm) and 'other' (owned by someone else)."""
    from sqlmodel import Session, select

    from storage.db import engine_for
    from storage.models import Customer, StaffUser

    with Session(engine_for(database_url)) as session:
        rep = session.exec(select(StaffUser).where(StaffUser.email == "rep01@demo.crm")).one()
        rows = session.exec(select(Customer.id, Customer.owner_id).order_by(Customer.id)).all()
    return {
        "pool": [cid for cid, owner in rows if owner is None],
        "rep01": [cid for cid, owner in rows if owner == rep.id],
        "other": [cid for cid, owner in rows if owner is not None and owner != rep.id],
    }
