"""Query latency at scale: synthetic chunk collections of 100k and 1M chunks.

The collection is built from the pinned demo's chunk texts: each synthetic chunk
reuses a demo text and its cached embedding plus small Gaussian noise (so no two
vectors coincide and HNSW sees a realistic spread), with random customer, owner,
channel, kind and time metadata. Built once into a cache directory (its build time
is recorded beside it) and reused by later runs. 100k is built when missing; 1M
(36 min here) only with ``CRM_BENCH_1M=1``, otherwise it is measured when a cached
one exists and skipped with a note when not.

The in-process index of each collection is built from the collection itself (as the
app builds it on first use) into ``<collection dir>/vindex`` and reused. The
measurements and the table are in ``evals.bench.knowledge_latency``.
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


def cached(size: int, variant: str) -> bool:
    root = bench_dir() / f"bench-{size // 1000}k-{variant}"
    return (root / "arrays.npz").exists() and (root / "build.json").exists()


def open_index(client, collection, root: Path):
    """The collection's in-process index: loaded when built before, else built now (timed, with progress)."""
    from knowledge.index_sync import handle_for

    handle = handle_for(client, collection, root / "vindex")
    info = root / "vindex" / "build.json"
    state = handle.current(build=False)
    if state is not None:
        return state, json.loads(info.read_text())["seconds"] if info.exists() else None, False
    bar, update = _progress(collection.count(), "building in-process index from the collection")
    started = time.perf_counter()
    with bar:
        state = handle.current(progress=lambda done, total: update(done))
    seconds = time.perf_counter() - started
    info.write_text(json.dumps({"rows": state.count, "seconds": seconds}))
    return state, seconds, True


def run(*, size: int, texts: list[str], variant: str, queries: list[str]) -> None:
    import chromadb
    from chromadb.config import Settings

    from evals.bench.knowledge_latency import measure, report
    from knowledge.embeddings import embed
    from knowledge.keywords import search_text

    vectors = embed(texts, variant=variant)
    docs = [search_text(t) for t in texts]
    name = f"bench-{size // 1000}k-{variant}"
    root = bench_dir() / name
    client = chromadb.PersistentClient(path=str(root / "chroma"), settings=Settings(anonymized_telemetry=False))
    collection, all_vectors, meta, seconds = build(client, name, size=size, texts=texts, vectors=vectors, docs=docs)
    print(f"collection: {size:,} synthetic chunks ({len(set(texts)):,} demo texts, cached {variant} vectors + noise), "
          f"built in {seconds:,.0f} s ({size / seconds:,.0f} chunks/s) at {root}")
    state, index_seconds, fresh = open_index(client, collection, root)
    files = sum(p.stat().st_size for p in (root / "vindex").rglob("*") if p.is_file())
    built = "build time not recorded" if index_seconds is None else f"in {index_seconds:,.0f} s"
    print(f"in-process index: {state.count:,} rows in {len(state.segments)} segment(s), {files / 1e9:.2f} GB on disk; "
          f"{'built now' if fresh else 'built earlier'} from the collection ({built})")
    big = size >= 1_000_000
    rows = measure(collection, state, all_vectors, meta, queries,
                   chroma_queries=30 if big else len(queries), full_queries=50,
                   chroma_full_queries=0 if big else 20)
    report(rows, size=size, queries=len(queries), chroma_queries=30 if big else len(queries))
    if big:
        print("  (whole retrieval on Chroma is skipped at 1M: seconds per query, see the vector column)")
