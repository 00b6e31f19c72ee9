"""The capture side of the daemon: one thread reads a source and hands frames to the processing loop.

Live sources go through a one-frame slot (the newest frame wins, older ones are counted as
dropped); files go through a bounded queue (every frame is delivered, reading blocks while the
queue is full) and are paced at their own frame rate unless `realtime` is off. A live source that
fails is closed and reopened with exponential backoff; a file that ends (without `loop`) ends the
feed with `END`, after every frame before it has been taken.

A read (or open) of a live source that stays stuck in a driver longer than `read_timeout_s` is
abandoned: the processing loop calls `check_stuck`, which leaves the stuck thread behind (it
closes its own source if the call ever returns) and starts a new capture thread that reopens
the source. Only when several abandoned threads are still stuck does the feed give up (FAILED),
so that the daemon exits and a fresh process gets a fresh driver.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from edgepose.sources.base import FrameSource, SourceError, StrictlyIncreasing
from edgepose.types import Frame, SourceState

log = logging.getLogger(__name__)

_STUCK_GRACE_S = 1.0  # on top of read_timeout_s: a backend's own timeout should fire first
_MAX_STUCK_THREADS = 4  # abandoned capture threads still stuck in the driver before giving up


class _End:
    """The marker the feed returns once a file has ended."""

    def __repr__(self) -> str:
        return "END"


END: Final = _End()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential wait between reopen attempts: initial, doubling, capped."""

    initial_s: float = 1.0
    max_s: float = 30.0

    def delay_s(self, attempt: int) -> float:
        """The wait before attempt number `attempt` (0-based)."""
        return float(min(self.max_s, self.initial_s * (2.0 ** min(attempt, 32))))


class LatestFrameSlot:
    """A one-frame mailbox: `put` replaces an untaken frame (a drop), `get` waits for one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Frame | _End | None = None
        self.dropped = 0

    def put(self, item: Frame | _End) -> None:
        """Store the newest item; an untaken frame it replaces counts as dropped."""
        with self._cond:
            if isinstance(self._item, Frame):
                self.dropped += 1
            if not isinstance(self._item, _End):
                self._item = item
            self._cond.notify_all()

    def get(self, timeout_s: float) -> Frame | _End | None:
        """The newest item, or None when nothing arrives within the timeout."""
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout_s)
            item = self._item
            if isinstance(item, Frame):
                self._item = None
            return item


class FrameFeed:
    """Runs a source in a capture thread; the processing loop calls `get`.

    `start()` opens the source once in the caller's thread, so a source that cannot be opened
    at all fails the start with its SourceError. Later failures are retried in the thread.
    """

    def __init__(
        self,
        make_source: Callable[[], FrameSource],
        *,
        name: str,
        live: bool,
        realtime: bool = True,
        queue_frames: int = 4,
        backoff: Backoff | None = None,
        on_state: Callable[[SourceState], None] | None = None,
        read_timeout_s: float | None = None,
    ) -> None:
        self._make_source = make_source
        self.name = name
        self.live = live
        self._realtime = realtime
        self._backoff = backoff or Backoff()
        self._on_state = on_state
        self._slot = LatestFrameSlot() if live else None
        self._queue: queue.Queue[Frame | _End] = queue.Queue(maxsize=max(1, queue_frames))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._source: FrameSource | None = None
        self._lock = threading.Lock()
        self.state = SourceState.STARTING
        self.frames_read = 0
        self.reopens = 0
        self._increasing = StrictlyIncreasing()  # across reopens too: a new source starts its clock anew
        self._pace_origin: tuple[float, int] | None = None  # (monotonic s, media ms) of the first frame
        self._reopen_immediately = False
        self._failures = 0  # since the last delivered frame; drives the backoff and log levels
        self._read_timeout_s = read_timeout_s if live else None
        self._generation = 0  # the capture thread whose generation this is, is the current one
        self._busy_since: float | None = None  # monotonic s when the current thread entered open/read
        self._abandoned: list[threading.Thread] = []
        self.stuck_reads = 0
        self.last_error = ""  # the latest open/read failure, for STATUS= and /healthz

    @property
    def dropped_frames(self) -> int:
        """Frames a live source replaced before the processing loop took them."""
        return self._slot.dropped if self._slot is not None else 0

    def start(self, open_now: bool = True) -> None:
        """Start the capture thread; with `open_now` the source is opened first, here, raising SourceError.

        Without it (a config reload) a source that cannot be opened is retried with backoff.
        """
        if open_now:
            source = self._make_source()
            source.open()
            self._source = source  # the state turns RUNNING with the first frame
        else:
            self._set_state(SourceState.RECONNECTING)
            self._reopen_immediately = True
        self._spawn()

    def _spawn(self) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._busy_since = None
        self._thread = threading.Thread(
            target=self._run, args=(generation,), name=f"capture {self.name}", daemon=True
        )
        self._thread.start()

    def check_stuck(self, now: float) -> bool:
        """Abandon a live source's open or read stuck for longer than read_timeout_s; True if it was.

        Called by the processing loop. The stuck thread keeps its source and closes it if the
        driver call ever returns; a new capture thread reopens the source with backoff.
        """
        timeout_s = self._read_timeout_s
        with self._lock:
            since = self._busy_since
            if timeout_s is None or since is None or self._stop.is_set():
                return False
            stuck_s = now - since
            if stuck_s < timeout_s + _STUCK_GRACE_S:
                return False
            self._source = None  # owned by the stuck thread from now on
            stuck = self._thread
        self.stuck_reads += 1
        if stuck is not None:
            self._abandoned.append(stuck)
        self._abandoned = [thread for thread in self._abandoned if thread.is_alive()]
        self._failures += 1
        self.last_error = f"{self.name}: no frame for {stuck_s:.0f} s (driver call stuck)"
        if len(self._abandoned) >= _MAX_STUCK_THREADS:
            log.error(
                "source %s: %d capture threads stuck in the driver; giving up so that a restart "
                "gets a fresh one",
                self.name,
                len(self._abandoned),
                extra=self._fields(),
            )
            with self._lock:
                self._generation += 1  # no thread delivers anything any more
            self._finish(SourceState.FAILED)
            return True
        log.warning(
            "source %s: read stuck for %.0f s (read_timeout_s %.0f): abandoned, reopening",
            self.name,
            stuck_s,
            timeout_s,
            extra=self._fields(),
        )
        self._set_state(SourceState.RECONNECTING)
        self._spawn()
        return True

    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self._stop.is_set()

    def _busy(self, generation: int, busy: bool) -> None:
        """Mark the start (busy) or end of a driver call of the current thread."""
        with self._lock:
            if generation == self._generation:
                self._busy_since = time.monotonic() if busy else None

    def get(self, timeout_s: float) -> Frame | _End | None:
        """The next frame, END after a file's last frame, None if nothing came within the timeout."""
        if self._slot is not None:
            return self._slot.get(timeout_s)
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the capture thread and release the source; a thread stuck in a driver call is left behind."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("capture thread of %s did not stop within %.1f s", self.name, timeout_s)
                return
        self._close_source()
        if self.state not in (SourceState.ENDED, SourceState.FAILED):
            self._set_state(SourceState.STOPPED)

    def _set_state(self, state: SourceState) -> None:
        if state is self.state:
            return
        self.state = state
        if self._on_state is not None:
            self._on_state(state)

    def _close_source(self) -> None:
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            try:
                source.close()
            except Exception as exc:  # closing a vanished device must not take the daemon down
                log.debug("closing %s: %s", self.name, exc)

    def _run(self, generation: int) -> None:
        try:
            self._loop(generation)
        except Exception:
            if self._current(generation):
                log.exception("capture thread of %s crashed", self.name)
                self._finish(SourceState.FAILED)
        finally:
            if generation == self._generation:
                self._close_source()

    def _loop(self, generation: int) -> None:
        while self._current(generation):
            source = self._source
            if source is None:
                if not self._reopen(generation):
                    return
                continue
            self._busy(generation, True)
            try:
                frame = source.read()
            except SourceError as exc:
                if not self._current(generation):
                    _close_quietly(source, self.name)
                    return
                self._busy(generation, False)
                self.last_error = str(exc)
                self._close_source()
                if not self.live:
                    log.error("source %s failed: %s; stopping", self.name, exc, extra=self._fields())
                    self._finish(SourceState.FAILED)
                    return
                self._failed(f"source {self.name} lost: {exc}; reopening")
                self._set_state(SourceState.RECONNECTING)
                continue
            if not self._current(generation):
                # Abandoned while stuck in the driver: a newer thread owns the feed now.
                _close_quietly(source, self.name)
                return
            self._busy(generation, False)
            if frame is None:
                self._finish()
                return
            self._set_state(SourceState.RUNNING)
            if self._failures:
                log.info(
                    "source %s is back after %d failure(s)", self.name, self._failures, extra=self._fields()
                )
                self._failures = 0
            frame = self._restamp(frame)
            if not self.live and self._realtime:
                self._pace(frame.timestamp_ms)
            self._deliver(frame)

    def _fields(self) -> dict[str, object]:
        """Structured journal fields of source log lines (journald keeps upper-case extras)."""
        return {"EDGEPOSE_SOURCE": self.name, "EDGEPOSE_FAILURES": self._failures}

    def _failed(self, message: str) -> None:
        """Count a failure since the last good frame; log the first (and every 10th) as a warning."""
        self._failures += 1
        if self._failures == 1:
            log.warning("%s", message, extra=self._fields())
        elif self._failures % 10 == 0:
            log.warning(
                "%s (%d failures since the last frame)", message, self._failures, extra=self._fields()
            )
        else:
            log.debug("%s", message)

    def _reopen(self, generation: int) -> bool:
        """Open the source again after a backoff that grows with failures; False when stopping."""
        while self._current(generation):
            delay = self._backoff.delay_s(max(0, self._failures - 1))
            if self._reopen_immediately:
                delay, self._reopen_immediately = 0.0, False
            if self._stop.wait(delay):
                return False
            source = self._make_source()
            self._busy(generation, True)
            try:
                source.open()
            except SourceError as exc:
                if not self._current(generation):
                    return False
                self._busy(generation, False)
                self.last_error = str(exc)
                next_delay = self._backoff.delay_s(self._failures)
                self._failed(f"source {self.name} unavailable: {exc}; retrying in {next_delay:.0f} s")
                continue
            with self._lock:
                if generation != self._generation:
                    stale = True
                else:
                    stale = False
                    self._busy_since = None
                    self._source = source
            if stale:  # abandoned while the open was stuck
                _close_quietly(source, self.name)
                return False
            self.reopens += 1
            return True
        return False

    def _restamp(self, frame: Frame) -> Frame:
        """Number frames across reopens and keep timestamps strictly increasing."""
        timestamp_ms = self._increasing(frame.timestamp_ms)
        index = self.frames_read
        self.frames_read += 1
        if index == frame.index and timestamp_ms == frame.timestamp_ms:
            return frame
        return dataclasses.replace(frame, timestamp_ms=timestamp_ms, index=index)

    def _pace(self, timestamp_ms: int) -> None:
        """Hold a file's frame until its media time, as a camera would deliver it."""
        now = time.monotonic()
        if self._pace_origin is None:
            self._pace_origin = (now, timestamp_ms)
            return
        origin_s, origin_ms = self._pace_origin
        due = origin_s + (timestamp_ms - origin_ms) / 1000.0
        if due > now:
            self._stop.wait(due - now)

    def _deliver(self, item: Frame | _End) -> None:
        if self._slot is not None:
            self._slot.put(item)
            return
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _finish(self, state: SourceState = SourceState.ENDED) -> None:
        self._set_state(state)
        self._deliver(END)


def _close_quietly(source: FrameSource, name: str) -> None:
    try:
        source.close()
    except Exception as exc:  # a vanished device must not take the daemon down
        log.debug("closing %s: %s", name, exc)
