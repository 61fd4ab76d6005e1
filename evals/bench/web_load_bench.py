"""Web load benchmark: 50 concurrent chat sessions against a real `crm serve` process (offline model).

Builds a demo CRM in a temporary CRM_HOME (with the feature snapshot, as after `make demo`),
gives every staff user a password, starts `crm serve` as a subprocess on a free loopback port
and waits until it answers. Then, in the same run:

- baseline 1: one session asking the question mix one at a time on the idle server;
- the load: N sessions (default 50), each signed in as a staff user, asking from its role's
  question mix for D seconds (default 300), with follow-ups in the same thread and a new
  thread every few questions; every third question goes through the SSE endpoint;
- baseline 2: a trivial authenticated endpoint (GET /api/me), probed twice a second during the load.

Reports errors (HTTP failures and replies with an error; target 0), throughput, p50/p95 latency,
and the ratios to the baselines. Writes bench_results/web_load.json.

    python -m evals.bench --only web
    CRM_LOAD_SECONDS=60 CRM_LOAD_SESSIONS=50 python -m evals.bench.web_load_bench

Environment: CRM_LOAD_SECONDS (300), CRM_LOAD_SESSIONS (50), CRM_LOAD_CUSTOMERS (5000),
CRM_LOAD_WORKERS (server processes, 1).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

import httpx

TODAY = date(2026, 11, 22)
PASSWORD = "load-test-password"
QUESTIONS = {
    "rep": ["my top customers by spend", "show my sales pipeline", "which VIPs went quiet this month?",
            "我的客户里谁最近没有下单？", "and last month?"],
    "manager": ["monthly revenue this year", "and by region?", "revenue by region last quarter",
                "which VIPs went quiet this month?", "上个季度各地区的销售额", "customer segments by RFM"],
    "support": ["customer segments by RFM", "which VIPs went quiet this month?", "campaign performance this year"],
    "admin": ["monthly revenue this year", "and by region?", "campaign performance this year", "customer segments by RFM",
              "top 10 customers by lifetime spend"],
}
NEW_THREAD_EVERY = 4


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        return {"requests": len(lat) + len(self.errors), "ok": len(lat), "errors": len(self.errors),
                "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95), "max_ms": round(lat[-1], 1) if lat else None}


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


def main() -> None:
    seconds = float(os.environ.get("CRM_LOAD_SECONDS", "300"))
    sessions = int(os.environ.get("CRM_LOAD_SESSIONS", "50"))
    customers = int(os.environ.get("CRM_LOAD_CUSTOMERS", "5000"))
    workers = int(os.environ.get("CRM_LOAD_WORKERS", "1"))
    with tempfile.TemporaryDirectory(prefix="crm-web-load-") as tmp:
        home = Path(tmp)
        users = _build(home, customers=customers)
        port = _free_port()
        server, log = _serve(home, port=port, workers=workers)
        try:
            base = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            _wait_until_up(base, server)
            print(f"server up in {time.perf_counter() - started:.1f} s (pid {server.pid}, {workers} worker(s))", flush=True)
            result = asyncio.run(_run(base, users=users, sessions=sessions, seconds=seconds))
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        result.update(customers=customers, sessions=sessions, seconds=seconds, workers=workers)
        _report(result)
        if result["load"]["errors"]:
            print("server log (last 40 lines):")
            print("\n".join((home / "serve.log").read_text(errors="replace").splitlines()[-40:]))


# -- setup -----------------------------------------------------------------------------------------

def _build(home: Path, *, customers: int) -> list[tuple[str, str]]:
    """A demo CRM with the analytics snapshot; returns (email, role) of every staff user."""
    from sqlmodel import Session, select

    from storage.db import engine_for
    from storage.demo import generate
    from storage.models import StaffUser
    from storage.passwords import hash_password
    from tools.refresh import refresh_features

    url = f"sqlite:///{home / 'crm.sqlite3'}"
    t0 = time.perf_counter()
    generate(customers=customers, seed=42, today=TODAY, url=url)
    t1 = time.perf_counter()
    refresh_features(url=url, now=datetime.combine(TODAY, dtime(23, 59, 59)))
    print(f"demo: {customers:,} customers generated in {t1 - t0:.1f} s, refreshed in {time.perf_counter() - t1:.1f} s",
          flush=True)
    stored = hash_password(PASSWORD)
    with Session(engine_for(url)) as session:
        staff = session.exec(select(StaffUser).order_by(StaffUser.id)).all()
        for user in staff:
            user.password_hash = stored
            session.add(user)
        session.commit()
        users = [(u.email, u.role) for u in staff]
    engine_for(url).dispose()
    return users


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(home: Path, *, port: int, workers: int):
    env = {**os.environ, "CRM_HOME": str(home), "CRM_WEB_SECRET": secrets.token_hex(32), "CRM_MODEL": "offline",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg"}
    env.pop("CRM_DATABASE_URL", None)
    crm = Path(sys.executable).with_name("crm")
    log = open(home / "serve.log", "w")  # noqa: SIM115 - closed by the caller after the server stops
    cmd = [str(crm), "serve", "--port", str(port), "--now", TODAY.isoformat(), "--workers", str(workers)]
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"crm serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("crm serve did not come up")


# -- the run -------------------------------------------------------------------------------------

async def _login(client: httpx.AsyncClient, email: str) -> None:
    r = await client.post("/api/login", json={"email": email, "password": PASSWORD})
    r.raise_for_status()


async def _ask(client: httpx.AsyncClient, question: str, thread: str | None, *, stream: bool) -> tuple[str | None, str | None]:
    """(thread id, error or None)."""
    body = {"question": question, "thread_id": thread}
    if not stream:
        r = await client.post("/api/ask", json=body)
        if r.status_code != 200:
            return thread, f"HTTP {r.status_code}: {r.text[:120]}"
        reply = r.json()
        return reply["thread_id"], (f"reply error: {reply['error']}" if reply.get("error") else None)
    reply, error = None, None
    async with client.stream("POST", "/api/ask/stream", json=body) as r:
        if r.status_code != 200:
            return thread, f"HTTP {r.status_code}"
        event = None
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("reply", "error"):
                data = json.loads(line[6:])
                reply, error = (data, None) if event == "reply" else (None, f"stream error: {data}")
    if reply is None:
        return thread, error or "stream ended without a reply"
    return reply["thread_id"], (f"reply error: {reply['error']}" if reply.get("error") else None)


async def _session(base: str, email: str, role: str, *, stop: float, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    questions = QUESTIONS.get(role, QUESTIONS["rep"])
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        await _login(client, email)
        thread, asked = None, 0
        while time.perf_counter() < stop:
            if asked % NEW_THREAD_EVERY == 0:
                thread = None
            question = rng.choice(questions)
            started = time.perf_counter()
            try:
                thread, error = await _ask(client, question, thread, stream=asked % 3 == 2)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            if error:
                stats.errors.append(error)
            else:
                stats.latencies.append(elapsed)
            asked += 1


async def _probe(base: str, email: str, *, stop: float, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await _login(client, email)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                r = await client.get("/api/me")
                if r.status_code == 200:
                    stats.latencies.append((time.perf_counter() - started) * 1000)
                else:
                    stats.errors.append(f"HTTP {r.status_code}")
            except httpx.HTTPError as exc:
                stats.errors.append(str(exc))
            await asyncio.sleep(0.5)


async def _run(base: str, *, users: list[tuple[str, str]], sessions: int, seconds: float) -> dict:
    admin = next(email for email, role in users if role == "admin")
    # Warm: the first answer in a fresh process imports the analytics stack.
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        await _login(client, admin)
        t0 = time.perf_counter()
        await _ask(client, "monthly revenue this year", None, stream=False)
        first_ms = (time.perf_counter() - t0) * 1000
        idle = Stats()
        for question in [q for qs in QUESTIONS.values() for q in qs if not q.startswith("and ")]:
            t = time.perf_counter()
            _, error = await _ask(client, question, None, stream=False)
            (idle.errors.append(error) if error else idle.latencies.append((time.perf_counter() - t) * 1000))
    print(f"idle single session: {idle.summary()}", flush=True)

    load, probe = Stats(), Stats()
    started = time.perf_counter()
    stop = started + seconds
    chosen = [users[i % len(users)] for i in range(sessions)]
    print(f"load: {sessions} sessions for {seconds:.0f} s …", flush=True)
    await asyncio.gather(
        *(_session(base, email, role, stop=stop, stats=load, seed=i) for i, (email, role) in enumerate(chosen)),
        _probe(base, admin, stop=stop, stats=probe),
    )
    wall = time.perf_counter() - started
    summary = load.summary()
    summary["throughput_per_s"] = round(summary["ok"] / wall, 2)
    summary["wall_s"] = round(wall, 1)
    kinds: dict[str, int] = {}
    for e in load.errors:
        kinds[e[:80]] = kinds.get(e[:80], 0) + 1
    return {"first_answer_ms": round(first_ms, 1), "idle_ask": idle.summary(), "load": summary,
            "me_during_load": probe.summary(), "error_kinds": kinds}


def _report(r: dict) -> None:
    load, idle, me = r["load"], r["idle_ask"], r["me_during_load"]
    print(f"\nweb load: {r['sessions']} sessions x {r['seconds']:.0f} s, {r['customers']:,} customers, "
          f"{r['workers']} worker(s), offline model")
    print(f"  questions answered    {load['ok']:>8}   errors {load['errors']} (target 0)")
    print(f"  throughput            {load['throughput_per_s']:>8} answers/s")
    print(f"  ask latency p50/p95   {load['p50_ms']:>8} / {load['p95_ms']} ms   (max {load['max_ms']} ms)")
    print(f"  baseline: idle ask    {idle['p50_ms']:>8} / {idle['p95_ms']} ms p50/p95, one session, no load")
    print(f"  baseline: GET /api/me {me['p50_ms']:>8} / {me['p95_ms']} ms p50/p95 during the load")
    if idle["p50_ms"] and load["p50_ms"]:
        print(f"  ratio: loaded p50 / idle p50 = {load['p50_ms'] / idle['p50_ms']:.1f}x")
    print(f"  first answer after start: {r['first_answer_ms']:.0f} ms")
    if r["error_kinds"]:
        print(f"  error kinds: {r['error_kinds']}")
    out = Path("bench_results")
    out.mkdir(exist_ok=True)
    (out / "web_load.json").write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
