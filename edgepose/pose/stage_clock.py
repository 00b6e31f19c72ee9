"""Wall time per pipeline stage, for a result's StageTimings (measurement only, never used in logic)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class StageTimer:
    """Accumulates wall time per stage: `pre`, `detector`, `landmark` and `post`."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.ms: dict[str, float] = {"pre": 0.0, "detector": 0.0, "landmark": 0.0, "post": 0.0}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """A context adding its wall time to stage `name`."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] += (time.perf_counter() - t0) * 1000.0

    def total_ms(self) -> float:
        """Wall time since the timer was made."""
        return (time.perf_counter() - self.start) * 1000.0
