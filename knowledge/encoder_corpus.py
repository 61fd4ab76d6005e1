"""The local corpus the fitted static encoder learns from (nothing is downloaded).

Three sources, each the kind of text the index holds or is asked:

- chunks of a demo CRM generated with its own seed (``CORPUS_SEED``, not the seed of
  the labelled evaluation demo in evals/knowledge), as ``crm index`` would chunk them;
- Banking77 train messages (English customer-service requests; never its test split,
  which the benchmark uses as an outside check);
- a seeded sample of the Chinese reviews (food delivery and online shopping).

The datasets are found as the demo finds them (``CRM_DATASETS``, then ../shared/datasets
beside the repository). Without them the corpus is the demo alone, which then uses the
built-in phrases: a weaker model, built under a different name (see :func:`corpus_key`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from knowledge.chunking import chunk_text

CORPUS_SEED = 20261
DEMO_CUSTOMERS = 1000
DEMO_TODAY = date(2026, 1, 15)
ZH_REVIEWS = 10_000
CHUNK_TOKENS = 120  # what indexing uses by default; fixed here so settings never change the model
_SOURCES = ("banking77/train.csv", "chinese_reviews/waimai_10k.csv", "chinese_reviews/online_shopping_10_cats.zip")


class Corpus(BaseModel):
    texts: list[str]
    sources: dict[str, int]  # texts per source, for the build's record

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for text in self.texts:
            digest.update(text.encode())
            digest.update(b"\x00")
        return digest.hexdigest()[:12]


def datasets_dir() -> Path | None:
    from storage.demo.texts import resolve_datasets_dir

    root = resolve_datasets_dir()
    return root if root and all((root / name).is_file() for name in _SOURCES) else None


def corpus_key() -> str:
    """Names the corpus without reading it: which dataset files (by size) are there, or 'builtin'."""
    global _last_key
    # Asked on every search (the store and the encoder cache check the build): the files are
    # looked at again at most once a second, or at once when CRM_DATASETS changes.
    stamp = (os.environ.get("CRM_DATASETS"), int(time.monotonic()))
    if _last_key and _last_key[0] == stamp:
        return _last_key[1]
    root = datasets_dir()
    if root is None:
        key = "builtin"
    else:
        sizes = ",".join(f"{name}:{(root / name).stat().st_size}" for name in _SOURCES)
        key = hashlib.sha256(f"{CORPUS_SEED}|{DEMO_CUSTOMERS}|{ZH_REVIEWS}|{sizes}".encode()).hexdigest()[:8]
    _last_key = (stamp, key)
    return key


_last_key: tuple[tuple[str | None, int], str] | None = None


def build_corpus(*, limit: int | None = None) -> Corpus:
    """Distinct texts from every source, in a fixed order (same files => same corpus); ``limit``: see :func:`subsample`."""
    root = datasets_dir()
    parts = {"demo": _demo_chunks(root)}
    if root is not None:
        parts["banking77"] = _banking(root)
        parts["chinese_reviews"] = _chinese(root, seed=CORPUS_SEED)
    seen: set[str] = set()
    texts: list[str] = []
    sources: dict[str, int] = {}
    for name, part in parts.items():
        sources[name] = 0
        for text in part:
            if text not in seen:
                seen.add(text)
                texts.append(text)
                sources[name] += 1
    return subsample(Corpus(texts=texts, sources=sources), limit=limit)


def subsample(corpus: Corpus, *, limit: int | None) -> Corpus:
    """A seeded sample of ``limit`` texts, every source in proportion and the order kept (None: all)."""
    if limit is None or len(corpus.texts) <= limit:
        return corpus
    keep = np.sort(np.random.default_rng(CORPUS_SEED).permutation(len(corpus.texts))[:limit])
    # Texts are stored source by source, in the order of ``sources``.
    bounds = np.cumsum(list(corpus.sources.values()))
    counts = np.bincount(np.searchsorted(bounds, keep, side="right"), minlength=len(bounds))
    return Corpus(texts=[corpus.texts[i] for i in keep],
                  sources={name: int(n) for name, n in zip(corpus.sources, counts, strict=True)})


def _demo_chunks(root: Path | None) -> list[str]:
    from sqlmodel import Session

    from knowledge.documents import build_chunks
    from knowledge.indexing import iter_documents
    from storage.db import engine_for
    from storage.demo import generate

    with tempfile.TemporaryDirectory(prefix="crm-encoder-corpus-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
        generate(customers=DEMO_CUSTOMERS, seed=CORPUS_SEED, today=DEMO_TODAY, locale="mixed", url=url,
                 reset=True, datasets_dir=root)
        engine = engine_for(url)
        try:
            with Session(engine) as session:
                docs = list(iter_documents(session))
        finally:
            engine.dispose()
    chunks = (c.embed_text for d in sorted(docs, key=lambda d: d.id) for c in build_chunks(d, max_tokens=CHUNK_TOKENS))
    return list(dict.fromkeys(chunks))


def _banking(root: Path) -> list[str]:
    import pandas as pd

    texts = pd.read_csv(root / "banking77" / "train.csv")["text"].dropna().astype(str)
    return list(dict.fromkeys(" ".join(t.split()) for t in texts))


def _chinese(root: Path, *, seed: int) -> list[str]:
    import pandas as pd

    reviews = root / "chinese_reviews"
    raw = (pd.read_csv(reviews / "waimai_10k.csv")["review"].dropna().astype(str).tolist()
           + pd.read_csv(reviews / "online_shopping_10_cats.zip")["review"].dropna().astype(str).tolist())
    cleaned = [" ".join(t.replace("\ufeff", "").split()) for t in raw]
    pool = [t for t in dict.fromkeys(cleaned) if len(t) >= 4]
    picked = np.random.default_rng(seed).permutation(len(pool))[:ZH_REVIEWS]
    # Chunked as indexing would chunk them, so the model learns from texts the length it will see.
    return [c.text for i in sorted(picked) for c in chunk_text(pool[i], max_tokens=CHUNK_TOKENS)]
