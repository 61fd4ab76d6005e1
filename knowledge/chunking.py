"""Split interaction text into chunks the encoder can see whole.

MiniLM reads at most 256 tokens and was trained on 128, so a long email or call
transcript is cut at sentence ends into pieces of about ``max_tokens``. Each chunk
keeps its character span in the source text, so a hit can quote the exact passage.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s*|\n+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W\u3400-\u9fff\uf900-\ufaff]+", re.UNICODE)


class Chunk(BaseModel):
    index: int
    start: int
    end: int
    text: str


def estimate_tokens(text: str) -> float:
    """WordPiece count, roughly: one per CJK character, ~1.3 per other word."""
    return len(_CJK.findall(text)) + 1.3 * len(_WORD.findall(text))


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if end <= start:
            continue
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _hard_split(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """A sentence longer than the budget: cut it at word or character boundaries."""
    pieces, piece_start, used = [], start, 0
    for match in re.finditer(r"[\u3400-\u9fff\uf900-\ufaff]|\S+\s*", text[start:end]):
        cost = estimate_tokens(match.group()) or 1
        if used + cost > max_tokens and used:
            pieces.append((piece_start, start + match.start()))
            piece_start, used = start + match.start(), 0
        used += cost
    if piece_start < end:
        pieces.append((piece_start, end))
    return pieces


def chunk_text(text: str, *, max_tokens: int = 120) -> list[Chunk]:
    """Chunks of whole sentences up to ``max_tokens``; a text that fits is one chunk."""
    if not text.strip():
        return []
    if estimate_tokens(text) <= max_tokens:
        return [Chunk(index=0, start=0, end=len(text), text=text.strip())]
    spans: list[tuple[int, int]] = []
    for start, end in _sentences(text):
        if estimate_tokens(text[start:end]) > max_tokens:
            spans.extend(_hard_split(text, start, end, max_tokens))
        else:
            spans.append((start, end))
    chunks: list[Chunk] = []
    cur_start, cur_end, used = None, None, 0
    for start, end in spans:
        cost = estimate_tokens(text[start:end])
        if cur_start is not None and used + cost > max_tokens:
            chunks.append(_chunk(text, len(chunks), cur_start, cur_end))
            cur_start, used = None, 0
        if cur_start is None:
            cur_start = start
        cur_end, used = end, used + cost
    if cur_start is not None:
        chunks.append(_chunk(text, len(chunks), cur_start, cur_end))
    return chunks


def _chunk(text: str, index: int, start: int, end: int) -> Chunk:
    return Chunk(index=index, start=start, end=end, text=text[start:end].strip())
