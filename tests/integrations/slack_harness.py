"""Helpers for the Slack tests (not collected): a uvicorn server in a thread, signed Slack requests, a demo DB.

Requests are signed exactly as Slack signs them (v0 HMAC-SHA256 over
``v0:{timestamp}:{body}`` with the signing secret) and sent over real HTTP.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1234-5678-testtoken"
APP_TOKEN = "xapp-1-A0CRM-1234-testtoken"
NOW = datetime(2026, 11, 22, 12, 0)
DEMO_TODAY = date(2026, 11, 22)


def build_demo_db(directory: Path, *, customers: int = 300) -> str:
    from storage.demo import generate

    url = f"sqlite:///{directory / 'slack_demo.sqlite3'}"
    generate(customers=customers, seed=1, today=DEMO_TODAY, url=url)
    return url


class ServerThread:
    """A real uvicorn server for an ASGI app, on a free loopback port, in a daemon thread."""

    def __init__(self, app) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


class SlackSender:
    """Posts signed Events API, slash command and interactivity requests to /slack/events."""

    def __init__(self, base_url: str, *, secret: str = SIGNING_SECRET) -> None:
        self.url = base_url + "/slack/events"
        self.secret = secret
        self.http = httpx.Client(timeout=10)
        self._n = 0

    def close(self) -> None:
        self.http.close()

    def post(self, body: str, *, content_type: str, timestamp: int | None = None, signature: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[httpx.Response, float]:
        """Send one request; returns the response and how long Slack would have waited for it (ms)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or SignatureVerifier(self.secret).generate_signature(timestamp=ts, body=body)
        all_headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig,
                       **(headers or {})}
        started = time.perf_counter()
        response = self.http.post(self.url, content=body.encode("utf-8"), headers=all_headers)
        return response, (time.perf_counter() - started) * 1000

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **kwargs) -> tuple[httpx.Response, float]:
        self._n += 1
        envelope = {
            "token": "legacy", "team_id": "T0CRM", "api_app_id": "A0CRM", "type": "event_callback",
            "event_id": event_id or f"Ev{time.time_ns()}{self._n}", "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0CRM", "user_id": "U0BOT", "is_bot": True}],
            "event": event,
        }
        return self.post(json.dumps(envelope), content_type="application/json", **kwargs)

    def command(self, *, user: str, channel: str, text: str, response_url: str, command: str = "/crm",
                **kwargs) -> tuple[httpx.Response, float]:
        form = {"token": "legacy", "team_id": "T0CRM", "channel_id": channel, "channel_name": "sales",
                "user_id": user, "user_name": user.lower(), "command": command, "text": text,
                "response_url": response_url, "trigger_id": f"trig{time.time_ns()}", "api_app_id": "A0CRM"}
        return self.post(urlencode(form), content_type="application/x-www-form-urlencoded", **kwargs)

    def click(self, *, user: str, channel: str, message: dict, action: dict, **kwargs) -> tuple[httpx.Response, float]:
        payload = {
            "type": "block_actions", "team": {"id": "T0CRM"}, "user": {"id": user}, "api_app_id": "A0CRM",
            "token": "legacy", "trigger_id": f"trig{time.time_ns()}", "channel": {"id": channel},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                          "thread_ts": message.get("thread_ts")},
            "message": message, "response_url": "http://127.0.0.1:9/unused",
            "actions": [{**action, "type": "button", "action_ts": str(time.time())}],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), content_type="application/x-www-form-urlencoded",
                         **kwargs)


def mention(*, user: str, text: str, channel: str = "C0SALES", ts: str, thread_ts: str | None = None) -> dict:
    event = {"type": "app_mention", "user": user, "text": f"<@U0BOT> {text}", "ts": ts, "channel": channel,
             "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct_message(*, user: str, text: str, channel: str = "D0REP01", ts: str) -> dict:
    return {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts, "channel": channel,
            "event_ts": ts}


def all_text(blocks: list[dict]) -> str:
    """Every piece of text in a list of blocks, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)

