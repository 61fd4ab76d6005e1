"""The JSON API: sign in, ask (whole reply or streamed as server-sent events), conversations, charts.

Everything but ``/api/login`` needs a session (cookie or bearer token) and answers 401
without one. Replies carry chart URLs (``/charts/<name>.png``) that only their owner can
fetch, and customer citations that link to ``/customers/<id>``.

Bad requests get a status and a JSON ``detail``, never a stack trace: 413 for a body over
``MAX_BODY_BYTES``, 422 for malformed or invalid JSON (``create_app``), 429 with
``Retry-After`` when a user asks faster than CRM_RATE_LIMIT_PER_MINUTE, and 503 with
``Retry-After`` while the database is locked or unreachable (``install``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from sqlalchemy.exc import DBAPIError

from integrations.web import chat
from integrations.web.auth import (
    authenticate,
    check_same_origin,
    clear_session_cookie,
    client_address,
    require_user,
    set_session_cookie,
)
from integrations.web.examples import examples_for
from integrations.web.schemas import (
    AskReply,
    AskRequest,
    LoginReply,
    LoginRequest,
    Me,
    MessageOut,
    ThreadDetail,
)
from integrations.web.state import WebState, get_state
from storage.errors import DatabaseUnavailable
from storage.models import StaffUser, WebThreadPublic
from storage.retry import as_unavailable
from tools.errors import DatabaseUnavailable as ToolUnavailable
from tools.errors import NotFound, PermissionDenied, ToolError

logger = logging.getLogger(__name__)
router = APIRouter()
_CHART_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# A question is at most 4,000 characters (AskRequest); a body far beyond that is refused before it is parsed.
MAX_BODY_BYTES = 256 * 1024
DATABASE_RETRY_AFTER = 5


def install(app: FastAPI) -> None:
    """The API's error handling: a size limit on request bodies, and 503 (not 500) while the database
    is locked or down. Called once by ``create_app``."""
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, prefix="/api/")
    # Both classes by name: the tools' DatabaseUnavailable is also a ToolError, which would come first.
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(ToolUnavailable, _database_unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(ToolError, _tool_error)


class BodyLimit:
    """Refuse (413) a request under ``prefix`` whose Content-Length exceeds ``max_bytes``, unread."""

    def __init__(self, app, *, max_bytes: int, prefix: str) -> None:
        self.app, self.max_bytes, self.prefix = app, max_bytes, prefix

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            length = dict(scope.get("headers") or ()).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > self.max_bytes:
                detail = f"request body too large (the limit is {self.max_bytes // 1024} KB)"
                await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    # The driver's detail names hosts and ports: it goes to the log, the client gets the safe message.
    logger.warning("database unavailable: %s", getattr(exc, "detail", None) or exc)
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


async def _tool_error(_request: Request, exc: Exception) -> JSONResponse:
    # A tool error that reached a route unhandled is still about the request (a bad id, a number too large).
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    unavailable = as_unavailable(exc)
    if unavailable is not None:
        return await _database_unavailable(request, unavailable)
    logger.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "the request failed because of a database error"}, status_code=500)


def admit_question(state: WebState, user: StaffUser, question: str) -> str:
    """The cleaned question, once the user is within their rate limit; else HTTPException 429."""
    from assistant import check_question, clean_question, detect_language, limited_message

    wait = check_question(user_id=user.id, database_url=state.database_url)
    if wait:
        raise HTTPException(status_code=429, detail=limited_message(detect_language(question), seconds=wait),
                            headers={"Retry-After": str(wait)})
    cleaned = clean_question(question)
    if not cleaned:
        raise HTTPException(status_code=422, detail="the question is empty (or only control characters)")
    return cleaned


def me(user: StaffUser) -> Me:
    return Me(id=user.id, name=user.name, email=user.email, role=user.role, team=user.team,
              examples=examples_for(user.role))


def login_or_refuse(request: Request, *, email: str, password: str) -> StaffUser:
    """The user, or HTTPException 429 (too many failures) / 401 (wrong email or password)."""
    state = get_state(request)
    client = client_address(request)
    wait = state.limiter.retry_after(client=client, email=email)
    if wait:
        raise HTTPException(status_code=429, detail=f"too many failed logins; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    user = authenticate(state, email=email, password=password)
    if user is None:
        state.limiter.failed(client=client, email=email)
        raise HTTPException(status_code=401, detail="wrong email or password")
    state.limiter.succeeded(client=client, email=email)
    return user


@router.post("/api/login", response_model=LoginReply, tags=["session"], summary="Sign in")
def api_login(body: LoginRequest, request: Request, response: Response) -> LoginReply:
    check_same_origin(request)
    user = login_or_refuse(request, email=body.email, password=body.password)
    state = get_state(request)
    token = state.sessions.issue(user)
    set_session_cookie(response, request, state, token)
    return LoginReply(user=me(user), token=token)


@router.post("/api/logout", status_code=204, tags=["session"], summary="Sign out (clears the cookie)")
def api_logout(request: Request, response: Response) -> Response:
    check_same_origin(request)
    clear_session_cookie(response, get_state(request))
    response.status_code = 204
    return response


@router.get("/api/me", response_model=Me, tags=["session"], summary="The signed-in user and example questions")
def api_me(user: StaffUser = Depends(require_user)) -> Me:
    return me(user)


@router.post("/api/ask", response_model=AskReply, tags=["chat"], summary="Ask a question; get the whole reply")
async def api_ask(body: AskRequest, request: Request, user: StaffUser = Depends(require_user)) -> AskReply:
    state = get_state(request)
    question = admit_question(state, user, body.question)
    thread = await anyio.to_thread.run_sync(
        lambda: chat.open_thread(state, user, thread_id=body.thread_id, question=question))
    return await _answer(state, user, thread=thread, question=question)


async def _answer(state: WebState, user: StaffUser, *, thread, question: str, on_token=None) -> AskReply:
    # Answers take turns through their own limiter, so a queue of questions never holds the threads that
    # quick requests (sign-in, the conversation list, charts) need.
    return await anyio.to_thread.run_sync(
        lambda: chat.answer(state, user, thread=thread, question=question, on_token=on_token),
        limiter=state.answer_limiter())


@router.post(
    "/api/ask/stream", tags=["chat"], summary="Ask a question; stream the reply as server-sent events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": (
        "Events: `thread` {thread_id, title}; `status` {state}; `token` {text} (answer text as the model writes it; "
        "LLM mode); `reply` (the AskReply); `error` {status, detail}. The stream ends after `reply` or `error`.")}},
)
async def api_ask_stream(body: AskRequest, request: Request, user: StaffUser = Depends(require_user)) -> StreamingResponse:
    state = get_state(request)
    question = admit_question(state, user, body.question)
    thread = await anyio.to_thread.run_sync(
        lambda: chat.open_thread(state, user, thread_id=body.thread_id, question=question))
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def emit(event: str, data: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (event, data))

    async def work() -> None:
        try:
            reply = await _answer(state, user, thread=thread, question=question,
                                  on_token=lambda text: emit("token", {"text": text}))
            emit("reply", reply.model_dump(mode="json"))
        except HTTPException as exc:
            emit("error", {"status": exc.status_code, "detail": exc.detail})
        except Exception as exc:  # noqa: BLE001 - the stream must end with an event, not a cut connection
            unavailable = as_unavailable(exc)
            if unavailable is not None:
                logger.warning("database unavailable during a streamed answer: %s", unavailable.detail)
                emit("error", {"status": 503, "detail": str(unavailable)})
                return
            logger.exception("streamed answer failed on thread %s", thread.id)
            emit("error", {"status": 500, "detail": "the assistant failed unexpectedly"})
        finally:
            emit("end", None)

    # The task outlives a client that hangs up: the answer is still stored in the conversation.
    task = asyncio.create_task(work())

    async def events():
        yield _sse("thread", {"thread_id": thread.id, "title": thread.title})
        yield _sse("status", {"state": "thinking"})
        while True:
            event, data = await queue.get()
            if event == "end":
                break
            yield _sse(event, data)
        await task

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


@router.get("/api/threads", response_model=list[WebThreadPublic], tags=["chat"], summary="My conversations, newest first")
def api_threads(request: Request, user: StaffUser = Depends(require_user)) -> list[WebThreadPublic]:
    return get_state(request).store.threads(user_id=user.id)


@router.get("/api/threads/{thread_id}", response_model=ThreadDetail, tags=["chat"], summary="One conversation")
def api_thread(request: Request, thread_id: str = PathParam(pattern=r"^[0-9a-f]{32}$"),
               user: StaffUser = Depends(require_user)) -> ThreadDetail:
    state = get_state(request)
    found = state.store.thread(user_id=user.id, thread_id=thread_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such conversation")
    thread, messages = found
    return ThreadDetail(thread=thread, messages=[_message_out(state, user, m) for m in messages])


def _message_out(state: WebState, user: StaffUser, message) -> MessageOut:
    reply = AskReply.model_validate({**message.reply, "message_id": message.id})
    # Proposals change after the reply was stored (confirmed, cancelled): show their current state.
    current = state.store.writes(user_id=user.id, ids=[p.id for p in reply.proposals])
    reply.proposals = [chat.proposal(current[p.id]) if p.id in current else p for p in reply.proposals]
    return MessageOut(id=message.id, question=message.question, reply=reply, created_at=message.created_at)


@router.get("/charts/{name}.png", response_class=FileResponse, tags=["chat"], summary="A chart of one of my replies")
def chart(request: Request, name: str, user: StaffUser = Depends(require_user)) -> FileResponse:
    state = get_state(request)
    if not _CHART_NAME.match(name) or not state.store.may_see_chart(user_id=user.id, name=name):
        raise HTTPException(status_code=404, detail="no such chart")
    path = state.charts_dir / f"{name}.png"
    if not path.is_file():
        raise HTTPException(status_code=404, detail="no such chart")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
