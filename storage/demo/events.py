"""Order events: every future order row before it gets an id, lines or a status.

Three sources add events: the customers' own rhythms (``timelines``), bundle
follow-ups (``bundles``) and campaign conversions (``campaigns``). They are merged,
timed to the second and sorted so order ids rise with time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE, BUNDLE_FOLLOW_UP, CONVERSION = 0, 1, 2


@dataclass
class OrderEvents:
    customer: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    campaign: np.ndarray  # campaign index, -1 when not a conversion
    second: np.ndarray  # exact offset in seconds, -1 when the time of day is still to be drawn
    forced_event: np.ndarray  # (event index, product index) pairs that must appear as lines
    forced_product: np.ndarray

    @classmethod
    def base(cls, customer: np.ndarray, day: np.ndarray) -> OrderEvents:
        n = len(customer)
        empty = np.empty(0, np.int64)
        return cls(customer, day, np.full(n, BASE), np.full(n, -1), np.full(n, -1, np.int64), empty, empty)

    def __len__(self) -> int:
        return len(self.customer)

    def extend(self, *, customer, day, kind, campaign=None, second=None, forced_event=None,
               forced_product=None) -> np.ndarray:
        """Append events; ``forced_event`` indexes are relative to the new block. Returns their indexes."""
        n = len(customer)
        offset = len(self)
        self.customer = np.concatenate([self.customer, customer])
        self.day = np.concatenate([self.day, day])
        self.kind = np.concatenate([self.kind, np.full(n, kind)])
        self.campaign = np.concatenate([self.campaign, np.full(n, -1) if campaign is None else campaign])
        self.second = np.concatenate([self.second, np.full(n, -1, np.int64) if second is None else second])
        if forced_event is not None:
            self.force(np.asarray(forced_event) + offset, forced_product)
        return np.arange(offset, offset + n)

    def force(self, events, products) -> None:
        self.forced_event = np.concatenate([self.forced_event, np.asarray(events, dtype=np.int64)])
        self.forced_product = np.concatenate([self.forced_product, np.asarray(products, dtype=np.int64)])

    def last_day_by_customer(self, n_customers: int) -> np.ndarray:
        last = np.full(n_customers, -1, dtype=np.int64)
        np.maximum.at(last, self.customer, self.day)
        return last
