"""``create_app()``: the web chat, its JSON API and, when configured, Slack's HTTP events.

Settings are read and checked here, at start: a placeholder secret or an invalid pinned
clock stops the server before it serves anything. The assistant (LangChain, the router)
is loaded in the lifespan, so the first question is not the one that pays for it.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from integrations.web import alerts, api, audit, customers, gdpr, pages, writes
from integrations.web.settings import WebSettings, get_settings
from integrations.web.state import WebState, build_state

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(*, database_url: str | None = None, settings: WebSettings | None = None, home: Path | None = None,
               warm: bool = True) -> FastAPI:
    """The ASGI app. ``database_url`` and ``home`` default to the storage settings (CRM_DATABASE_URL, CRM_HOME)."""
    from storage.settings import get_settings as storage_settings

    stored = storage_settings()
    state = build_state(settings=settings or get_settings(), database_url=database_url or stored.url,
                        home=home or stored.home)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if warm:
            _warm_up(state)
        yield

    app = FastAPI(
        title="CRM assistant",
        version="0.1.0",
        summary="Ask the CRM in English or Chinese; answers come with tables, charts and citations.",
        description=(
            "Sign in with `POST /api/login` (a staff email and password), then send the returned token as "
            "`Authorization: Bearer <token>` (or keep the session cookie). `POST /api/ask` answers one question; "
            "`POST /api/ask/stream` streams the same reply as server-sent events. Pass `thread_id` from a reply "
            "to ask a follow-up in the same conversation. Writes the assistant proposes run only after "
            "`POST /api/writes/{id}/confirm`."
        ),
        lifespan=lifespan,
    )
    app.state.web = state
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(writes.router)
    app.include_router(customers.router)
    app.include_router(gdpr.router)
    api.install(app)  # body size limit; 503 while the database is locked or down
    app.include_router(audit.router)
    app.include_router(alerts.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Field, problem and nothing else: the default echoes the whole input back, passwords included.
        problems = [{"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "problem": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": "invalid request", "problems": problems}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    _mount_slack(app, state)
    return app


def _mount_slack(app: FastAPI, state: WebState) -> None:
    """Slack's events endpoint, when the Slack edge is installed and configured (it decides; we only ask)."""
    if importlib.util.find_spec("integrations.slack") is None or importlib.util.find_spec("integrations.slack.http") is None:
        return
    from integrations.slack.http import mount_slack

    try:
        # Same database and, when `crm serve --now` pins it, the same clock as the web chat.
        mounted = mount_slack(app, database_url=state.database_url, clock=state.now if state.settings.pinned_now else None)
    except Exception as exc:
        if type(exc).__name__.endswith("ConfigError"):
            raise  # a placeholder or malformed secret stops the server at start
        # Slack unreachable (Bolt checks the token at start): the web chat still serves; Slack waits for a restart.
        logger.error("Slack events are not served: %s: %s", type(exc).__name__, exc)
        return
    if mounted:
        logger.info("Slack events are served at /slack/events")


def _warm_up(state: WebState) -> None:
    from assistant import get_settings as assistant_settings

    # Checked now, so a bad model configuration stops the server at start, not at the first question.
    settings = assistant_settings()
    if settings.is_offline:
        threading.Thread(target=_prime, args=(state,), name="crm-warm-up", daemon=True).start()


def _prime(state: WebState) -> None:
    """Answer one throwaway question with the offline router: the first answer imports the analytics stack
    (pandas, scikit-learn, matplotlib; 10-20 s on a busy machine), which no user should wait for. Never an
    LLM, which would cost money."""
    try:
        from assistant import new_thread_id, respond
        from tools import ToolContext

        # Channel "system": the audit log shows this as the server's own warm-up, not someone at a terminal.
        context = ToolContext.system(now=state.now(), database_url=state.database_url).model_copy(
            update={"channel": "system"})
        respond("monthly revenue this year", context=context, thread_id=f"warm-up-{new_thread_id()}")
    except Exception:  # noqa: BLE001 - warming is an optimisation; real questions report real errors
        logger.warning("could not warm up the assistant", exc_info=True)
