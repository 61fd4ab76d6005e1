"""Against a real Chroma server (`chroma run` on loopback), selected by CRM_CHROMA_URL."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from knowledge.erase import erase_customer
from knowledge.indexing import sync_index, update_owner
from knowledge.retrieval import search
from knowledge.settings import get_settings
from knowledge.store import forget_clients, get_collection
from storage.scope import Scope


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chroma_executable() -> str:
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        pytest.fail("the chroma CLI is not installed (it ships with chromadb)")
    return found


@pytest.fixture
def chroma_server(tmp_path, monkeypatch):
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [_chroma_executable(), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {(tmp_path / 'chroma.log').read_text()[-2000:]}")
            time.sleep(0.2)
        monkeypatch.setenv("CRM_CHROMA_URL", url)
        get_settings.cache_clear()
        forget_clients()
        yield url
    finally:
        forget_clients()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_index_search_and_erase_through_a_chroma_server(kcrm, chroma_server, crm_home):
    report = sync_index()
    assert report.added == 10
    # Nothing was written to the embedded store: the server holds the index.
    assert not (crm_home / "chroma").exists()
    assert search("SO-2024-00456", scope=Scope.everything(), limit=1)[0].external_id == "INT-c1"
    assert search("did she complain about delivery?", scope=Scope.everything(), limit=1)[0].external_id == "INT-a1"
    rep_a = Scope(owner_ids=frozenset({kcrm.staff["rep_a"]}), include_pool=True)
    assert all(h.external_id != "INT-b1" for h in search("purple elephant", scope=rep_a, limit=20))
    assert update_owner(kcrm.customers["bob"], kcrm.staff["rep_a"]) == 2
    metas = get_collection().get(where={"customer_id": kcrm.customers["bob"]}, include=["metadatas"])["metadatas"]
    assert {m["owner_id"] for m in metas} == {kcrm.staff["rep_a"]}
    assert sync_index().embedded == 0
    assert erase_customer(kcrm.customers["chen"]) == 3
    assert all(h.customer_id != kcrm.customers["chen"] for h in search("退款", scope=Scope.everything(), limit=20))


def test_server_collection_keeps_a_portable_embedding_config(kcrm, chroma_server):
    sync_index()
    forget_clients()  # a new client, as another process would open it
    saved = get_collection().configuration_json
    function = saved["embedding_function"]
    assert function["name"] == "crm-minilm"
    assert "/" not in str(function["config"]) and "site-packages" not in str(saved)
    # Text queries use the saved function, rebuilt from its name and config.
    import chromadb

    from knowledge.store import get_client

    raw = get_client().get_collection(get_settings().chroma_collection)
    assert raw.query(query_texts=["refund for a broken keyboard"], n_results=1)["ids"][0]
    assert isinstance(raw, chromadb.api.models.Collection.Collection)
