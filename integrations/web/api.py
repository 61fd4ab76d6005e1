"""The JSON API: sign in, ask (whole reply or streamed as server-sent events), conversations, charts.

Everything but ``/api/login`` needs a session (cookie or bearer token) and answers 401
without one. Replies carry chart URLs (``/charts/<name>.png``) that only their owner can
fetch, and customer citations that link to ``/customers/<id>``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse

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
from storage.models import StaffUser, WebThreadPublic

logger = logging.getLogger(__name__)
router = APIRouter()
_CHART_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


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
    thread = await anyio.to_thread.run_sync(
        lambda: chat.open_thread(state, user, thread_id=body.thread_id, question=body.question))
    return await _answer(state, user, thread=thread, question=body.question)


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
    thread = await anyio.to_thread.run_sync(
        lambda: chat.open_thread(state, user, thread_id=body.thread_id, question=body.question))
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def emit(event: str, data: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (event, data))

    async def work() -> None:
        try:
            reply = await _answer(state, user, thread=thread, question=body.question,
                                  on_token=lambda text: emit("token", {"text": text}))
            emit("reply", reply.model_dump(mode="json"))
        except HTTPException as exc:
            emit("error", {"status": exc.status_code, "detail": exc.detail})
        except Exception:  # noqa: BLE001 - the stream must end with an event, not a cut connection
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
