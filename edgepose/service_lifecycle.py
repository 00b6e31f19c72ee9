"""The daemon's lifecycle towards systemd and the OS: signals, READY/WATCHDOG, stalls, crashes, shutdown.

The rules (docs/daemon.md): READY once the models are loaded, camera or not; WATCHDOG=1 from
every turn of the processing loop, also while a camera is being reopened, so that only a wedged
loop (a hung model, a deadlock, a stopped process) lets systemd's watchdog fire; an uncaught
exception in any thread stops the daemon with exit code 70 so that systemd restarts it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from edgepose.errors import EXIT_SOFTWARE
from edgepose.notify import Notifier, watchdog_interval_s

if TYPE_CHECKING:
    from edgepose.sources import FrameFeed

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


def watch_threads(on_crash: Callable[[str], None]) -> Callable[[], None]:
    """Log an uncaught exception of any thread and call `on_crash(thread name)`; returns the undo.

    Without this a dead publisher or HTTP thread would leave a daemon that looks alive.
    """
    previous = threading.excepthook

    def hook(args: Any) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.critical(
            "unexpected error in thread %s: stopping (exit 70) for a restart",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
            extra={"EDGEPOSE_STATE": "crashed"},
        )
        on_crash(name)

    threading.excepthook = hook

    def restore() -> None:
        threading.excepthook = previous

    return restore


class Heartbeat:
    """READY once the models are loaded, WATCHDOG while the loop turns, one warning per stall."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._watchdog_period_s = watchdog_period_s()
        self._last_watchdog = 0.0
        self._last_frame_at: float | None = None
        self._stall_logged = False
        self._first_frame = True

    def starting(self) -> None:
        """A start step finished: keep systemd's watchdog (armed from the start) fed."""
        self._notifier.watchdog()

    def ready(self, now: float, source_name: str, status: str) -> None:
        """The models are loaded and the publisher started: READY=1, whether frames come yet or not."""
        log.info(
            "models loaded: ready",
            extra={"EDGEPOSE_SOURCE": source_name, "EDGEPOSE_STATE": "ready"},
        )
        self._notifier.ready(status)
        self._last_watchdog = now

    def alive(self, now: float) -> None:
        """One turn of the processing loop: WATCHDOG=1 at a third of systemd's timeout."""
        if now - self._last_watchdog >= self._watchdog_period_s:
            self._notifier.watchdog()
            self._last_watchdog = now

    def frame_processed(self, now: float, width: int, height: int, source_name: str) -> None:
        """A frame went through the whole pipeline at monotonic time `now`."""
        self._last_frame_at = now
        if self._stall_logged:
            log.info("frames are flowing again", extra={"EDGEPOSE_STATE": "running"})
            self._stall_logged = False
        if self._first_frame:
            self._first_frame = False
            log.info(
                "first frame processed (%dx%d)",
                width,
                height,
                extra={"EDGEPOSE_SOURCE": source_name, "EDGEPOSE_STATE": "running"},
            )

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


def end_of_feed_exit_code(feed: FrameFeed, source_name: str, frames: int) -> int:
    """The exit code when the feed ended: 0 only for a file that really played to its end."""
    from edgepose.types import SourceState  # not at the top: `edgepose run` imports this module early

    if feed.state is SourceState.ENDED and feed.frames_read > 0:
        log.info("end of %s after %d frames", source_name, frames)
        return 0
    why = "failed" if feed.state is SourceState.FAILED else "ended without a single frame"
    log.error(
        "source %s %s: exiting with %d so that systemd restarts the daemon",
        source_name,
        why,
        EXIT_SOFTWARE,
        extra={"EDGEPOSE_SOURCE": source_name, "EDGEPOSE_STATE": "failed"},
    )
    return EXIT_SOFTWARE


def quietly(action: Callable[[], None]) -> None:
    """Run a shutdown step; log its error and go on with the next one."""
    try:
        action()
    except Exception:
        log.exception("error during shutdown")
