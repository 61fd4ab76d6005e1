"""Read the order lines in a second process while this one reads orders and fits the models.

At 100k customers the lines are 2.2M rows and 2.8 s to read; on two cores a second
process hides that behind the order book's read and the model phases (see
``tools.second_process`` for why not a thread). Only a forked process pays: a spawned one
would spend a second importing to save less than three. The lines come back through a
temporary ``.npy`` file rather than a 100 MB pickle.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from storage.db import engine_for
from tools.line_frames import lines_frame, read_line_rows, read_lines
from tools.second_process import Elsewhere, can_share, start_method


class LinesRead:
    """The lines, read now or being read in a second process; ``result()`` waits for them."""

    def __init__(self, engine: Engine, *, since: datetime | None, elsewhere: bool):
        # Only a fork pays here: a spawned interpreter spends about as long importing as the read it saves.
        elsewhere = elsewhere and can_share(engine) and start_method() == "fork"
        self._tmp = Path(tempfile.mkdtemp(prefix="crm-lines-")) if elsewhere else None
        target = str(self._tmp / "lines.npy") if self._tmp else ""
        self._job = Elsewhere(_read_to_file, engine.url.render_as_string(hide_password=False), since, target,
                              elsewhere=elsewhere, fallback=lambda: read_lines(engine, since=since), what="order lines")

    def result(self) -> pd.DataFrame:
        try:
            got = self._job.result()
            return lines_frame(np.load(got)) if isinstance(got, str) else got
        finally:
            self.close()

    def close(self) -> None:
        self._job.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> LinesRead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # the refresh failed before it asked: stop the second process, drop its file


def _read_to_file(url: str, since: datetime | None, path: str) -> str:
    """In the second process: read the lines and save them as one structured array."""
    engine = engine_for(url)
    try:
        np.save(path, read_line_rows(engine, since=since))
    finally:
        engine.dispose()
    return path
