"""`python -m evals.knowledge.corpus_curve`: minilm-static-fit quality against the size of its fit corpus.

For each corpus size a table is fitted (teacher outputs cached, evals.knowledge.fit_cache) and
scored on the labelled queries over the pinned demo, beside plain MiniLM (torch) in the same run:
vector and hybrid recall@10 (loss in points), hybrid recall@5 overall, dev and held-out halves,
the fresh queries, and Banking77 1-NN accuracy.

Two corpora per size. "all": the build as shipped. "no overlap": every corpus text that shares
a quoted message with the evaluated demo is removed first (the demo quotes Banking77 and the
Chinese reviews, which the corpus also holds), so the model has never seen an evaluated text:
the honest figure for a CRM's own notes.

    python -m evals.knowledge.corpus_curve --sizes 8000,12000,0   # 0 = the whole corpus
    python -m evals.knowledge.corpus_curve --weights 0.1,0.2,0.3  # also sweep the Chinese vector weight per build

Needs CRM_DATASETS (the corpus, the labels and Banking77).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from evals.knowledge.fit_cache import cache_dir, teacher_for
from evals.knowledge.run import environment, hybrid_search_fn, prepare_demo
from evals.knowledge.scorer import HERE, Scores, load_queries, score
from knowledge.encoder_corpus import Corpus, build_corpus, subsample

TEMPLATE_PIECE = 20  # interactions
MIN_QUOTE = 12  # characters: a shorter piece must match a whole demo piece, not just appear inside one
_CARD = re.compile(r"\b(?:virtual |physical |new )?cards?\b", re.IGNORECASE)  # storage.demo.texts' rewrite
VARIANT = "minilm-static-fit"
PROBE = 3000  # distinct demo chunk texts: 3,000 neighbour queries are far less noisy than 70 labelled ones


class BuildScores(BaseModel):
    label: str
    texts: int
    fit_seconds: float
    vector_r10: float
    hybrid_r10: float
    hybrid_r5: float
    dev_r5: float
    held_r5: float
    fresh_r5: float
    zh_dev_r5: float
    zh_held_r5: float
    banking77: float | None
    agreement: float  # share of plain MiniLM's 10 nearest neighbours found, over PROBE demo texts


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _pieces(text: str) -> set[str]:
    """Each line of a text, and what follows a frame such as "Order SO-1: " or "投诉订单SO-1：" (the quote)."""
    out = set()
    for line in text.split("\n"):
        line = _norm(line)
        out.add(line)
        for sep in (": ", "："):
            if sep in line:
                out.add(line.split(sep, 1)[1].strip())
    return {p for p in out if p}


def without_overlap(corpus: Corpus, bodies: list[str]) -> Corpus:
    """The corpus minus every text that quotes what the demo quotes.

    A corpus text overlaps when one of its pieces (a line, or the quote after a frame) is a
    quoted piece of a demo interaction or, from MIN_QUOTE characters on, appears inside one. Banking77
    texts are also tried with the demo's rewrite of "card" (to "order", or to a product name).
    """
    seen = Counter(p for b in bodies for p in _pieces(b))
    # A piece in many interactions is the demo's own wording (a subject, a note template), not a quote.
    pieces = {p for p, n in seen.items() if n <= TEMPLATE_PIECE}
    joined = "\x00".join(sorted(pieces))

    def quoted(piece: str) -> bool:
        return piece in pieces or (len(piece) >= MIN_QUOTE and piece in joined)

    def overlaps(text: str, source: str) -> bool:
        if any(quoted(p) for p in _pieces(text)):
            return True
        if source != "banking77" or not _CARD.search(text):
            return False
        if quoted(_norm(_CARD.sub("order", text))):
            return True
        # "my card is broken" became "my <product> is broken": both sides of the product must be there.
        sides = [_norm(side) for side in _CARD.split(text)]
        long_sides = [side for side in sides if len(side) >= MIN_QUOTE // 2]
        return bool(long_sides) and all(side in joined for side in long_sides)

    keep: list[str] = []
    sources = dict.fromkeys(corpus.sources, 0)
    position = 0
    for name, count in corpus.sources.items():
        for text in corpus.texts[position : position + count]:
            if not overlaps(text, name):
                keep.append(text)
                sources[name] += 1
        position += count
    return Corpus(texts=keep, sources=sources)


def demo_bodies(url: str) -> list[str]:
    from sqlmodel import Session, select

    from storage.db import engine_for
    from storage.models import Interaction

    with Session(engine_for(url)) as session:
        return [f"{s or ''}\n{b or ''}" for s, b in session.exec(select(Interaction.subject, Interaction.body))]


def _score(url: str, home: Path, chroma: str, variant: str, *, rebuild: bool) -> tuple[Scores, Scores, Scores]:
    """(hybrid, vector-only, fresh hybrid) after indexing the demo with ``variant`` into ``home/chroma``."""
    from knowledge.indexing import sync_index
    from storage.db import engine_for

    with environment(CRM_HOME=str(home), CRM_DATABASE_URL=url, CRM_EMBEDDING=variant,
                     CRM_CHROMA_PATH=str(home / chroma), CRM_CHROMA_URL=None):
        sync_index(rebuild=rebuild)
        engine = engine_for(url)
        hybrid = score(engine, hybrid_search_fn())
        vector = score(engine, hybrid_search_fn(use_keywords=False))
        fresh = score(engine, hybrid_search_fn(), queries=load_queries(HERE / "queries_fresh.jsonl"))
    return hybrid, vector, fresh


def _halves(scores: Scores, lang: str | None = None) -> tuple[float, float]:
    dev, held = scores.split()
    dev = [q for q in dev if lang in (None, q.lang)]
    held = [q for q in held if lang in (None, q.lang)]
    return sum(q.recall(5) for q in dev) / len(dev), sum(q.recall(5) for q in held) / len(held)


def summarise(label: str, texts: int, seconds: float, runs: tuple[Scores, Scores, Scores],
              banking: float | None, agreement: float) -> BuildScores:
    hybrid, vector, fresh = runs
    dev, held = _halves(hybrid)
    zh_dev, zh_held = _halves(hybrid, "zh")
    return BuildScores(label=label, texts=texts, fit_seconds=seconds, vector_r10=vector.recall(10),
                       hybrid_r10=hybrid.recall(10), hybrid_r5=hybrid.recall(5), dev_r5=dev, held_r5=held,
                       fresh_r5=fresh.recall(5), zh_dev_r5=zh_dev, zh_held_r5=zh_held, banking77=banking,
                       agreement=agreement)


def probe(url: str) -> tuple[list[str], np.ndarray]:
    """PROBE distinct chunk texts of the demo and their plain MiniLM (torch) embeddings (cached)."""
    import hashlib

    from evals.bench.knowledge_bench import demo_chunk_texts
    from knowledge.encoders import get_encoder

    texts = list(dict.fromkeys(demo_chunk_texts(url)))
    texts = [texts[i] for i in np.random.default_rng(0).permutation(len(texts))[:PROBE]]
    path = cache_dir() / f"probe-torch-{hashlib.sha256(chr(0).join(texts).encode()).hexdigest()[:12]}.npy"
    if not path.exists():
        np.save(path, get_encoder("minilm-torch").encode(texts))
    return texts, np.load(path)


def fit_and_score(corpus: Corpus, *, label: str, url: str, home: Path, teacher,
                  weights: list[float] | None = None) -> BuildScores:
    """Fit a table to ``corpus`` into a scratch model cache and score it (the encoder loads it from there);
    ``weights``: also sweep the Chinese vector weight on this build."""
    from evals.bench.knowledge_bench import banking77_accuracy
    from knowledge import encoder_fit, model_build
    from knowledge.encoder_fit import neighbour_agreement
    from knowledge.encoders import get_encoder

    models = home / "models" / label.replace(" ", "-")
    shutil.rmtree(models, ignore_errors=True)
    with environment(CRM_MODEL_CACHE=str(models)):
        started = time.perf_counter()
        encoder_fit.build(model_build.static_fit_path(), teacher=teacher, corpus=corpus)
        seconds = time.perf_counter() - started
        runs = _score(url, home, "chroma-curve", VARIANT, rebuild=True)
        banking = (banking77_accuracy([VARIANT]) or {}).get(VARIANT)
        texts, reference = probe(url)
        agreement = neighbour_agreement(get_encoder(VARIANT).encode(texts), reference, queries=PROBE)
        if weights:
            weight_sweep(url, home, weights, label=label)
    return summarise(label, len(corpus.texts), seconds, runs, banking, agreement)


def print_table(reference: tuple[float, float], rows: list[BuildScores]) -> None:
    ref_vector, ref_hybrid = reference
    print(f"\nplain MiniLM (torch): vector R@10 {ref_vector:.3f}, hybrid R@10 {ref_hybrid:.3f}")
    print(f"{'corpus':<22} {'texts':>6} {'fit s':>6}  vec R@10 (loss)  hyb R@10 (loss)  R@5   dev   held  "
          "fresh  zh dev/held   B77 1-NN  10-NN")
    for r in rows:
        print(f"{r.label:<22} {r.texts:6,} {r.fit_seconds:6.0f}  {r.vector_r10:.3f} ({(ref_vector - r.vector_r10) * 100:+5.1f})"
              f"   {r.hybrid_r10:.3f} ({(ref_hybrid - r.hybrid_r10) * 100:+5.1f})  {r.hybrid_r5:.3f} {r.dev_r5:.3f} "
              f"{r.held_r5:.3f} {r.fresh_r5:.3f}  {r.zh_dev_r5:.3f}/{r.zh_held_r5:.3f}  "
              + (f"{r.banking77:.3f}" if r.banking77 is not None else "  -  ") + f"   {r.agreement:.3f}")
    print("(loss = points of recall@10 below plain MiniLM; negative = better. 10-NN: share of plain MiniLM's "
          f"10 nearest neighbours the table finds among {PROBE:,} demo texts)")


def weight_sweep(url: str, home: Path, weights: list[float], *, label: str) -> None:
    """Chinese vector weight for the static-fit build indexed in ``home/chroma-curve``: recall@5 per half."""
    from knowledge import fusion
    from storage.db import engine_for

    saved = dict(fusion.VECTOR_WEIGHT_CJK)
    print(f"Chinese vector weight, {label} (hybrid recall@5 of the zh queries; choose on dev, report held-out):")
    try:
        with environment(CRM_HOME=str(home), CRM_DATABASE_URL=url, CRM_EMBEDDING=VARIANT,
                         CRM_CHROMA_PATH=str(home / "chroma-curve"), CRM_CHROMA_URL=None):
            for weight in weights:
                fusion.VECTOR_WEIGHT_CJK[VARIANT] = weight
                scores = score(engine_for(url), hybrid_search_fn())
                fresh = score(engine_for(url), hybrid_search_fn(), queries=load_queries(HERE / "queries_fresh.jsonl"))
                dev, held = _halves(scores, "zh")
                print(f"  {weight:.2f}: zh dev {dev:.3f}  zh held-out {held:.3f}  all {scores.recall(5):.3f}  "
                      f"fresh zh {fresh.recall(5, lang='zh'):.3f}")
    finally:
        fusion.VECTOR_WEIGHT_CJK.clear()
        fusion.VECTOR_WEIGHT_CJK.update(saved)


def main(argv: list[str] | None = None) -> None:
    from knowledge.encoder_fit import neighbour_agreement
    from knowledge.encoders import get_encoder

    parser = argparse.ArgumentParser(prog="python -m evals.knowledge.corpus_curve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="8000,12000,0", help="corpus sizes (0: the whole corpus)")
    parser.add_argument("--no-overlap-only", action="store_true", help="skip the corpora as shipped")
    parser.add_argument("--weights", default="", help="Chinese vector weights to sweep on the last build")
    args = parser.parse_args(argv)
    home = cache_dir() / "home"
    home.mkdir(parents=True, exist_ok=True)
    url = prepare_demo(home)
    full = build_corpus(limit=None)
    teacher = teacher_for(full)
    clean = without_overlap(full, demo_bodies(url))
    print(f"corpus {full.sources} ({len(full.texts):,}); without texts overlapping the demo {clean.sources} "
          f"({len(clean.texts):,})")
    references = {}
    for variant in ("minilm-torch", "minilm-onnx-int8"):  # plain MiniLM, and today's default beside it
        index = home / f"chroma-{variant}"
        cached = home.parent.parent / "knowledge-demo" / f"chroma-{variant}"  # the knowledge bench's
        if not index.exists() and cached.exists():
            shutil.copytree(cached, index)
        references[variant] = _score(url, home, f"chroma-{variant}", variant, rebuild=False)
    texts, reference = probe(url)
    int8_agreement = neighbour_agreement(get_encoder("minilm-onnx-int8").encode(texts), reference, queries=PROBE)
    ref_hybrid, ref_vector, _ = references["minilm-torch"]
    int8 = summarise("minilm-onnx-int8", 0, 0.0, references["minilm-onnx-int8"], None, int8_agreement)
    weights = [float(w) for w in args.weights.split(",") if w.strip()]
    rows = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        limit = size or None
        for label, corpus in (("all", full), ("no overlap", clean)):
            if args.no_overlap_only and label == "all":
                continue
            sample = subsample(corpus, limit=limit)
            rows.append(fit_and_score(sample, label=f"{label} {size or 'full'}", url=url, home=home,
                                      teacher=teacher, weights=weights))
            print(rows[-1].model_dump_json(), flush=True)
    print_table((ref_vector.recall(10), ref_hybrid.recall(10)), [int8, *rows])


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
