"""`crm slack` over Socket Mode against a local websocket server that speaks the protocol's basics.

The fake Web API's ``apps.connections.open`` hands out ``ws://127.0.0.1:PORT/link``; the
websocket server says hello, delivers one ``events_api`` envelope (an app_mention) and
waits for the envelope's ack; the app then answers through the fake Web API.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_slack import FakeSlack
from slack_harness import APP_TOKEN, BOT_TOKEN, all_text, build_demo_db, mention

CRM = Path(sys.executable).with_name("crm")


class SocketModeServer:
    """Delivers one envelope to the first client that connects and records its ack."""

    def __init__(self, envelope: dict) -> None:
        from websockets.sync.server import serve

        self.envelope = envelope
        self.ack: dict | None = None
        self.ack_ms: float | None = None
        self.acked = threading.Event()
        self.connected = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=test"

    def __enter__(self) -> SocketModeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()

    def _handle(self, websocket) -> None:
        if self.connected.is_set():
            return  # one delivery is enough; a reconnect gets an idle socket that closes
        self.connected.set()
        websocket.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0CRM"},
                                   "debug_info": {"host": "fake", "approximate_connection_time": 3600}}))
        sent = time.perf_counter()
        websocket.send(json.dumps(self.envelope))
        while not self.acked.is_set():
            try:
                message = json.loads(websocket.recv(timeout=60))
            except TimeoutError:
                return
            if message.get("envelope_id") == self.envelope["envelope_id"]:
                self.ack_ms = (time.perf_counter() - sent) * 1000
                self.ack = message
                self.acked.set()
        try:
            websocket.recv(timeout=120)  # keep the connection open while the app answers
        except Exception:  # noqa: BLE001 - the client closing is the normal end
            return


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    return build_demo_db(tmp_path_factory.mktemp("slack_socket_db"))


@pytest.mark.slow
def test_crm_slack_acks_a_socket_mode_envelope_and_answers_in_the_thread(demo_url, crm_home):
    event = mention(user="U0REP01", text="revenue by region this year", ts="1790000100.000100", channel="C0SOCKET")
    envelope = {
        "envelope_id": "env-0001", "type": "events_api", "accepts_response_payload": False, "retry_attempt": 0,
        "retry_reason": "",
        "payload": {"token": "legacy", "team_id": "T0CRM", "api_app_id": "A0CRM", "type": "event_callback",
                    "event_id": "EvSOCKET1", "event_time": int(time.time()), "event": event},
    }
    with SocketModeServer(envelope) as ws, FakeSlack(socket_url=None) as fake:
        fake.socket_url = ws.url
        env = {**os.environ, "CRM_HOME": str(crm_home), "CRM_DATABASE_URL": demo_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.url, "HF_HUB_OFFLINE": "1"}
        env.pop("SLACK_SIGNING_SECRET", None)
        proc = subprocess.Popen([str(CRM), "slack", "--now", "2026-11-22"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            assert ws.acked.wait(60), "no ack for the envelope"
            assert ws.ack == {"envelope_id": "env-0001"} or ws.ack.get("envelope_id") == "env-0001"
            assert fake.of("apps.connections.open") and fake.of("apps.connections.open")[0].token == APP_TOKEN
            placeholder = fake.wait_for("chat.postMessage", channel="C0SOCKET", timeout=60)[0]
            assert placeholder.args["thread_ts"] == "1790000100.000100" and placeholder.token == BOT_TOKEN
            update = fake.wait_for("chat.update", channel="C0SOCKET", timeout=120)[0].args
            assert "North China" in all_text(update["blocks"])
            fake.wait_for("files.completeUploadExternal", channel_id="C0SOCKET", timeout=30)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                output, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
        assert "Connected to Slack over Socket Mode" in output, output
        assert ws.ack_ms is not None and ws.ack_ms < 3000
        print(f"socket mode ack: {ws.ack_ms:.1f} ms")


def test_crm_slack_refuses_to_start_without_tokens(crm_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["CRM_HOME"] = str(crm_home)
    result = subprocess.run([str(CRM), "slack"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_crm_slack_refuses_a_placeholder_token(crm_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update({"CRM_HOME": str(crm_home), "SLACK_BOT_TOKEN": "xoxb-your-bot-token", "SLACK_APP_TOKEN": APP_TOKEN})
    result = subprocess.run([str(CRM), "slack"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "placeholder" in result.stderr and "Traceback" not in result.stderr
