"""The plan for one demo run: size, locale, seed and the pinned "today", plus the shared clock.

Every phase draws from its own generator, derived from (seed, phase name), so
changing one phase never shifts the random stream of another and the same
(seed, today) always gives the same rows.
"""

from __future__ import annotations

import zlib
from datetime import date, timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Locale = Literal["en_US", "zh_CN", "mixed"]
LOCALES: tuple[str, ...] = ("en_US", "zh_CN", "mixed")

# About 2.5 years of order history up to today.
HISTORY_DAYS = 913
SECONDS_PER_DAY = 86_400


class DemoPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    customers: int = Field(ge=50, le=2_000_000)
    locale: Locale = "mixed"
    seed: int = 42
    today: date

    @property
    def start(self) -> date:
        return self.today - timedelta(days=HISTORY_DAYS)

    @property
    def days(self) -> int:
        """Number of whole days with orders: start .. yesterday (nothing is dated today or later)."""
        return HISTORY_DAYS

    @property
    def epoch_seconds(self) -> int:
        """Unix seconds of the window start (midnight UTC); all generated times are offsets from it."""
        return int(np.datetime64(self.start, "s").astype(np.int64))

    @property
    def now_seconds(self) -> int:
        """Seconds from the window start to today 00:00, the generator's "now"."""
        return self.days * SECONDS_PER_DAY

    def day_of(self, when: date) -> int:
        return (when - self.start).days

    def rng(self, phase: str) -> np.random.Generator:
        # crc32, not hash(): Python salts str hashes per process, which would break determinism.
        return np.random.default_rng([self.seed, zlib.crc32(phase.encode())])
