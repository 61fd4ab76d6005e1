"""Benchmark: interaction search. Every figure is printed beside a baseline from the same run.

1. Embedding speed, docs/s, on the pinned demo's distinct chunk texts: each encoder
   built from the bundled MiniLM against plain MiniLM (sentence-transformers on torch).
2. Recall on the labelled queries (evals/knowledge): each encoder indexes the demo and
   is scored with vector search alone and with hybrid search; the loss is in points of
   recall@10 against plain MiniLM. Together with (1) this is the speed/quality curve.
3. End-to-end `crm index` throughput of the configured encoder on the whole demo.
4. Filtered query latency at 100k chunks, and at 1M when that cached collection exists
   (``CRM_BENCH_1M=1`` builds it): the in-process index beside Chroma in the same run,
   see ``evals.bench.knowledge_scale`` and ``evals.bench.knowledge_latency``.

Environment: CRM_BENCH_VARIANTS (comma list; default all five), CRM_BENCH_1M=1,
CRM_BENCH_SPEED_DOCS (texts for the speed test, default 2000).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

VARIANTS = ("minilm-torch", "minilm-onnx", "minilm-onnx-int8", "minilm-static", "minilm-static-fit")
REFERENCE = "minilm-torch"


def demo_chunk_texts(url: str) -> list[str]:
    """The demo's chunk texts, as ``crm index`` embeds them."""
    from sqlmodel import Session

    from knowledge.documents import build_chunks
    from knowledge.indexing import iter_documents
    from knowledge.settings import get_settings
    from storage.db import engine_for

    with Session(engine_for(url)) as session:
        docs = list(iter_documents(session))
    return [c.embed_text for d in docs for c in build_chunks(d, max_tokens=get_settings().chunk_tokens)]


def embedding_speed(texts: list[str], variants: list[str], *, rounds: int = 4) -> dict[str, float]:
    """docs/s per encoder. The encoders take turns on slices of the texts, so a change in
    machine load (it is shared) hits all of them alike instead of whichever ran last."""
    from knowledge.encoders import get_encoder

    encoders = {v: get_encoder(v) for v in variants}  # built and loaded before any clock starts
    for encoder in encoders.values():
        encoder.encode(texts[:64])
    spent = dict.fromkeys(variants, 0.0)
    step = max(1, len(texts) // rounds)
    for start in range(0, len(texts), step):
        part = texts[start : start + step]
        for variant, encoder in encoders.items():
            started = time.perf_counter()
            encoder.encode(part)
            spent[variant] += time.perf_counter() - started
    return {v: len(texts) / spent[v] for v in variants}


def prepare_encoders(variants: list[str]) -> None:
    """Build each encoder now: a first-use build (minutes for minilm-static-fit) must not land inside a timed section."""
    from knowledge.encoders import prepare_encoder

    for variant in variants:
        began = time.perf_counter()
        prepare_encoder(variant)
        if time.perf_counter() - began > 5:
            print(f"built {variant} in {time.perf_counter() - began:.0f} s (first use on this machine)")


def banking77_accuracy(variants: list[str]) -> dict[str, float] | None:
    """1-nearest-neighbour intent accuracy, Banking77 test against train: an outside check of each encoder."""
    import csv

    import numpy as np

    from knowledge.encoders import get_encoder

    root = os.environ.get("CRM_DATASETS")
    if not root or not (Path(root) / "banking77" / "test.csv").exists():
        return None

    def read(name: str) -> tuple[list[str], list[str]]:
        with (Path(root) / "banking77" / name).open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        return [r["text"] for r in rows], [r["category"] for r in rows]

    train_x, train_y = read("train.csv")
    test_x, test_y = read("test.csv")
    out = {}
    for variant in variants:
        encoder = get_encoder(variant)
        train, test = encoder.encode(train_x), encoder.encode(test_x)
        nearest = np.argmax(test @ train.T, axis=1)
        out[variant] = float(np.mean([train_y[i] == y for i, y in zip(nearest, test_y, strict=True)]))
    return out


def main() -> None:
    from evals.bench.knowledge_scale import bench_dir
    from evals.bench.knowledge_scale import cached as cached_scale
    from evals.bench.knowledge_scale import run as run_scale
    from evals.knowledge.run import environment, index_and_score, prepare_demo
    from evals.knowledge.scorer import load_queries
    from knowledge.settings import get_settings

    chosen = get_settings().embedding
    variants = [v.strip() for v in os.environ.get("CRM_BENCH_VARIANTS", ",".join(VARIANTS)).split(",") if v.strip()]
    if REFERENCE not in variants:
        variants.insert(0, REFERENCE)
    if chosen not in variants:
        variants.append(chosen)
    prepare_encoders(variants)
    home = bench_dir() / "knowledge-demo"
    url = prepare_demo(home)
    texts = demo_chunk_texts(url)
    distinct = list(dict.fromkeys(texts))
    sample = distinct[: int(os.environ.get("CRM_BENCH_SPEED_DOCS", "2000"))]
    print(f"demo: {len(texts):,} chunks, {len(distinct):,} distinct texts; speed sample {len(sample):,} distinct texts "
          f"on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")

    rates = embedding_speed(sample, variants)
    results = {}
    for variant in variants:
        hybrid, seconds = index_and_score(url, home=home, variant=variant)
        vector, _ = index_and_score(url, home=home, variant=variant, use_keywords=False)
        results[variant] = (hybrid, vector)
    ref_hybrid, ref_vector = results[REFERENCE]
    print("\nencoder              docs/s   x torch   vector R@10 (loss)   hybrid R@10 (loss)   hybrid R@5")
    for variant in variants:
        hybrid, vector = results[variant]
        v_loss = (ref_vector.recall(10) - vector.recall(10)) * 100
        h_loss = (ref_hybrid.recall(10) - hybrid.recall(10)) * 100
        mark = "  <- configured" if variant == chosen else ""
        print(f"{variant:<18} {rates[variant]:8,.0f} {rates[variant] / rates[REFERENCE]:8.1f}x "
              f"{vector.recall(10):10.3f} ({v_loss:+5.1f})   {hybrid.recall(10):10.3f} ({h_loss:+5.1f})   "
              f"{hybrid.recall(5):8.3f}{mark}")
    print("(loss = points of recall@10 below plain MiniLM; negative = better than plain MiniLM)")

    accuracy = banking77_accuracy(variants)
    if accuracy:
        print("\nBanking77 1-NN intent accuracy (test 3,080 vs train 10,003): " + ", ".join(
            f"{v} {a:.3f}" for v, a in accuracy.items()))

    with environment(CRM_HOME=str(home), CRM_DATABASE_URL=url, CRM_EMBEDDING=chosen,
                     CRM_CHROMA_PATH=str(home / "chroma-index-bench"), CRM_CHROMA_URL=None):
        from knowledge.indexing import sync_index

        report = sync_index(rebuild=True)
    print(f"\ncrm index ({chosen}) end to end: {report.checked:,} interactions, {report.chunks_written:,} chunks "
          f"in {report.seconds:.1f} s = {report.chunks_written / report.seconds:,.0f} chunks/s "
          f"(plain MiniLM embedding alone: {rates[REFERENCE]:,.0f} docs/s)")

    queries = [q.query for q in load_queries()] * 3
    sizes = [100_000]
    if os.environ.get("CRM_BENCH_1M") == "1" or cached_scale(1_000_000, chosen):
        sizes.append(1_000_000)
    with environment(CRM_EMBEDDING=chosen):
        for size in sizes:
            print()
            run_scale(size=size, texts=distinct, variant=chosen, queries=queries[:200])
    if 1_000_000 not in sizes:
        print(f"\n1M chunks: skipped (no cached collection under {bench_dir()}; CRM_BENCH_1M=1 builds it, ~36 min)")


def _cli() -> None:  # pragma: no cover - `python -m evals.bench.knowledge_bench`
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()


if __name__ == "__main__":
    _cli()
