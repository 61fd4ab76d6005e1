"""Query latency at scale: a synthetic chunk collection of 100k (default) or 1M chunks.

The collection is built from the pinned demo's chunk texts: each synthetic chunk
reuses a demo text and its cached embedding plus small Gaussian noise (so no two
vectors coincide and HNSW sees a realistic spread), with random customer, owner,
channel, kind and time metadata. Built once into a cache directory (its build time
is recorded beside it) and reused by later runs.

Measured per filter (one customer; a rep's scope; a rep's scope plus one month):

- the Chroma vector query alone (query vector given), against the baseline of an
  exact numpy scan over the same vectors under the same filter;
- the whole retrieval (encode + filtered vector leg + keyword leg + fusion), without
  the SQL hydration step (synthetic ids have no rows; hydration is a primary-key read).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

CHANNELS = ["phone", "email", "chat", "social", "visit", "store"]
KINDS = ["call", "email", "ticket", "complaint", "visit", "social_comment", "note"]
OWNERS = 200
SPAN_SECONDS = 900 * 86_400
END = 1_794_700_800  # 2026-11-15, the pinned demo's today
BATCH = 5_000
NOISE = 0.015
FULL_QUERIES = 50


def bench_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "crm-assistant" / "bench"


def _progress(total: int, label: str):
    """A rich bar on a terminal; a line per 10% otherwise (logs of background runs)."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        task = bar.add_task(label, total=total)
        return bar, lambda done: bar.update(task, completed=done)

    class _Plain:
        def __enter__(self):
            self.started, self.mark = time.perf_counter(), 0
            return self

        def __exit__(self, *exc):
            return False

    plain = _Plain()

    def update(done: int) -> None:
        if done * 10 // total > plain.mark or done == total:
            plain.mark = done * 10 // total
            rate = done / max(time.perf_counter() - plain.started, 1e-9)
            print(f"  {label}: {done:,}/{total:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    return plain, update


def _metadata(rng: np.random.Generator, start: int, count: int, customers: int) -> tuple[list[dict], np.ndarray]:
    cust = rng.integers(1, customers + 1, count)
    owner = np.where(cust % 10 == 0, 0, cust % OWNERS + 1)  # ~10% in the public pool
    when = END - rng.integers(0, SPAN_SECONDS, count)
    # Only the keys that filters and fusion read: every metadata key is a row in Chroma's SQLite.
    metas = [
        {"interaction_id": start + i, "customer_id": int(cust[i]), "owner_id": int(owner[i]),
         "channel": CHANNELS[int(cust[i]) % 6], "kind": KINDS[int(when[i]) % 7], "occurred_at": int(when[i])}
        for i in range(count)
    ]
    return metas, np.stack([cust, owner, when], axis=1)


def build(client, name: str, *, size: int, texts: list[str], vectors: np.ndarray, docs: list[str]) -> tuple[object, np.ndarray, np.ndarray, float]:
    """The synthetic collection (reused when complete); its vectors, metadata columns and build seconds."""
    root = bench_dir() / name
    arrays = root / "arrays.npz"
    info_path = root / "build.json"
    try:
        collection = client.get_collection(name)
        if collection.count() == size and arrays.exists() and info_path.exists():
            data = np.load(arrays)
            return collection, data["vectors"], data["meta"], json.loads(info_path.read_text())["seconds"]
        client.delete_collection(name)
    except Exception:  # noqa: BLE001 - not there yet (the error type differs by Chroma version)
        pass
    collection = client.create_collection(name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    rng = np.random.default_rng(7)
    customers = max(size // 5, 100)
    all_vectors = np.zeros((size, vectors.shape[1]), dtype=np.float32)
    all_meta = np.zeros((size, 3), dtype=np.int64)
    started = time.perf_counter()
    bar, update = _progress(size, f"building {size:,}-chunk collection")
    with bar:
        for start in range(0, size, BATCH):
            count = min(BATCH, size - start)
            pick = rng.integers(0, len(texts), count)
            noisy = vectors[pick] + rng.normal(0, NOISE, (count, vectors.shape[1])).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            metas, columns = _metadata(rng, start, count, customers)
            collection.add(ids=[f"b{start + i}" for i in range(count)], embeddings=noisy,
                           documents=[docs[j] for j in pick], metadatas=metas)
            all_vectors[start : start + count] = noisy
            all_meta[start : start + count] = columns
            update(start + count)
    seconds = time.perf_counter() - started
    root.mkdir(parents=True, exist_ok=True)
    np.savez(arrays, vectors=all_vectors, meta=all_meta)
    info_path.write_text(json.dumps({"size": size, "seconds": seconds}))
    return collection, all_vectors, all_meta, seconds


def _percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def measure(collection, vectors: np.ndarray, meta: np.ndarray, queries: list[str], *, variant: str) -> list[tuple]:
    """Rows of (filter, chroma p50, p95, numpy-scan p50, p95, full retrieval p50, p95) in ms."""
    from knowledge.embeddings import embed
    from knowledge.retrieval import rank_chunks

    rng = np.random.default_rng(11)
    qvecs = embed(queries, variant=variant)
    month = 31 * 86_400
    rows = []
    for label in ("customer", "rep scope", "rep scope + month"):
        chroma, scan, full = [], [], []
        for i, query in enumerate(queries):
            cust = int(meta[rng.integers(0, len(meta)), 0])
            rep = int(rng.integers(1, OWNERS + 1))
            since = int(END - rng.integers(month, SPAN_SECONDS))
            if label == "customer":
                where = {"customer_id": cust}
                mask = meta[:, 0] == cust
            elif label == "rep scope":
                where = {"owner_id": {"$in": [rep, 0]}}
                mask = (meta[:, 1] == rep) | (meta[:, 1] == 0)
            else:
                where = {"$and": [{"owner_id": {"$in": [rep, 0]}}, {"occurred_at": {"$gte": since}},
                                  {"occurred_at": {"$lt": since + month}}]}
                mask = ((meta[:, 1] == rep) | (meta[:, 1] == 0)) & (meta[:, 2] >= since) & (meta[:, 2] < since + month)
            t = time.perf_counter()
            collection.query(query_embeddings=qvecs[i : i + 1], n_results=10, where=where, include=["metadatas"])
            chroma.append(time.perf_counter() - t)
            t = time.perf_counter()
            idx = np.flatnonzero(mask)
            sims = vectors[idx] @ qvecs[i]
            idx[np.argsort(-sims)[:10]]
            scan.append(time.perf_counter() - t)
            if i < FULL_QUERIES:  # the whole pipeline is slower; a sample keeps the bench short
                t = time.perf_counter()
                rank_chunks(query, where=where, limit=10, collection=collection)
                full.append(time.perf_counter() - t)
        rows.append((label, *_percentiles(chroma), *_percentiles(scan), *_percentiles(full)))
    return rows


def run(*, size: int, texts: list[str], variant: str, queries: list[str]) -> None:
    import chromadb
    from chromadb.config import Settings

    from knowledge.embeddings import embed
    from knowledge.keywords import search_text

    vectors = embed(texts, variant=variant)
    docs = [search_text(t) for t in texts]
    name = f"bench-{size // 1000}k-{variant}"
    client = chromadb.PersistentClient(path=str(bench_dir() / name / "chroma"), settings=Settings(anonymized_telemetry=False))
    collection, all_vectors, meta, seconds = build(client, name, size=size, texts=texts, vectors=vectors, docs=docs)
    print(f"collection: {size:,} synthetic chunks ({len(set(texts)):,} demo texts, cached {variant} vectors + noise), "
          f"built in {seconds:,.0f} s ({size / seconds:,.0f} chunks/s) at {bench_dir() / name}")
    rows = measure(collection, all_vectors, meta, queries, variant=variant)
    print(f"query latency over {len(queries)} queries, ms (p50 / p95):")
    print(f"  {'filter':<20} {'chroma vector':>16} {'numpy exact scan':>18} {'full hybrid':>16}")
    for label, c50, c95, s50, s95, f50, f95 in rows:
        print(f"  {label:<20} {c50:7.1f} / {c95:6.1f} {s50:9.1f} / {s95:6.1f} {f50:7.1f} / {f95:6.1f}")
    worst = max(r[2] for r in rows)
    print(f"  target p95 < 20 ms (chroma vector query with a filter): {'PASS' if worst < 20 else 'FAIL'} "
          f"(worst p95 {worst:.1f} ms)")
