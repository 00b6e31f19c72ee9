"""Pacing of periodic messages: let a call through at most once per period."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Pacer:
    """Says whether a message is due, at most once per `period_s` of `clock`.

    `steady` steps from the previous slot, so the average rate is exact (pose streams); after a gap
    longer than a period it starts afresh instead of bursting to catch up. Without it the next slot
    is always one period after the last message (stats).
    """

    def __init__(
        self, period_s: float, *, steady: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._period_s = period_s
        self._steady = steady
        self._clock = clock
        self._next_s = -math.inf

    @classmethod
    def per_second(cls, rate_hz: float, *, clock: Callable[[], float] = time.monotonic) -> Pacer:
        """A steady pacer for `rate_hz` messages a second (never due when the rate is 0)."""
        return cls(1.0 / rate_hz if rate_hz > 0.0 else math.inf, steady=True, clock=clock)

    def due(self) -> bool:
        """True (and the slot taken) when a message may go now."""
        if math.isinf(self._period_s):
            return False
        now = self._clock()
        if now < self._next_s:
            return False
        late = now - self._next_s
        if self._steady and late < self._period_s:
            self._next_s += self._period_s
        else:
            self._next_s = now + self._period_s
        return True
