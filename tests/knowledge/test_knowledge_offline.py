"""Indexing and querying open no network connection.

A fresh interpreter installs an audit hook before anything else is imported, then
loads the model, indexes, searches and runs the tool. Every attempt to resolve a
host or connect a socket (other than a Unix socket) is recorded and refused, so a
hub download, a telemetry ping or an HTTP call would fail the test even if the
caller swallowed the error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, socket, sys
    attempts = []

    def hook(event, args):
        if event == "socket.connect":
            sock, address = args[0], args[1]
            if sock.family == socket.AF_UNIX:
                return
            attempts.append([event, repr(address)])
            raise OSError("network disabled by test")
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.sendto"):
            attempts.append([event, repr(args[:2])])
            raise OSError("network disabled by test")

    sys.addaudithook(hook)

    from knowledge.indexing import index_interactions, sync_index
    from knowledge.retrieval import search
    from storage.scope import Scope
    from tools.context import ToolContext
    from tools.interaction_history import InteractionHistoryParams, interaction_history

    report = sync_index()
    hits = search("did she complain about delivery?", scope=Scope.everything(), limit=3)
    zh = search("退款", scope=Scope.everything(), limit=3)
    index_interactions([1])
    tool = interaction_history(InteractionHistoryParams(query="refund"), ctx=ToolContext.system())
    real_attempts = list(attempts)
    # The hook must be able to fail: a planted connection is caught.
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    except OSError:
        pass
    print(json.dumps({
        "added": report.added,
        "hits": [h.external_id for h in hits],
        "zh": [h.external_id for h in zh],
        "tool": len(tool.hits),
        "attempts": real_attempts,
        "planted": len(attempts) - len(real_attempts),
    }))
    """
)


def test_index_and_query_make_no_network_connection(kcrm, crm_home, tmp_path):
    script = tmp_path / "offline_probe.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"))}
    env.update(CRM_HOME=str(crm_home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    env.pop("HF_HUB_OFFLINE", None)  # knowledge must set it itself
    env.pop("TRANSFORMERS_OFFLINE", None)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["attempts"] == []
    assert out["planted"] >= 1
    assert out["added"] == 10
    assert out["hits"][0] == "INT-a1"
    assert out["zh"][0] == "INT-c2"
    assert out["tool"] > 0
