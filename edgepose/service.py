"""The daemon: the composition root that builds every stage from the Config and runs them.

Threads: one capture thread (in the `FrameFeed`), this processing loop, the publisher's network
thread and, if enabled, the HTTP server's. One `threading.Event` stops them all; shutdown runs in
reverse order of start. systemd hears READY after the first processed frame, WATCHDOG only when
frames really go through the pipeline (so a hung camera or model gets the unit restarted),
STATUS every few seconds and STOPPING on shutdown. SIGTERM/SIGINT stop, SIGHUP reloads the config.
"""

from __future__ import annotations

import collections
import importlib
import logging
import secrets
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from edgepose.config import Config, load_config, state_directory
from edgepose.config.activity import ActivityConfig
from edgepose.config.model import ModelConfig
from edgepose.errors import ConfigError, EdgeposeError, UsageError
from edgepose.notify import Notifier, watchdog_interval_s
from edgepose.publish.base import Publisher
from edgepose.sources import END, FrameFeed, make_feed, parse_source_uri
from edgepose.types import ActivityState, Event, Frame, PoseResult, RunningMode, ServiceStats, SourceState

if TYPE_CHECKING:
    from edgepose.inference.accelerators import Accelerator
    from edgepose.pose.families import PoseEstimator

log = logging.getLogger(__name__)

_POLL_S = 0.25  # longest the loop waits for a frame before checking stop, reload and timers
_PERIODIC_S = 1.0
_FPS_WINDOW_S = 3.0
_EMA_ALPHA = 0.1
_CPU_TEMP_PATH = Path("/sys/class/thermal/thermal_zone0/temp")
_STOP_FLUSH_S = 1.5  # on SIGTERM: the whole shutdown stays well under 3 s; the rest stays spooled
_END_FLUSH_S = 10.0  # at the end of a file: deliver what was queued before exiting 0


class FrameObserver(Protocol):
    """Called by the processing loop once per frame; must return quickly (store, do not draw)."""

    def __call__(
        self,
        frame: Frame,
        result: PoseResult,
        events: Sequence[Event],
        state: ActivityState,
        stats: ServiceStats,
    ) -> None:
        """Take one processed frame."""


SourceListener = Callable[[SourceState, str], None]


class ActivityStage(Protocol):
    """What the service needs from the activity engine."""

    def update(self, result: PoseResult) -> tuple[list[Event], ActivityState]:
        """Events and state after one frame."""
        ...


class _PeopleCount:
    """Stand-in when the activity engine is off or not installed: state with the people count only."""

    def update(self, result: PoseResult) -> tuple[list[Event], ActivityState]:
        return [], ActivityState(timestamp_ms=result.timestamp_ms, people=len(result.poses))


def build_activity(config: ActivityConfig, id_prefix: str = "ev") -> ActivityStage:
    """The activity engine for the config, or the people counter when disabled or absent.

    `id_prefix` starts every event id; it must differ between runs, because consumers drop
    events whose id they have seen (delivery is at least once).
    """
    if not config.enabled:
        return _PeopleCount()
    try:
        module = importlib.import_module("edgepose.activity.engine")
    except ModuleNotFoundError as exc:
        if exc.name != "edgepose.activity.engine":
            raise
        log.warning("activity engine not installed: publishing poses and people counts only")
        return _PeopleCount()
    engine: ActivityStage = module.ActivityEngine(config, id_prefix=id_prefix)
    return engine


@dataclass
class Pipeline:
    """The accelerator and the pose estimator (BlazePose or MoveNet) built from `[model]`, closed together."""

    landmarker: PoseEstimator
    accelerator: Accelerator
    accelerator_name: str

    def detect(self, frame: Frame) -> PoseResult:
        """Poses of one video frame."""
        return self.landmarker.detect_for_video(frame.image, frame.timestamp_ms)

    def reset(self) -> None:
        """Forget the tracks (a new source: its timestamps start again)."""
        reset: Callable[[], None] | None = getattr(self.landmarker, "reset", None)
        if reset is not None:
            reset()

    def close(self) -> None:
        """Release interpreters and the accelerator."""
        self.landmarker.close()
        self.accelerator.close()


def build_pipeline(config: ModelConfig) -> Pipeline:
    """Open the accelerator and load the models (ModelError with the file named when that fails)."""
    from edgepose.inference.accelerators import AcceleratorSettings, open_accelerator
    from edgepose.pose.families import build_estimator

    settings = AcceleratorSettings(cpu=config.cpu, edgetpu=config.edgetpu, threads=config.threads)
    accelerator = open_accelerator(config.accelerator, settings)
    try:
        estimator = build_estimator(config, accelerator, RunningMode.VIDEO)
    except BaseException:
        accelerator.close()
        raise
    name = str(accelerator.accelerator_in_use)
    log.info(
        "models: %s %s %s on %s", config.family, config.variant, config.precision, accelerator.describe()
    )
    return Pipeline(landmarker=estimator, accelerator=accelerator, accelerator_name=name)


def build_publisher(config: Config) -> Publisher:
    """The publisher `[service] publish` names, with the spool in the state directory."""
    from edgepose.activity.gestures import GESTURE_TYPES
    from edgepose.publish import create_publisher

    return create_publisher(
        config.service.publish, config.mqtt, state_directory(config), gesture_types=GESTURE_TYPES
    )


def apply_overrides(config: Config, source_uri: str | None = None, publish: str | None = None) -> Config:
    """The config with command-line overrides (`--source`, `--publish`) applied and validated."""
    if source_uri is not None:
        try:
            parse_source_uri(source_uri)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        config = config.model_copy(update={"source": config.source.model_copy(update={"uri": source_uri})})
    if publish is not None:
        if publish not in ("mqtt", "stdout"):
            raise UsageError(f"unknown publisher {publish!r} (mqtt or stdout)")
        config = config.model_copy(update={"service": config.service.model_copy(update={"publish": publish})})
    return config


def read_cpu_temp_c(path: Path = _CPU_TEMP_PATH) -> float | None:
    """The SoC temperature in degrees Celsius, None where there is no thermal zone."""
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


@dataclass
class _Meter:
    """Frame rate over a sliding window and smoothed stage times."""

    frames: int = 0
    times: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=512))
    detector_ms: float = 0.0
    landmark_ms: float = 0.0
    people: int = 0
    last_timestamp_ms: int = 0

    def add(self, now: float, result: PoseResult) -> None:
        self.frames += 1
        self.times.append(now)
        self.people = len(result.poses)
        self.last_timestamp_ms = result.timestamp_ms
        t = result.timings
        if t.detector_ran:
            self.detector_ms = (
                t.detector_ms if self.detector_ms == 0.0 else _ema(self.detector_ms, t.detector_ms)
            )
        self.landmark_ms = t.landmark_ms if self.landmark_ms == 0.0 else _ema(self.landmark_ms, t.landmark_ms)

    def fps(self, now: float) -> float:
        while self.times and now - self.times[0] > _FPS_WINDOW_S:
            self.times.popleft()
        if len(self.times) < 2:
            return 0.0
        span = self.times[-1] - self.times[0]
        return (len(self.times) - 1) / span if span > 0 else 0.0


def _ema(old: float, new: float) -> float:
    return (1.0 - _EMA_ALPHA) * old + _EMA_ALPHA * new


class Service:
    """The edgepose daemon. `run()` blocks until stopped (signal, `stop()`) or a file ends."""

    def __init__(
        self,
        config: Config,
        *,
        config_path: Path | None = None,
        source_override: str | None = None,
        publish_override: str | None = None,
        notifier: Notifier | None = None,
        publisher_factory: Callable[[Config], Publisher] = build_publisher,
        pipeline_factory: Callable[[ModelConfig], Pipeline] = build_pipeline,
    ) -> None:
        self._config_path = config_path
        self._source_override = source_override
        self._publish_override = publish_override
        self.config = apply_overrides(config, source_override, publish_override)
        self._notifier = notifier if notifier is not None else Notifier()
        self._publisher_factory = publisher_factory
        self._pipeline_factory = pipeline_factory
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._observers: list[FrameObserver] = []
        self._source_listeners: list[SourceListener] = []
        self._meter = _Meter()
        self._publisher: Publisher | None = None
        self._pipeline: Pipeline | None = None
        self._activity: ActivityStage = _PeopleCount()
        self._feed: FrameFeed | None = None
        self._source_state = SourceState.STARTING
        self._cpu_temp_c: float | None = None  # refreshed once a second, not per frame
        self._ready = False
        self._watchdog_period_s = _watchdog_period()
        self._last_watchdog = 0.0
        self._next_periodic = 0.0
        self._next_status = 0.0
        self._last_frame_at: float | None = None
        self._stall_logged = False
        self._extras: list[Callable[[], None]] = []  # closers of optional parts (HTTP server)
        self._flush_timeout_s = _STOP_FLUSH_S

    # ---- seams for other parts (HTTP preview, tests) ----------------------------------------------

    def add_observer(self, observer: FrameObserver) -> None:
        """Call `observer(frame, result, events, state, stats)` after every processed frame."""
        self._observers.append(observer)

    def add_source_listener(self, listener: SourceListener) -> None:
        """Call `listener(state, detail)` whenever the source state changes."""
        self._source_listeners.append(listener)

    @property
    def publisher(self) -> Publisher | None:
        """The publisher in use (None before `run` starts it)."""
        return self._publisher

    def stop(self) -> None:
        """Ask the loop to finish (thread- and signal-safe)."""
        self._stop.set()

    def request_reload(self) -> None:
        """Ask the loop to re-read the config file between frames (what SIGHUP does)."""
        self._reload.set()

    def stats(self, now: float | None = None) -> ServiceStats:
        """The current service figures."""
        now = time.monotonic() if now is None else now
        feed, pub, pipeline = self._feed, self._publisher, self._pipeline
        return ServiceStats(
            timestamp_ms=self._meter.last_timestamp_ms,
            fps=round(self._meter.fps(now), 2),
            frames=self._meter.frames,
            dropped_frames=feed.dropped_frames if feed is not None else 0,
            detector_ms=round(self._meter.detector_ms, 2),
            landmark_ms=round(self._meter.landmark_ms, 2),
            accelerator=pipeline.accelerator_name if pipeline is not None else self.config.model.accelerator,
            spool_depth=pub.spool_depth if pub is not None else 0,
            cpu_temp_c=self._cpu_temp_c,
            source=self._source_state,
            people=self._meter.people,
        )

    @property
    def connected(self) -> bool:
        """Whether the current publisher's transport is up (follows a publisher swapped by a reload)."""
        publisher = self._publisher
        return publisher is not None and publisher.connected

    @property
    def spool_depth(self) -> int:
        """Events the current publisher still has to deliver."""
        publisher = self._publisher
        return publisher.spool_depth if publisher is not None else 0

    # ---- lifecycle -------------------------------------------------------------------------------

    def run(self) -> int:
        """Start everything, process frames until stopped or the file ends, shut down; the exit code."""
        restore = self._install_signals()
        try:
            self._start()
            self._loop()
        finally:
            self._shutdown()
            restore()
        return 0

    def _start(self) -> None:
        config = self.config
        log.info(
            "starting: source %s, %s %s on %s, publish %s",
            config.source.uri,
            config.model.variant,
            config.model.precision,
            config.model.accelerator,
            config.service.publish,
        )
        # The source first: a missing camera fails in a second, before the models load.
        self._notifier.status(f"opening {config.source.uri}")
        self._feed = make_feed(config.source)
        self._feed.start()
        self._notifier.status("loading models")
        self._pipeline = self._pipeline_factory(config.model)
        self._activity = build_activity(config.activity, self._event_id_prefix())
        self._publisher = self._publisher_factory(config)
        self._publisher.start()
        self._start_http(config)

    def _event_id_prefix(self) -> str:
        """`<device>-<random>`: unique per engine instance, so ids never repeat across restarts."""
        return f"{self.config.mqtt.resolved_device_id()}-{secrets.token_hex(4)}"

    def _start_http(self, config: Config) -> None:
        """The optional preview/health server, fed as a frame observer."""
        if not config.http.enabled:
            return
        from edgepose.http.hub import PreviewHub
        from edgepose.http.server import PreviewServer

        hub = PreviewHub(
            recent_events=config.http.recent_events,
            stale_after_s=config.http.stale_after_s,
            zones=config.activity.zones,
        )
        hub.attach_publisher(self)  # the service answers for whichever publisher a reload put in place
        server = PreviewServer(config.http, hub, device_id=config.mqtt.resolved_device_id())
        server.start()
        self.add_observer(hub.update)
        set_source_state: Any = hub.set_source_state  # the hub takes edgepose.types.SourceState values
        self.add_source_listener(set_source_state)
        self._extras.append(server.close)
        log.info("http server on %s", server.url)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._reload.is_set():
                self._reload.clear()
                self._do_reload()
            feed = self._feed
            assert feed is not None
            item = feed.get(_POLL_S)
            now = time.monotonic()
            self._follow_source(feed)
            if item is END:
                log.info("end of %s after %d frames", self.config.source.uri, self._meter.frames)
                self._flush_timeout_s = _END_FLUSH_S
                break
            if isinstance(item, Frame):
                self._process(item, now)
            else:
                self._idle(now)
            if now >= self._next_periodic:
                self._periodic(now)

    def _process(self, frame: Frame, now: float) -> None:
        assert self._pipeline is not None and self._publisher is not None
        result = self._pipeline.detect(frame)
        events, state = self._activity.update(result)
        self._meter.add(now, result)
        publisher = self._publisher
        publisher.publish_pose(result)
        if events:
            publisher.publish_events(events)
        publisher.publish_state(state)
        if self._observers:
            stats = self.stats(now)
            for observer in self._observers:
                observer(frame, result, events, state, stats)
        self._last_frame_at = now
        if self._stall_logged:
            log.info("frames are flowing again")
            self._stall_logged = False
        if not self._ready:
            self._ready = True
            log.info(
                "first frame processed (%dx%d): ready",
                frame.width,
                frame.height,
                extra={"EDGEPOSE_SOURCE": self.config.source.uri, "EDGEPOSE_STATE": "ready"},
            )
            self._notifier.ready(self._status_text(now))
            self._last_watchdog = now
        elif now - self._last_watchdog >= self._watchdog_period_s:
            # Fed from real progress only: a stuck source or model stops these and systemd restarts us.
            self._notifier.watchdog()
            self._last_watchdog = now

    def _idle(self, now: float) -> None:
        since = self._last_frame_at
        limit = self.config.service.stall_warning_s
        if since is not None and not self._stall_logged and now - since >= limit:
            log.warning(
                "no frame from %s for %.0f s",
                self.config.source.uri,
                now - since,
                extra={"EDGEPOSE_SOURCE": self.config.source.uri, "EDGEPOSE_STATE": "stalled"},
            )
            self._stall_logged = True

    def _periodic(self, now: float) -> None:
        self._next_periodic = now + _PERIODIC_S
        self._cpu_temp_c = read_cpu_temp_c()
        assert self._publisher is not None
        # The publisher limits stats to [mqtt] stats_interval_s itself.
        self._publisher.publish_stats(self.stats(now))
        if now >= self._next_status:
            self._next_status = now + self.config.service.status_interval_s
            self._notifier.status(self._status_text(now))

    def _status_text(self, now: float) -> str:
        people = self._meter.people
        pub = self._publisher
        link = "connected" if pub is not None and pub.connected else "disconnected"
        text = (
            f"{self._meter.fps(now):.1f} fps, {people} {'person' if people == 1 else 'people'}, "
            f"{self.config.service.publish} {link}"
        )
        if self._source_state is not SourceState.RUNNING:
            text += f", source {self._source_state}"
        return text

    def _follow_source(self, feed: FrameFeed) -> None:
        if feed.state is not self._source_state:
            self._set_source_state(feed.state)

    def _set_source_state(self, state: SourceState) -> None:
        if state is self._source_state:
            return
        self._source_state = state
        detail = self.config.source.uri
        for listener in self._source_listeners:
            listener(state, detail)

    def _shutdown(self) -> None:
        self._notifier.stopping()
        self._stop.set()
        log.info("stopping")
        if self._feed is not None:
            # A capture thread stuck in a driver call is abandoned (it is a daemon thread).
            self._feed.close(timeout_s=0.5)
            self._follow_source(self._feed)
        for close_extra in reversed(self._extras):
            _quietly(close_extra)
        self._extras.clear()
        if self._pipeline is not None:
            _quietly(self._pipeline.close)
            self._pipeline = None
        if self._publisher is not None:
            publisher = self._publisher
            _quietly(lambda: publisher.close(timeout_s=self._flush_timeout_s))
        self._notifier.close()

    # ---- signals and reload ----------------------------------------------------------------------

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def on_stop(signum: int, _frame: FrameType | None) -> None:
            self._stop.set()

        def on_hup(signum: int, _frame: FrameType | None) -> None:
            self._reload.set()

        previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, on_stop),
            signal.SIGINT: signal.signal(signal.SIGINT, on_stop),
            signal.SIGHUP: signal.signal(signal.SIGHUP, on_hup),
        }

        def restore() -> None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        return restore

    def _do_reload(self) -> None:
        """Re-read and validate the config; apply what changed; keep the old config on any error."""
        if self._config_path is None:
            log.info("reload requested, but no config file was given: nothing to re-read")
            return
        self._notifier.reloading()
        try:
            new = apply_overrides(
                load_config(self._config_path), self._source_override, self._publish_override
            )
            changed = self._apply(new)
        except ConfigError as exc:
            log.error(
                "config reload failed, keeping the running config: %s",
                str(exc).splitlines()[0],
                extra={"EDGEPOSE_CONFIG": str(self._config_path)},
            )
        except EdgeposeError as exc:
            log.error("config reload failed, keeping the running config: %s", exc)
        else:
            log.info("config reloaded (%s)", ", ".join(changed) if changed else "no changes")
        self._notifier.ready(self._status_text(time.monotonic()))

    def _apply(self, new: Config) -> list[str]:
        old = self.config
        changed = [name for name in type(new).model_fields if getattr(new, name) != getattr(old, name)]
        if "model" in changed:
            pipeline = self._pipeline_factory(new.model)  # build first: a failure keeps the old one
            if self._pipeline is not None:
                self._pipeline.close()
            self._pipeline = pipeline
        if "activity" in changed:
            self._activity = build_activity(new.activity, self._event_id_prefix())
        if "mqtt" in changed or ("service" in changed and new.service.publish != old.service.publish):
            publisher = self._publisher_factory(new)
            if self._publisher is not None:
                self._publisher.close(timeout_s=1.5)
            publisher.start()
            self._publisher = publisher
        if "service" in changed:
            logging.getLogger().setLevel(new.service.log_level.upper())
        if "source" in changed:
            if self._feed is not None:
                self._feed.close(timeout_s=1.0)
            self._feed = make_feed(new.source)
            self._feed.start(open_now=False)
            # A new source is a new video: its clock may start again, and its people are new.
            if self._pipeline is not None:
                self._pipeline.reset()
            if "activity" not in changed:
                self._activity = build_activity(new.activity, self._event_id_prefix())
        if "http" in changed:
            log.warning("[http] changes take effect after a restart")
        self.config = new
        return changed


def _watchdog_period() -> float:
    """How often to send WATCHDOG=1: a third of systemd's timeout, else once a second (a no-op)."""
    interval = watchdog_interval_s()
    return interval / 3.0 if interval else 1.0


def _quietly(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        log.exception("error during shutdown")
