"""Knowledge settings: where the vectors live and which embedding model makes them.

Read through :func:`get_settings`, never at import time, so tests can point
``CRM_HOME`` or ``CRM_CHROMA_URL`` elsewhere and call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.settings import get_settings as get_storage_settings

# Every model load in this package is from bundled weights; make any slip fail at once
# instead of hanging on a hub request.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EmbeddingVariant = Literal["minilm-static-fit", "minilm-static", "minilm-onnx-int8", "minilm-onnx", "minilm-torch"]


class KnowledgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    chroma_url: str | None = Field(
        default=None, description="A Chroma server, e.g. http://127.0.0.1:8000; unset means an embedded store."
    )
    chroma_path: Path | None = Field(default=None, description="Embedded store directory; default CRM_HOME/chroma.")
    chroma_collection: str = Field(default="interactions", min_length=3)
    embedding: EmbeddingVariant = Field(
        default_factory=lambda: default_embedding(),
        description="Which encoder built from the bundled MiniLM embeds chunks (see knowledge.encoders). Default: "
        "minilm-static-fit when the datasets its fit corpus needs are found (CRM_DATASETS or ../shared/datasets), "
        "else minilm-onnx-int8. minilm-static-fit: a token+bigram table fitted to MiniLM on local text, "
        "5,000-19,000 docs/s here, within 2 points of MiniLM's recall@10; built once on first use (about 2 min "
        "quiet, up to 9 min loaded); without the datasets it would learn from built-in phrases only and lose "
        "~5 points, hence the fallback. minilm-onnx-int8: ~3x plain MiniLM, same recall. Also minilm-static "
        "(~150x, lower hybrid recall), minilm-onnx, minilm-torch (the reference).",
    )
    model_cache: Path | None = Field(
        default=None,
        description="Where built model artefacts (ONNX, static tables) go; default ~/.cache/crm-assistant/models.",
    )
    embed_threads: int = Field(default=0, ge=0, description="Inference threads; 0 means all cores.")
    # Interactions per embedding batch and Chroma write. With the fitted static encoder Chroma's writes
    # are the cost, and fewer larger ones were faster: `crm index` of the 8.8k-interaction bench demo ran
    # at ~1,100 chunks/s with 2,000 (and with 5,000) against ~990 with 512.
    index_batch_size: int = Field(default=2000, ge=1, le=5000)
    chunk_tokens: int = Field(default=120, ge=16, le=256, description="Target chunk length in model tokens.")

    vector_index: bool = Field(
        default=True,
        description="Answer filtered vector and keyword lookups from the in-process index (knowledge.vector_index) "
        "kept in step with Chroma; off means every query goes to Chroma.",
    )
    vector_index_path: Path | None = Field(
        default=None, description="Where the in-process index files live; default CRM_HOME/vector-index."
    )

    @property
    def store_path(self) -> Path:
        return self.chroma_path or get_storage_settings().home / "chroma"

    @property
    def index_path(self) -> Path:
        return self.vector_index_path or get_storage_settings().home / "vector-index"

    @property
    def model_dir(self) -> Path:
        if self.model_cache:
            return self.model_cache
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / "crm-assistant" / "models"

    @property
    def threads(self) -> int:
        return self.embed_threads or (os.cpu_count() or 1)


def default_embedding() -> str:
    """The fitted static encoder where its fit corpus exists; int8 MiniLM elsewhere (same recall, ~200 docs/s).

    Without the datasets the fitted table learns from the demo's built-in phrases only: vector recall@10
    5.2 points and hybrid 5.3 points below MiniLM, and Banking77 1-NN 0.43 instead of 0.91.
    """
    from knowledge.encoder_corpus import datasets_dir

    return "minilm-static-fit" if datasets_dir() is not None else "minilm-onnx-int8"


@lru_cache
def get_settings() -> KnowledgeSettings:
    return KnowledgeSettings()
