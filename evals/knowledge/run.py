"""`python -m evals.knowledge.run`: build the pinned demo, index it, score the labelled queries.

    python -m evals.knowledge.run                        # hybrid search with the configured embedding
    python -m evals.knowledge.run --variant minilm-torch # another encoder
    python -m evals.knowledge.run --home /tmp/kdemo      # keep (and reuse) the demo there
    python -m evals.knowledge.run --backend chroma       # every leg inside Chroma (the fallback path)
    python -m evals.knowledge.run --queries evals/knowledge/queries_fresh.jsonl  # 16 queries never tuned on

Exits 1 when recall@5 is below the threshold (0.9).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from evals.knowledge.scorer import LabelledQuery, Scores, load_plan, load_queries, score

THRESHOLD_RECALL_AT_5 = 0.9


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set CRM_* variables for a block, resetting every cached setting and client around it."""
    from knowledge.settings import get_settings as knowledge_settings
    from knowledge.store import forget_clients
    from storage.settings import get_settings as storage_settings

    saved = {k: os.environ.get(k) for k in values}

    def apply(pairs: dict[str, str | None]) -> None:
        for key, value in pairs.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        storage_settings.cache_clear()
        knowledge_settings.cache_clear()
        forget_clients()

    apply(values)
    try:
        yield
    finally:
        apply(saved)


def prepare_demo(home: Path) -> str:
    """The pinned demo in ``home`` (generated once; reused when already there)."""
    from storage.demo import generate

    plan = load_plan()
    url = f"sqlite:///{(home / 'crm.sqlite3').resolve()}"
    marker = home / "demo-plan.txt"
    wanted = repr(sorted((k, v) for k, v in plan.items() if not k.startswith("_")))
    if marker.exists() and marker.read_text() == wanted:
        return url
    home.mkdir(parents=True, exist_ok=True)
    generate(customers=plan["customers"], seed=plan["seed"], today=date.fromisoformat(plan["today"]),
             locale=plan["locale"], url=url, reset=True)
    marker.write_text(wanted)
    return url


def hybrid_search_fn(*, use_vector: bool = True, use_keywords: bool = True, backend: str = "auto"):
    from knowledge.retrieval import search
    from storage.scope import Scope

    def run(query: LabelledQuery, filters, depth: int) -> list[int]:
        hits = search(query.query, scope=Scope.everything(), filters=filters, limit=depth,
                      use_vector=use_vector, use_keywords=use_keywords, backend=backend)
        return [h.interaction_id for h in hits]

    return run


def index_and_score(url: str, *, home: Path, variant: str, use_vector: bool = True, use_keywords: bool = True,
                    reindex: bool = False, backend: str = "auto",
                    queries: list[LabelledQuery] | None = None) -> tuple[Scores, float | None]:
    """Index the demo with ``variant`` (its own Chroma directory) and score; returns scores and index seconds."""
    from knowledge.indexing import sync_index
    from knowledge.store import StoreError
    from storage.db import engine_for

    with environment(CRM_HOME=str(home), CRM_DATABASE_URL=url, CRM_EMBEDDING=variant,
                     CRM_CHROMA_PATH=str(home / f"chroma-{variant}"), CRM_CHROMA_URL=None):
        try:
            report = sync_index(rebuild=reindex)
        except StoreError:
            # The cached index was embedded by another build of this variant (another corpus or recipe).
            report = sync_index(rebuild=True)
        seconds = report.seconds if report.embedded else None
        scores = score(engine_for(url), hybrid_search_fn(use_vector=use_vector, use_keywords=use_keywords,
                                                          backend=backend), queries=queries)
    return scores, seconds


def print_scores(scores: Scores, *, title: str) -> None:
    print(f"{title}: recall@5 {scores.recall(5):.3f}  recall@10 {scores.recall(10):.3f}  MRR {scores.mrr:.3f} "
          f"over {len(scores.queries)} queries")
    for name, n, r5, r10 in scores.table():
        print(f"  {name:<24} n={n:<3} recall@5 {r5:.3f}  recall@10 {r10:.3f}")
    dev, held = scores.split()
    print(f"  dev half (n={len(dev)}) recall@5 {sum(q.recall(5) for q in dev) / len(dev):.3f}; "
          f"held-out half (n={len(held)}) recall@5 {sum(q.recall(5) for q in held) / len(held):.3f}")
    if scores.unlabelled:
        print(f"  WARNING: no relevant interaction for {', '.join(scores.unlabelled)} (demo changed?)")


def main(argv: list[str] | None = None) -> int:
    from knowledge.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m evals.knowledge.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default=None, help="embedding variant (default: CRM_EMBEDDING or the default)")
    parser.add_argument("--home", type=Path, default=None, help="directory for the demo and its indexes")
    parser.add_argument("--misses", action="store_true", help="list queries with recall@5 below 1")
    parser.add_argument("--backend", choices=["auto", "chroma"], default="auto",
                        help="auto: the in-process index (the default path); chroma: every leg inside Chroma")
    parser.add_argument("--queries", type=Path, default=None,
                        help="another labelled set, e.g. evals/knowledge/queries_fresh.jsonl (written after the "
                        "weights and synonyms were fixed, never tuned on)")
    args = parser.parse_args(argv)
    variant = args.variant or get_settings().embedding
    with contextlib.ExitStack() as stack:
        home = args.home or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crm-keval-")))
        url = prepare_demo(home)
        queries = load_queries(args.queries) if args.queries else None
        scores, _ = index_and_score(url, home=home, variant=variant, backend=args.backend, queries=queries)
    print_scores(scores, title=f"hybrid search, {variant}, {args.backend}")
    if args.misses:
        for q in scores.queries:
            if q.recall(5) < 1:
                print(f"  miss {q.id} [{q.lang}] {q.query!r}: relevant={q.relevant} ranks={q.ranks}")
    ok = scores.recall(5) >= THRESHOLD_RECALL_AT_5 and not scores.unlabelled
    print(f"threshold recall@5 >= {THRESHOLD_RECALL_AT_5}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
