"""The daemon's lifecycle towards systemd and the OS: signals, READY/WATCHDOG, stall warnings, shutdown."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from edgepose.notify import Notifier, watchdog_interval_s

log = logging.getLogger("edgepose.service")


def install_signals(stop: threading.Event, reload: threading.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set `stop`, SIGHUP sets `reload`; returns what puts the old handlers back.

    Signal handlers can only be installed from the main thread; elsewhere (tests) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    def on_hup(signum: int, _frame: FrameType | None) -> None:
        reload.set()

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_stop),
        signal.SIGINT: signal.signal(signal.SIGINT, on_stop),
        signal.SIGHUP: signal.signal(signal.SIGHUP, on_hup),
    }

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def watchdog_period_s() -> float:
    """How often to send WATCHDOG=1: a third of systemd's timeout, else once a second (a no-op)."""
    interval = watchdog_interval_s()
    return interval / 3.0 if interval else 1.0


class Heartbeat:
    """READY after the first processed frame, WATCHDOG only on real progress, one warning per stall."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._ready = False
        self._watchdog_period_s = watchdog_period_s()
        self._last_watchdog = 0.0
        self._last_frame_at: float | None = None
        self._stall_logged = False

    def frame_processed(self, now: float, width: int, height: int, source_uri: str, status: str) -> None:
        """A frame went through the whole pipeline at monotonic time `now`."""
        self._last_frame_at = now
        if self._stall_logged:
            log.info("frames are flowing again")
            self._stall_logged = False
        if not self._ready:
            self._ready = True
            log.info(
                "first frame processed (%dx%d): ready",
                width,
                height,
                extra={"EDGEPOSE_SOURCE": source_uri, "EDGEPOSE_STATE": "ready"},
            )
            self._notifier.ready(status)
            self._last_watchdog = now
        elif now - self._last_watchdog >= self._watchdog_period_s:
            # Fed from real progress only: a stuck source or model stops these and systemd restarts us.
            self._notifier.watchdog()
            self._last_watchdog = now

    def idle(self, now: float, source_uri: str, stall_warning_s: float) -> None:
        """No frame arrived this poll: warn once when none came for `stall_warning_s`."""
        since = self._last_frame_at
        if since is not None and not self._stall_logged and now - since >= stall_warning_s:
            log.warning(
                "no frame from %s for %.0f s",
                source_uri,
                now - since,
                extra={"EDGEPOSE_SOURCE": source_uri, "EDGEPOSE_STATE": "stalled"},
            )
            self._stall_logged = True


def quietly(action: Callable[[], None]) -> None:
    """Run a shutdown step; log its error and go on with the next one."""
    try:
        action()
    except Exception:
        log.exception("error during shutdown")
