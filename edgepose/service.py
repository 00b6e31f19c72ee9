"""The daemon: the composition root that builds every stage from the Config and runs them.

Threads: one capture thread (in the `FrameFeed`), this processing loop, the publisher's network
thread and, if enabled, the HTTP server's. One `threading.Event` stops them all; shutdown runs in
reverse order of start. systemd hears READY once the models are loaded (a missing camera is
waited for, STATUS says so), WATCHDOG from every turn of the loop (a read stuck in a driver is
abandoned by the feed; only a wedged loop stops it), STATUS every few seconds and STOPPING on
shutdown. SIGTERM/SIGINT stop, SIGHUP reloads the config. Exit 0 is a stop or the end of a file;
an error in any thread, or a source that ended without a frame, is 70 (EXIT_SOFTWARE).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgepose.config import Config, state_directory
from edgepose.config.model import ModelConfig
from edgepose.errors import EXIT_SOFTWARE
from edgepose.notify import Notifier
from edgepose.publish.base import Publisher
from edgepose.redact import redact
from edgepose.service_lifecycle import (
    Heartbeat,
    end_of_feed_exit_code,
    install_signals,
    quietly,
    watch_threads,
)
from edgepose.service_reload import apply_overrides, changed_sections, publisher_changed, reload_config
from edgepose.service_stages import (
    ActivityStage,
    FrameObserver,
    Pipeline,
    SourceListener,
    StagedReload,
    build_activity,
    build_pipeline,
    frame_poses,
    people_count,
    stamp_wall_ms,
    uses_models,
)
from edgepose.service_stats import Meter, read_cpu_temp_c, status_line
from edgepose.sources import END, FrameFeed, make_feed
from edgepose.types import Frame, ServiceStats, SourceState

log = logging.getLogger(__name__)

_POLL_S = 0.25  # longest the loop waits for a frame before checking stop, reload and timers
_PERIODIC_S = 1.0
_STOP_FLUSH_S = 1.5  # on SIGTERM: the whole shutdown stays well under 3 s; the rest stays spooled
_END_FLUSH_S = 10.0  # at the end of a file: deliver what was queued before exiting 0


def build_publisher(config: Config) -> Publisher:
    """The publisher `[service] publish` names, with the spool in the state directory."""
    from edgepose.activity.gestures import GESTURE_TYPES
    from edgepose.pose.families import model_skeleton
    from edgepose.publish import create_publisher

    publish, skeleton = config.service.publish, model_skeleton(config.model)
    return create_publisher(publish, config.mqtt, state_directory(config), GESTURE_TYPES, skeleton)


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
        stop_event: threading.Event | None = None,
        reload_event: threading.Event | None = None,
    ) -> None:
        """`stop_event`/`reload_event`: set by signal handlers installed early (edgepose run)."""
        self._config_path = config_path
        self._source_override = source_override
        self._publish_override = publish_override
        self.config = apply_overrides(config, source_override, publish_override)
        self._notifier = notifier if notifier is not None else Notifier()
        self._publisher_factory = publisher_factory
        self._pipeline_factory = pipeline_factory
        self._stop = stop_event if stop_event is not None else threading.Event()
        self._reload = reload_event if reload_event is not None else threading.Event()
        self._exit_code = 0
        self._observers: list[FrameObserver] = []
        self._source_listeners: list[SourceListener] = []
        self._meter = Meter()
        self._publisher: Publisher | None = None
        self._pipeline: Pipeline | None = None
        self._activity: ActivityStage = people_count()
        self._feed: FrameFeed | None = None
        self._source_state = SourceState.STARTING
        self._cpu_temp_c: float | None = None  # refreshed once a second, not per frame
        self._heartbeat = Heartbeat(self._notifier)
        self._next_periodic = 0.0
        self._next_status = 0.0
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
            accelerator=pipeline.accelerator_name
            if pipeline is not None
            else (self.config.model.accelerator if uses_models(self.config.source.uri) else "none"),
            spool_depth=pub.spool_depth if pub is not None else 0,
            cpu_temp_c=self._cpu_temp_c,
            source=self._source_state,
            people=self._meter.people,
            search=self._meter.search_counts(),
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
        restore = install_signals(self._stop, self._reload)
        unwatch = watch_threads(self._thread_crashed)
        try:
            self._start()
            self._loop()
        finally:
            self._shutdown()
            unwatch()
            restore()
        return self._exit_code

    def _thread_crashed(self, name: str) -> None:
        self._exit_code = EXIT_SOFTWARE
        self._stop.set()

    @property
    def _source_name(self) -> str:  # the URI as logs and status show it (credentials redacted)
        return redact(self.config.source.uri)

    def _start(self) -> None:
        config = self.config
        models = (
            f"{config.model.variant} {config.model.precision} on {config.model.accelerator}"
            if uses_models(config.source.uri)
            else "recorded poses"
        )
        log.info("starting: source %s, %s, publish %s", self._source_name, models, config.service.publish)
        # The source first: a missing file fails in a second, before the models load. A camera
        # that is not there is opened again and again by the feed while the daemon runs.
        self._notifier.status(f"opening {self._source_name}")
        self._feed = make_feed(config.source)
        self._feed.start(open_now=not self._feed.live)
        self._heartbeat.starting()
        self._pipeline = self._pipeline_for(config)
        self._heartbeat.starting()
        self._activity = build_activity(config.activity, self._event_id_prefix())
        self._publisher = self._publisher_factory(config)
        self._publisher.start()
        self._start_http(config)
        now = time.monotonic()
        self._follow_source(self._feed)
        self._heartbeat.ready(now, self._source_name, self._status_text(now))

    def _pipeline_for(self, config: Config) -> Pipeline | None:
        """The pose models, or None for a source that carries its poses (a replay loads no model)."""
        if not uses_models(config.source.uri):
            log.info("replaying recorded landmarks: no models loaded")
            return None
        self._notifier.status("loading models")
        return self._pipeline_factory(config.model)

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
            self._heartbeat.alive(now)
            feed.check_stuck(now)
            self._follow_source(feed)
            if item is END:
                self._flush_timeout_s = _END_FLUSH_S
                self._exit_code = end_of_feed_exit_code(feed, self._source_name, self._meter.frames)
                break
            if isinstance(item, Frame):
                self._process(item, now)
            else:
                self._heartbeat.idle(now, self._source_name, self.config.service.stall_warning_s)
            if now >= self._next_periodic:
                self._periodic(now)

    def _process(self, frame: Frame, now: float) -> None:
        assert self._publisher is not None
        result = frame_poses(frame, self._pipeline)
        events, state = self._activity.update(result)
        events = stamp_wall_ms(events)
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
        self._heartbeat.frame_processed(now, frame.width, frame.height, self._source_name)

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
        pub = self._publisher
        up = "connected" if pub is not None and pub.connected else "disconnected"
        link = f"{self.config.service.publish} {up}"
        return status_line(self._meter, now, self._source_state, link, self._source_detail())

    def _source_detail(self) -> str:
        """Why the source is not delivering (its last error), else its name; redacted."""
        feed = self._feed
        return redact(feed.last_error) if feed is not None and feed.last_error else self._source_name

    def _follow_source(self, feed: FrameFeed) -> None:
        if feed.state is not self._source_state:
            self._set_source_state(feed.state)

    def _set_source_state(self, state: SourceState) -> None:
        if state is self._source_state:
            return
        self._source_state = state
        detail = self._source_detail()
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
            quietly(close_extra)
        self._extras.clear()
        if self._pipeline is not None:
            quietly(self._pipeline.close)
            self._pipeline = None
        if self._publisher is not None:
            publisher = self._publisher
            quietly(lambda: publisher.close(timeout_s=self._flush_timeout_s))
        self._notifier.close()

    # ---- reload ------------------------------------------------------------------------------------

    def _do_reload(self) -> None:
        reload_config(
            self._config_path,
            self._apply,
            source_override=self._source_override,
            publish_override=self._publish_override,
            notifier=self._notifier,
            status=lambda: self._status_text(time.monotonic()),
        )

    def _apply(self, new: Config) -> list[str]:
        """Build every stage the change needs, then swap them all; on any failure nothing changes."""
        old = self.config
        changed = changed_sections(old, new)
        staged = self._build_stages(new, old, changed)  # raises, having closed what it built
        if staged.pipeline is not None or not uses_models(new.source.uri):
            if self._pipeline is not None:
                quietly(self._pipeline.close)  # replaced, or not needed by a replay
            self._pipeline = staged.pipeline
        if staged.activity is not None:
            self._activity = staged.activity
        if staged.publisher is not None:
            if self._publisher is not None:
                previous = self._publisher
                quietly(lambda: previous.close(timeout_s=1.5))
            staged.publisher.start()
            self._publisher = staged.publisher
        if "service" in changed:
            logging.getLogger().setLevel(new.service.log_level.upper())
        if staged.feed is not None:
            if self._feed is not None:
                self._feed.close(timeout_s=1.0)
            self._feed = staged.feed
            self._feed.start(open_now=False)
            # A new source is a new video: its clock may start again, and its people are new.
            if self._pipeline is not None:
                self._pipeline.reset()
        if "http" in changed:
            log.warning("[http] changes take effect after a restart")
        self.config = new
        return changed

    def _build_stages(self, new: Config, old: Config, changed: list[str]) -> StagedReload:
        """The new stages a reload needs, none started or swapped in yet."""
        staged = StagedReload()
        try:
            if uses_models(new.source.uri) and ("model" in changed or self._pipeline is None):
                staged.pipeline = self._pipeline_factory(new.model)
            if "activity" in changed or "source" in changed:
                staged.activity = build_activity(new.activity, self._event_id_prefix())
            if "mqtt" in changed or publisher_changed(old, new):
                staged.publisher = self._publisher_factory(new)
            if "source" in changed:
                staged.feed = make_feed(new.source)
        except BaseException:
            staged.discard()
            raise
        return staged
