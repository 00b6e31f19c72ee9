"""StdoutPublisher: the same topics and payloads as MQTT, as JSON lines on a text stream.

Each line is `{"topic": ..., "payload": ..., "retain": bool, "qos": n}`; `payload` is the JSON
object (or the plain string for `status`). Handy for debugging and for piping into `jq`.
Nothing is spooled: a line is written when the call returns.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from edgepose.config.mqtt import MqttConfig
from edgepose.publish.homeassistant import discovery_payload
from edgepose.publish.pacing import Pacer
from edgepose.publish.payloads import event_payload, pose_payload, state_key, state_payload, stats_payload
from edgepose.publish.topics import STATUS_OFFLINE, STATUS_ONLINE, Topics
from edgepose.skeleton import SkeletonKind
from edgepose.types import ActivityState, Event, PoseResult, ServiceStats


class StdoutPublisher:
    """The stdout implementation of the `Publisher` protocol."""

    def __init__(
        self,
        config: MqttConfig,
        stream: TextIO | None = None,
        *,
        gesture_types: tuple[str, ...] = (),
        skeleton: SkeletonKind = SkeletonKind.BLAZEPOSE_33,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Write to `stream` (default: sys.stdout at the time of each write)."""
        self._config = config
        self._stream = stream
        self._gesture_types, self._skeleton = gesture_types, skeleton
        self.topics = Topics.from_config(config)
        self._lock = threading.Lock()
        self._state_key: str | None = None
        self._pose_pacer = Pacer.per_second(config.pose_rate_hz, clock=clock)
        self._stats_pacer = Pacer(config.stats_interval_s, clock=clock)
        self._started = False
        self._closed = False

    def _write(self, topic: str, payload: Any, qos: int, retain: bool) -> None:
        line = json.dumps(
            {"topic": topic, "payload": payload, "retain": retain, "qos": qos},
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()

    def start(self) -> None:
        """Write `online` and, if enabled, the Home Assistant discovery message."""
        if self._started:
            return
        self._started = True
        self._write(self.topics.status, STATUS_ONLINE, 1, True)
        if self._config.discovery:
            payload = discovery_payload(
                self._config.resolved_device_id(),
                self._config.resolved_device_name(),
                self.topics,
                gesture_types=self._gesture_types,
                qos=self._config.qos_events,
                skeleton=self._skeleton,
            )
            self._write(self.topics.discovery, payload, 1, True)

    def publish_pose(self, result: PoseResult) -> None:
        """Write one frame's poses, limited to `pose_rate_hz`."""
        if self._closed or not self._pose_pacer.due():
            return
        payload = pose_payload(result, self._config.pose_decimals, self._config.pose_world_landmarks)
        self._write(self.topics.pose, payload, 0, False)

    def publish_events(self, events: Sequence[Event]) -> None:
        """Write each event, in order."""
        for event in events:
            self._write(self.topics.event, event_payload(event), self._config.qos_events, False)

    def publish_state(self, state: ActivityState) -> None:
        """Write the state if it changed."""
        payload = state_payload(state)
        key = state_key(payload)
        if key != self._state_key:
            self._state_key = key
            self._write(self.topics.state, payload, 0, True)

    def publish_stats(self, stats: ServiceStats) -> None:
        """Write service figures, at most once per `stats_interval_s`."""
        if not self._stats_pacer.due():
            return
        self._write(self.topics.stats, stats_payload(dataclasses.replace(stats, spool_depth=0)), 0, False)

    @property
    def connected(self) -> bool:
        """A stream is always 'connected'."""
        return not self._closed

    @property
    def spool_depth(self) -> int:
        """Nothing is ever waiting."""
        return 0

    def close(self, timeout_s: float = 2.0) -> None:
        """Write `offline`."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            self._write(self.topics.status, STATUS_OFFLINE, 1, True)

    def __enter__(self) -> StdoutPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
