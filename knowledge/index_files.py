"""The in-process index on disk: one directory per Chroma collection, and the lock writers share.

Layout::

    state.json         which segments make the index, the dead-row file, the token (the
                       version of the Chroma collection this snapshot matches) and the
                       encoder build the collection records (another build: stale)
    seg-<id>/          one segment (knowledge.segment), written once and never changed
    dead-<token>.npz   dead rows per segment
    .lock              flock: one writer at a time, across processes

``state.json`` is replaced atomically last, so a reader sees the old snapshot or the
new one, never half of each. Segments no longer named by it are deleted; a reader
that loses that race retries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from knowledge.segment import Segment
from knowledge.vector_index import IndexState

FORMAT = 2  # bump when segment contents change (tokens, arrays): older files are rebuilt
_RETRIES = 3


class IndexFiles:
    def __init__(self, root: Path, *, embedding: str | None = None):
        self.root = root
        # The encoder build of the collection these files copy; files saved under another are stale.
        self.embedding = embedding
        self._segments: dict[str, Segment] = {}
        self._cache_lock = threading.RLock()  # the open-segment cache, shared by reader threads
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    # ---- lock -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the writer lock; with ``blocking=False`` yields False instead of waiting."""
        if not self._thread_lock.acquire(blocking=blocking):
            yield False
            return
        try:
            if self._depth == 0:
                self.root.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                except BlockingIOError:
                    os.close(fd)
                    yield False
                    return
                self._fd = fd
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None
        finally:
            self._thread_lock.release()

    # ---- read -----------------------------------------------------------------------------
    def disk_token(self) -> str | None:
        info = self._info()
        return info["token"] if info else None

    def _info(self) -> dict | None:
        try:
            info = json.loads((self.root / "state.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if info.get("format") != FORMAT or info.get("embedding") != self.embedding:
            return None
        return info

    def load(self) -> IndexState | None:
        for attempt in range(_RETRIES):
            info = self._info()
            if info is None:
                return None
            try:
                with self._cache_lock:
                    return self._open(info)
            except FileNotFoundError:
                if attempt == _RETRIES - 1:
                    return None  # a writer keeps replacing it; the caller rebuilds or falls back
        return None

    def _open(self, info: dict) -> IndexState:
        segments = []
        for name in info["segments"]:
            if name not in self._segments:
                self._segments[name] = Segment.load(self.root / name)
            segments.append(self._segments[name])
        dead: dict[str, np.ndarray] = {}
        if info.get("dead"):
            with np.load(self.root / info["dead"]) as stored:
                dead = {k: stored[k] for k in stored.files}
        masks = []
        for seg in segments:
            rows = dead.get(seg.name)
            if rows is None or not len(rows):
                masks.append(None)
            else:
                mask = np.zeros(seg.n, dtype=bool)
                mask[rows] = True
                masks.append(mask)
        self._forget_except(info["segments"])
        return IndexState(token=info["token"], dims=int(info["dims"]), segments=tuple(segments), dead=tuple(masks))

    # ---- write ----------------------------------------------------------------------------
    def save(self, state: IndexState) -> IndexState:
        """Write new segments, the dead rows and then ``state.json``; returns the snapshot memory-mapped."""
        with self._cache_lock:
            return self._save(state)

    def _save(self, state: IndexState) -> IndexState:
        self.root.mkdir(parents=True, exist_ok=True)
        mapped = []
        for seg in state.segments:
            directory = self.root / seg.name
            if not directory.exists():
                seg.save(directory)
            if seg.name not in self._segments:
                self._segments[seg.name] = Segment.load(directory)
            mapped.append(self._segments[seg.name])
        dead_name = None
        if any(d is not None for d in state.dead):
            dead_name = f"dead-{state.token}.npz"
            with open(self.root / (dead_name + ".tmp"), "wb") as fh:
                np.savez(fh, **{s.name: np.flatnonzero(d) for s, d in zip(state.segments, state.dead, strict=True)
                                if d is not None})
            os.replace(self.root / (dead_name + ".tmp"), self.root / dead_name)
        info = {"format": FORMAT, "embedding": self.embedding, "token": state.token, "dims": state.dims,
                "segments": [s.name for s in state.segments], "dead": dead_name, "rows": state.count}
        tmp = self.root / "state.json.tmp"
        tmp.write_text(json.dumps(info))
        os.replace(tmp, self.root / "state.json")
        self._collect(keep={*info["segments"], dead_name})
        return replace(state, segments=tuple(mapped))

    def _forget_except(self, names) -> None:
        for name in set(self._segments) - set(names):
            del self._segments[name]

    def _collect(self, keep: set) -> None:
        """Delete what the current state no longer names (old segments hold erased text until then)."""
        self._forget_except(keep)
        for path in self.root.iterdir():
            if path.name in keep or path.name in ("state.json", ".lock"):
                continue
            if path.name.startswith(("seg-", "dead-")):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    def clear(self) -> None:
        """Delete the snapshot's files but keep the lock file (a writer may hold it)."""
        with self._cache_lock:
            (self.root / "state.json").unlink(missing_ok=True)
            if self.root.exists():
                self._collect(keep=set())

    def remove(self) -> None:
        with self._cache_lock:
            self._segments.clear()
        shutil.rmtree(self.root, ignore_errors=True)
