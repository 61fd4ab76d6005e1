"""Who is calling: signed session tokens, the login check, and the FastAPI dependencies.

A session is a signed, timestamped token ``{"u": user id, "f": password fingerprint}``,
sent as an HttpOnly, SameSite=Lax cookie (Secure over https) or, for other programs, as
``Authorization: Bearer <token>``. The fingerprint ties it to the current password hash:
``crm users set-password`` ends every open session of that user. Cookie-authenticated
writes must come from this origin (the Origin header), which with SameSite=Lax closes
cross-site request forgery; bearer tokens are never sent by a browser on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func
from sqlmodel import Session, select

from storage.models import StaffUser
from storage.passwords import fingerprint, hash_password, needs_rehash, verify_password

if TYPE_CHECKING:
    from integrations.web.state import WebState

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Sessions:
    def __init__(self, secret: str, *, max_age_seconds: int) -> None:
        self.max_age = max_age_seconds
        self._serializer = URLSafeTimedSerializer(secret, salt="crm-web-session")

    def issue(self, user: StaffUser) -> str:
        return self._serializer.dumps({"u": user.id, "f": fingerprint(user.password_hash)})

    def read(self, token: str) -> tuple[int, str] | None:
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("f"), str):
            return None
        return data["u"], data["f"]


def authenticate(state: WebState, *, email: str, password: str) -> StaffUser | None:
    """The active staff user with this email and password, else None (same time either way)."""
    with Session(state.engine) as session:
        user = session.exec(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())).first()
        stored = user.password_hash if user is not None and user.is_active else None
        if not verify_password(password, stored):
            return None
        if needs_rehash(stored):
            user.password_hash = hash_password(password)
            session.add(user)
            session.commit()
            session.refresh(user)
        return user


def user_from_token(state: WebState, token: str | None) -> StaffUser | None:
    if not token:
        return None
    claims = state.sessions.read(token)
    if claims is None:
        return None
    user_id, fp = claims
    with Session(state.engine) as session:
        user = session.get(StaffUser, user_id)
    if user is None or not user.is_active or not user.password_hash or fingerprint(user.password_hash) != fp:
        return None
    return user


def request_token(request: Request, state: WebState) -> tuple[str | None, bool]:
    """The session token and whether it came as a bearer header (True) or a cookie (False)."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip(), True
    return request.cookies.get(state.settings.cookie_name), False


def optional_user(request: Request) -> StaffUser | None:
    from integrations.web.state import get_state

    state = get_state(request)
    token, bearer = request_token(request, state)
    user = user_from_token(state, token)
    if user is not None and not bearer and request.method not in SAFE_METHODS:
        check_same_origin(request)
    return user


def require_user(request: Request) -> StaffUser:
    """The signed-in staff user; 401 otherwise (the JSON API's answer to a missing or stale login)."""
    user = optional_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="not signed in", headers={"WWW-Authenticate": "Bearer"})
    return user


def check_same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None:
        return  # non-browser clients and same-origin navigations without Origin
    expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin.rstrip("/") != expected:
        raise HTTPException(status_code=403, detail="cross-origin request refused")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, state: WebState, token: str) -> None:
    mode = state.settings.cookie_secure
    secure = mode == "always" or (mode == "auto" and is_https(request))
    response.set_cookie(state.settings.cookie_name, token, max_age=state.sessions.max_age, httponly=True,
                        samesite="lax", secure=secure, path="/")


def clear_session_cookie(response: Response, state: WebState) -> None:
    response.delete_cookie(state.settings.cookie_name, path="/", httponly=True, samesite="lax")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
