"""A fake Slack Web API on loopback: a real HTTP server that answers like Slack and records every call.

Not a test module (no test_ prefix). It speaks enough of the Web API for the Bolt app:
auth.test, chat.postMessage / update / postEphemeral, users.info, reactions.add,
assistant.threads.setStatus, apps.connections.open, the three steps of files upload v2
(files.getUploadURLExternal, a POST of the bytes to the returned upload URL,
files.completeUploadExternal) and response_url posts. Tests read ``calls`` and wait
with ``wait_for``. For delivered alerts it also answers users.lookupByEmail, conversations.open
(a DM channel ``D<user id>``) and conversations.history over the messages it has accepted
(``messages``, per channel, with their metadata), so a sender can check what Slack already holds.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T0CRM"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    result: dict = field(default_factory=dict)
    at: float = field(default_factory=time.perf_counter)


class FakeSlack:
    def __init__(self, *, users: dict[str, dict] | None = None, socket_url: str | None = None) -> None:
        self.users = users or {}
        self.socket_url = socket_url
        self.failures: dict[str, str] = {}  # method -> Slack error code to answer with
        self.channel_failures: dict[tuple[str, str], str] = {}  # (method, channel) -> error code
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.messages: dict[str, list[dict]] = {}  # channel id -> accepted messages, oldest first
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- reading what happened ----------------------------------------------------------------

    def of(self, method: str, **match: Any) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]

    def wait_for(self, method: str, *, count: int = 1, timeout: float = 60.0, **match: Any) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(f"timed out waiting for {count} x {method} {match}; calls so far: {seen}")
                self._cond.wait(left)

    def clear(self) -> None:
        with self._cond:
            self.calls.clear()

    # -- answering ----------------------------------------------------------------------------

    def _record(self, method: str, args: dict, token: str | None, result: dict | None = None) -> None:
        with self._cond:
            self.calls.append(Call(method, args, token, result or {}))
            self._cond.notify_all()

    def next_ts(self) -> str:
        return f"1790000000.{next(self._ts):06d}"

    def answer(self, method: str, args: dict) -> dict:
        if method in self.failures:
            return {"ok": False, "error": self.failures[method]}
        if (method, args.get("channel")) in self.channel_failures:
            return {"ok": False, "error": self.channel_failures[(method, args.get("channel"))]}
        if method == "auth.test":
            return {"ok": True, "url": "https://crm-test.slack.com/", "team": "CRM Test", "user": "crm",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = self.next_ts()
            # Like Slack, a user id as the channel posts into the app's DM with that user.
            channel = self.dm_channel(args["channel"]) if str(args.get("channel", "")).startswith("U") else args.get("channel")
            message = {"text": args.get("text"), "ts": ts, "thread_ts": args.get("thread_ts"), "bot_id": BOT_ID,
                       "type": "message"}
            if args.get("metadata"):
                metadata = args["metadata"]
                message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            with self._cond:
                self.messages.setdefault(str(channel), []).append({**message, "blocks": args.get("blocks")})
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "users.lookupByEmail":
            email = str(args.get("email", "")).strip().lower()
            for user in self.users.values():
                if str((user.get("profile") or {}).get("email", "")).strip().lower() == email:
                    return {"ok": True, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method == "conversations.open":
            users = str(args.get("users", ""))
            if not users or "," in users:
                return {"ok": False, "error": "not_implemented" if users else "users_list_not_supplied"}
            return {"ok": True, "channel": {"id": self.dm_channel(users)}}
        if method == "conversations.history":
            return self._history(args)
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "users.info":
            user = self.users.get(args.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):06d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = json.loads(args.get("files") or "[]")
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_configured"}
        if method in ("assistant.threads.setStatus", "reactions.add", "reactions.remove"):
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def dm_channel(user_id: str) -> str:
        return "D" + user_id.removeprefix("U")

    def _history(self, args: dict) -> dict:
        channel = str(args.get("channel", ""))
        with self._cond:
            if channel not in self.messages and channel[:1] not in ("C", "D", "G"):
                return {"ok": False, "error": "channel_not_found"}
            found = list(self.messages.get(channel, []))  # a channel nothing was posted to is empty
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        out = []
        for m in reversed(found):  # newest first, as Slack answers
            if float(m["ts"]) < oldest:
                continue
            out.append({k: v for k, v in m.items() if k != "blocks" and (with_metadata or k != "metadata")})
        limit = int(args.get("limit") or 100)
        return {"ok": True, "messages": out[:limit], "has_more": len(out) > limit}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:  # noqa: N802 - slack_sdk sends a few reads (history, lookups) as GET
                parts = urlsplit(self.path)
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or None
                method = parts.path.removeprefix("/api/")
                args: dict[str, Any] = dict(parse_qsl(parts.query))
                result = fake.answer(method, args)
                fake._record(method, args, token, result)
                self._send(200, json.dumps(result).encode(), "application/json")

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or None
                if parts.path.startswith("/upload/"):
                    file_id = parts.path.rsplit("/", 1)[-1]
                    fake.uploads[file_id] = raw
                    fake._record("upload", {"file_id": file_id, "bytes": len(raw)}, token)
                    return self._send(200, f"OK - {len(raw)}".encode(), "text/plain")
                if parts.path.startswith("/response/"):
                    name = parts.path.rsplit("/", 1)[-1]
                    fake._record("response_url", {**json.loads(raw or b"{}"), "_name": name}, token)
                    return self._send(200, b"ok", "text/plain")
                method = parts.path.removeprefix("/api/")
                args: dict[str, Any] = dict(parse_qsl(parts.query))
                content_type = self.headers.get("Content-Type") or ""
                if raw and "json" in content_type:
                    args.update(json.loads(raw))
                elif raw:
                    args.update(parse_qsl(raw.decode("utf-8")))
                for key in ("blocks", "attachments"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                result = fake.answer(method, args)
                fake._record(method, args, token, result)
                self._send(200, json.dumps(result).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
