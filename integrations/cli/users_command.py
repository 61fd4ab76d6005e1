"""`crm users list | add | set-password`: staff accounts and their web passwords.

Passwords are hashed with scrypt (``storage.passwords``). Without ``--password`` the
command asks for one (hidden, twice), so a password need not sit in shell history.
Setting a password ends that user's open web sessions.
"""

from __future__ import annotations

import typer

from integrations.cli.output import console, fail, print_json

users_app = typer.Typer(help="Staff users and their passwords for the web chat.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


@users_app.command("list")
def list_users(
    role: str | None = typer.Option(None, "--role", help="Only this role: rep, manager, support or admin."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List staff users, with whether each can sign in to the web chat."""
    from rich.table import Table
    from sqlmodel import Session, select

    from storage.models import StaffUser

    with Session(_engine()) as session:
        query = select(StaffUser).order_by(StaffUser.id)
        if role:
            query = query.where(StaffUser.role == _role(role))
        users = session.exec(query).all()
    rows = [{"id": u.id, "email": u.email, "name": u.name, "role": u.role, "team": u.team,
             "slack_user_id": u.slack_user_id, "active": u.is_active, "web_login": bool(u.password_hash)} for u in users]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "email", "name", "role", "team", "slack", "active", "web login")
    for r in rows:
        table.add_row(str(r["id"]), r["email"], r["name"], r["role"], r["team"] or "—", r["slack_user_id"] or "—",
                      "yes" if r["active"] else "no", "yes" if r["web_login"] else "no")
    console.print(table)


@users_app.command("add")
def add_user(
    email: str = typer.Argument(..., help="Email; also the web login."),
    name: str = typer.Option(..., "--name", help="Full name."),
    role: str = typer.Option("rep", "--role", help="rep, manager, support or admin."),
    team: str | None = typer.Option(None, "--team", help="Team (managers see their team's customers)."),
    slack_user_id: str | None = typer.Option(None, "--slack-user-id", help="Slack member id, e.g. U0123ABCD."),
    password: str | None = typer.Option(None, "--password", help="Web password (asked for when omitted)."),
    no_password: bool = typer.Option(False, "--no-password", help="Create without a web login."),
) -> None:
    """Add a staff user."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from storage.models import StaffUser, StaffUserCreate

    email = email.strip().lower()
    if "@" not in email:
        fail(f"{email!r} is not an email address")
    stored = None if no_password else _hash(password)
    create = StaffUserCreate(name=name, email=email, role=_role(role), team=team, slack_user_id=slack_user_id)
    with Session(_engine()) as session:
        if session.exec(select(StaffUser).where(func.lower(StaffUser.email) == email)).first() is not None:
            fail(f"a staff user with email {email} already exists (use `crm users set-password`)")
        user = StaffUser(**create.model_dump(exclude={"password"}), password_hash=stored)
        user.role = create.role.value
        session.add(user)
        session.commit()
        console.print(f"added {user.email} ({user.role}, id {user.id})" + ("" if stored else "; no web login yet"))


@users_app.command("set-password")
def set_password(
    email: str = typer.Argument(..., help="The staff user's email."),
    password: str | None = typer.Option(None, "--password", help="The new password (asked for when omitted)."),
) -> None:
    """Set a staff user's web password; their open web sessions end."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from storage.models import StaffUser

    with Session(_engine()) as session:
        user = session.exec(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())).first()
        if user is None:
            fail(f"no staff user with email {email!r} (see `crm users list`)")
        user.password_hash = _hash(password)
        session.add(user)
        session.commit()
    console.print(f"password set for {email.strip().lower()}")


def _hash(password: str | None) -> str:
    from storage.passwords import PasswordRejected, hash_password

    if password is None:
        import sys

        if not sys.stdin.isatty():
            fail("give --password, or run in a terminal to be asked for one")
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return hash_password(password)
    except PasswordRejected as exc:
        fail(str(exc))


def _role(value: str) -> str:
    from storage.models import Role

    try:
        return Role(value.strip().lower()).value
    except ValueError:
        fail(f"unknown role {value!r}; use one of: {', '.join(r.value for r in Role)}")


def _engine():
    from sqlalchemy import inspect

    from storage.db import get_engine

    engine = get_engine()
    if not inspect(engine).has_table("staff_user"):
        fail("there is no CRM database yet; run `crm demo` (sample data) or `crm db upgrade`")
    return engine
