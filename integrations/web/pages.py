"""The HTML pages: the chat (or the login form), sign in and out, and a customer's 360° page.

A customer outside the caller's scope gets the same 404 page as an id that does not
exist, so the page never confirms that a customer exists.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from integrations.web.api import login_or_refuse
from integrations.web.auth import (
    check_same_origin,
    clear_session_cookie,
    optional_user,
    set_session_cookie,
)
from integrations.web.customer_html import customer_body
from integrations.web.customers import NOT_FOUND, chart_url, profile
from integrations.web.examples import examples_for
from integrations.web.state import get_state
from integrations.web.templates import esc, render

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only same-site paths: "//evil.example" and "https://…" would make the login an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def login_page(*, error: str = "", email: str = "", next_path: str = "/", status: int = 200) -> HTMLResponse:
    error_html = f'<p class="error" id="login-error" role="alert">{esc(error)}</p>' if error else ""
    return HTMLResponse(render("login.html", error_html=error_html, email=email, next=_safe_next(next_path)),
                        status_code=status)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query parameter's name
    user = optional_user(request)
    if user is None:
        return login_page(next_path=next or "/")
    examples = "".join(f'<button type="button" class="example" data-question="{esc(q)}">{esc(q)}</button>'
                       for q in examples_for(user.role))
    return HTMLResponse(render("chat.html", name=user.name, role=user.role, email=user.email, examples_html=examples))


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, email: str = Form(""), password: str = Form(""), next: str = Form("/")):  # noqa: A002
    check_same_origin(request)
    try:
        user = login_or_refuse(request, email=email, password=password)
    except HTTPException as exc:
        message = "Wrong email or password." if exc.status_code == 401 else f"{str(exc.detail).capitalize()}."
        response = login_page(error=message, email=email, next_path=next, status=exc.status_code)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
    state = get_state(request)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, request, state, state.sessions.issue(user))
    return response


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    check_same_origin(request)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, get_state(request))
    return response


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(request: Request, customer_id: int):
    user = optional_user(request)
    if user is None:
        return RedirectResponse(f"/?next=/customers/{customer_id}", status_code=303)
    state = get_state(request)
    result = profile(state, user, customer_id)
    if result is None:
        return HTMLResponse(render("page.html", title="Not found", body_html=f'<p class="error">{esc(NOT_FOUND)}</p>'),
                            status_code=404)
    return HTMLResponse(render("page.html", title=result.customer.name,
                               body_html=customer_body(result, chart_url=chart_url(state, user, result))))
