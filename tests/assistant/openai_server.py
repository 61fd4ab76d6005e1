"""A local OpenAI-protocol server for tests: real HTTP, real `openai` client, scripted answers.

``POST /v1/chat/completions`` answers from a script, one step per request, as JSON
or as SSE chunks when the request asks to stream (with a final usage chunk when
``stream_options.include_usage`` is set, as OpenAI does). Every request body is
recorded so a test can assert what the model was sent (the tool message carrying
an error, the system prompt, the tool schemas).

A step is a dict: ``{"content": "..."}``, ``{"tool_calls": [{"name", "arguments"}]}``
(arguments as a raw string, so a test can send invalid JSON), optional ``"sleep"``
seconds before answering, or a callable ``step(body) -> dict`` to react to the request.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

Step = dict[str, Any] | Callable[[dict], dict[str, Any]]


class ScriptedOpenAIServer:
    def __init__(self, script: list[Step] | None = None, *, model: str = "gpt-4o-mini"):
        self.script: list[Step] = list(script or [])
        self.requests: list[dict] = []
        self.model = model
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *steps: Step) -> None:
        self.script.extend(steps)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> ScriptedOpenAIServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", timeout_graceful_shutdown=1, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the scripted OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- protocol ----------------------------------------------------------------------------------
    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            self.requests.append(body)
            if not self.script:
                return JSONResponse({"error": {"message": "script exhausted", "type": "test"}}, status_code=500)
            step = self.script.pop(0)
            if callable(step):
                step = step(body)
            if step.get("sleep"):
                await asyncio.sleep(step["sleep"])
            if step.get("status"):
                return JSONResponse({"error": {"message": step.get("content", "error"), "type": "test"}},
                                    status_code=step["status"])
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(self._sse(step, include_usage), media_type="text/event-stream")
            return JSONResponse(self._completion(step))

        return app

    def _completion(self, step: dict) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": step.get("content")}
        if step.get("tool_calls"):
            message["tool_calls"] = [
                {"id": call.get("id") or f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                 "function": {"name": call["name"], "arguments": call.get("arguments", "{}")}}
                for call in step["tool_calls"]
            ]
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if step.get("tool_calls") else "stop"}],
            "usage": self._usage(step),
        }

    async def _sse(self, step: dict, include_usage: bool):
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())

        def chunk(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> str:
            payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": self.model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []}
            if usage is not None:
                payload["usage"] = usage
            return f"data: {json.dumps(payload)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        content = step.get("content") or ""
        for i in range(0, len(content), 7):  # several small deltas, like a real model
            yield chunk({"content": content[i : i + 7]})
            await asyncio.sleep(0)
        for index, call in enumerate(step.get("tool_calls") or []):
            call_id = call.get("id") or f"call_{uuid.uuid4().hex[:8]}"
            yield chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                         "function": {"name": call["name"], "arguments": ""}}]})
            arguments = call.get("arguments", "{}")
            for i in range(0, len(arguments), 5):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[i : i + 5]}}]})
        yield chunk({}, finish="tool_calls" if step.get("tool_calls") else "stop")
        if include_usage:
            yield chunk({}, usage=self._usage(step), choices=False)
        yield "data: [DONE]\n\n"

    @staticmethod
    def _usage(step: dict) -> dict:
        usage = step.get("usage") or {"prompt_tokens": 120, "completion_tokens": 15}
        return {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
