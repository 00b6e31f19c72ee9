"""The Publisher protocol the service drives; implementations are chosen by name in a registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from edgepose.types import ActivityState, Event, PoseResult, ServiceStats


class Publisher(Protocol):
    """Sends what the pipeline sees. Every method returns quickly; network I/O happens elsewhere.

    Events are durable: once `publish_events` returns they are either delivered or spooled, and
    `close` delivers what it can within its timeout before reporting `offline`.
    """

    def start(self) -> None:
        """Connect (in the background) and announce `online`."""

    def publish_pose(self, result: PoseResult) -> None:
        """Send the poses of one frame (rate-limited, may be dropped)."""

    def publish_events(self, events: Sequence[Event]) -> None:
        """Queue events for at-least-once, in-order delivery."""

    def publish_state(self, state: ActivityState) -> None:
        """Send the retained state if it changed."""

    def publish_stats(self, stats: ServiceStats) -> None:
        """Send service figures."""

    @property
    def connected(self) -> bool:
        """Whether the transport is up now."""
        ...

    @property
    def spool_depth(self) -> int:
        """Events waiting for delivery."""
        ...

    def close(self, timeout_s: float = 2.0) -> None:
        """Flush what can be flushed, announce `offline`, release everything."""
