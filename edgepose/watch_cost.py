"""What it costs to watch: CPU per second of video with the daemon's capture, pose and activity stages.

`measure_watch_cost` plays a source in real time at the camera's rate, as the daemon does (a
capture thread paced at the rate, the pose pipeline and the activity engine on the frames it
delivers; publishing is left out), and accounts for the process's own CPU time with
`getrusage` (user and system, every thread: capture, the pipeline, XNNPACK's workers). Files
are re-timed to the rate, so any clip plays as a camera at that rate would deliver it. The first
frame (warm-up: XNNPACK packs weights on its first run) is left out of every figure.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from edgepose.config import Config
from edgepose.inference.models import ModelRole
from edgepose.sources import END, FrameFeed, create_source, parse_source_uri
from edgepose.sources.base import FrameSource
from edgepose.sources.uri import SourceKind
from edgepose.types import EventType, Frame, ModelVariant, Precision, SourceState


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Process CPU time (all threads) and a wall clock reading, in seconds."""

    wall_s: float
    user_s: float
    system_s: float

    @classmethod
    def now(cls) -> CpuSample:
        """The process's CPU time so far."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(time.monotonic(), usage.ru_utime, usage.ru_stime)


@dataclass(frozen=True, slots=True)
class CostTally:
    """What was counted while a clip played (the raw figures `CostReport` is computed from)."""

    frames: int
    video_ms: int  # media time from the warm-up frame to the last one (files: frames / rate)
    start: CpuSample
    end: CpuSample
    capture_cpu_s: float
    capture_reads: int
    pipeline_cpu_s: float
    detector_invoke_ms: tuple[float, ...]
    landmark_invoke_ms: tuple[float, ...]
    landmark_invoke_cpu_ms: tuple[float, ...]
    lag_ms: tuple[float, ...]
    people: int
    dropped_frames: int
    first_pose_ms: int | None  # media time from the first frame
    person_entered_ms: int | None


@dataclass(frozen=True, slots=True)
class CostReport:
    """The cost of watching one clip at one rate (CPU figures: seconds of one core)."""

    source: str
    rate_fps: float
    threads: int
    frames: int
    video_s: float
    wall_s: float
    user_s: float
    system_s: float
    cpu_s: float
    cpu_per_video_s: float  # 0.05 = 5 % of one core
    cpu_ms_per_frame: float
    capture_cpu_ms_per_frame: float  # source.read(): decoding or copying, and the RGB conversion
    pipeline_thread_cpu_ms_per_frame: float  # the processing thread: pose pipeline and activity
    detector_runs_per_s: float
    landmark_runs_per_s: float
    detector_invoke_ms_median: float | None
    landmark_invoke_ms_median: float | None
    landmark_invoke_cpu_ms_median: float | None  # the process's CPU time during one invoke
    cpu_per_frame_over_landmark_invoke: float | None  # against the invoke's CPU time
    people_per_frame: float
    lag_ms_p90: float  # processing done, after the frame was due (keeping up: about one frame or less)
    dropped_frames: int
    entered_at_s: float | None
    first_pose_s: float | None
    person_entered_s: float | None
    enter_latency_s: float | None  # person_entered after entered_at_s


def _median(values: tuple[float, ...]) -> float | None:
    return statistics.median(values) if values else None


def _p90(values: tuple[float, ...]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def cost_report(
    tally: CostTally, *, source: str, rate_fps: float, threads: int, entered_at_s: float | None
) -> CostReport:
    """The per-second and per-frame figures of a tally (pure arithmetic, no clock)."""
    frames = max(1, tally.frames)
    video_s = tally.video_ms / 1000.0
    user_s = tally.end.user_s - tally.start.user_s
    system_s = tally.end.system_s - tally.start.system_s
    cpu_s = user_s + system_s
    cpu_ms_per_frame = cpu_s * 1000.0 / frames
    landmark_cpu_median = _median(tally.landmark_invoke_cpu_ms)
    entered_s = None if tally.person_entered_ms is None else tally.person_entered_ms / 1000.0
    latency = None if entered_s is None or entered_at_s is None else entered_s - entered_at_s
    return CostReport(
        source=source,
        rate_fps=rate_fps,
        threads=threads,
        frames=tally.frames,
        video_s=video_s,
        wall_s=tally.end.wall_s - tally.start.wall_s,
        user_s=user_s,
        system_s=system_s,
        cpu_s=cpu_s,
        cpu_per_video_s=cpu_s / video_s if video_s > 0 else 0.0,
        cpu_ms_per_frame=cpu_ms_per_frame,
        capture_cpu_ms_per_frame=tally.capture_cpu_s * 1000.0 / max(1, tally.capture_reads),
        pipeline_thread_cpu_ms_per_frame=tally.pipeline_cpu_s * 1000.0 / frames,
        detector_runs_per_s=len(tally.detector_invoke_ms) / video_s if video_s > 0 else 0.0,
        landmark_runs_per_s=len(tally.landmark_invoke_ms) / video_s if video_s > 0 else 0.0,
        detector_invoke_ms_median=_median(tally.detector_invoke_ms),
        landmark_invoke_ms_median=_median(tally.landmark_invoke_ms),
        landmark_invoke_cpu_ms_median=landmark_cpu_median,
        cpu_per_frame_over_landmark_invoke=(
            cpu_ms_per_frame / landmark_cpu_median if landmark_cpu_median else None
        ),
        people_per_frame=tally.people / frames,
        lag_ms_p90=_p90(tally.lag_ms),
        dropped_frames=tally.dropped_frames,
        entered_at_s=entered_at_s,
        first_pose_s=None if tally.first_pose_ms is None else tally.first_pose_ms / 1000.0,
        person_entered_s=entered_s,
        enter_latency_s=latency,
    )


class MeteredSource:
    """A source whose `read()` CPU time (capture thread) is summed; files re-timed to `rate_fps`."""

    def __init__(self, inner: FrameSource, rate_fps: float, retime: bool) -> None:
        self._inner = inner
        self._rate_fps = rate_fps
        self._retime = retime
        self.cpu_s = 0.0
        self.reads = 0

    @property
    def live(self) -> bool:
        """As the wrapped source."""
        return self._inner.live

    def open(self) -> None:
        """Open the wrapped source."""
        self._inner.open()

    def read(self) -> Frame | None:
        """The wrapped source's next frame, its read CPU time counted."""
        start = time.thread_time()
        frame = self._inner.read()
        self.cpu_s += time.thread_time() - start
        if frame is None:
            return None
        self.reads += 1
        if not self._retime:
            return frame
        return Frame(frame.pixels, round(frame.index * 1000.0 / self._rate_fps), frame.index)

    def close(self) -> None:
        """Close the wrapped source."""
        self._inner.close()

    def __enter__(self) -> Self:
        """Open and return the source."""
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the source."""
        self.close()


class _TimedInterpreter:
    """An interpreter whose invoke() times are appended to lists (the rest passes through).

    Wall time, and CPU time during the call, which, unlike wall time, is not inflated when other
    programs hold the cores: the calling thread's with one interpreter thread (exact), else the
    process's (XNNPACK's workers included, and whatever the capture thread did meanwhile).
    """

    def __init__(
        self, inner: Any, invoke_ms: list[float], invoke_cpu_ms: list[float], cpu_clock: Callable[[], float]
    ) -> None:
        self._inner = inner
        self._invoke_ms = invoke_ms
        self._invoke_cpu_ms = invoke_cpu_ms
        self._cpu_clock = cpu_clock

    def invoke(self) -> None:
        start, start_cpu = time.perf_counter(), self._cpu_clock()
        self._inner.invoke()
        self._invoke_cpu_ms.append((self._cpu_clock() - start_cpu) * 1000.0)
        self._invoke_ms.append((time.perf_counter() - start) * 1000.0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class _CountingAccelerator:
    """The accelerator, with every interpreter it makes timed per model role."""

    inner: Any
    detector_ms: list[float] = field(default_factory=list)
    landmark_ms: list[float] = field(default_factory=list)
    landmark_cpu_ms: list[float] = field(default_factory=list)
    _detector_paths: set[Path] = field(default_factory=set)

    def model_path(self, role: ModelRole, variant: ModelVariant, precision: Precision) -> Path:
        path: Path = self.inner.model_path(role, variant, precision)
        if role is ModelRole.DETECTOR:
            self._detector_paths.add(path)
        return path

    def make_interpreter(self, model_path: Path) -> Any:
        # Any model that is not the detector is a landmark model (BlazePose's, pruned, or MoveNet).
        interpreter = self.inner.make_interpreter(model_path)
        single = getattr(self.inner, "threads", 0) == 1
        clock = time.thread_time if single else time.process_time
        if model_path in self._detector_paths:
            return _TimedInterpreter(interpreter, self.detector_ms, [], clock)
        return _TimedInterpreter(interpreter, self.landmark_ms, self.landmark_cpu_ms, clock)


def measure_watch_cost(
    config: Config, rate_fps: float, *, entered_at_s: float | None = None, max_seconds: float = 0.0
) -> CostReport:
    """Play `config.source` at `rate_fps` through the pose pipeline and activity engine; its cost."""
    from edgepose.inference.accelerators.base import AcceleratorSettings
    from edgepose.inference.accelerators.registry import open_accelerator
    from edgepose.pose.families import build_estimator
    from edgepose.service_stages import build_activity
    from edgepose.types import RunningMode

    source_config = config.source.model_copy(update={"fps": rate_fps, "realtime": True, "loop": False})
    uri = parse_source_uri(source_config.uri)
    metered = MeteredSource(create_source(uri, source_config), rate_fps, retime=uri.kind is SourceKind.FILE)
    model = config.model
    settings = AcceleratorSettings(cpu=model.cpu, edgetpu=model.edgetpu, threads=model.threads)
    accelerator = open_accelerator(model.accelerator, settings)
    counting = _CountingAccelerator(accelerator)
    try:
        estimator = build_estimator(model, counting, RunningMode.VIDEO)
        threads = int(getattr(accelerator, "threads", model.threads))
        activity = build_activity(config.activity, id_prefix="bench")
        feed = FrameFeed(
            lambda: metered, name=uri.text, live=uri.live, queue_frames=source_config.queue_frames
        )
        feed.start()
        try:
            tally = _play(
                feed,
                estimator=estimator,
                activity=activity,
                counting=counting,
                metered=metered,
                rate_fps=rate_fps,
                max_seconds=max_seconds,
            )
        finally:
            feed.close()
            estimator.close()
    finally:
        accelerator.close()
    return cost_report(tally, source=uri.text, rate_fps=rate_fps, threads=threads, entered_at_s=entered_at_s)


def _play(
    feed: FrameFeed,
    *,
    estimator: Any,
    activity: Any,
    counting: _CountingAccelerator,
    metered: MeteredSource,
    rate_fps: float,
    max_seconds: float,
) -> CostTally:
    """The processing loop; figures from the second frame on (the first one warms the models up)."""
    limit = round(max_seconds * rate_fps) if max_seconds > 0 else 0
    start: CpuSample | None = None
    origin: tuple[float, int] | None = None  # (monotonic s, media ms) once the warm-up frame is done
    last_ms = 0
    base: tuple[int, int, float, int] = (0, 0, 0.0, 0)  # invokes and capture figures at the start
    frames = people = 0
    pipeline_cpu_s = 0.0
    lag_ms: list[float] = []
    first_pose_ms: int | None = None
    entered_ms: int | None = None
    while True:
        item = feed.get(1.0)
        if item is END:
            break
        if not isinstance(item, Frame):
            if feed.state in (SourceState.FAILED, SourceState.ENDED):
                break
            continue
        thread_start = time.thread_time()
        result = estimator.detect_for_video(item.pixels, item.timestamp_ms)
        events, _state = activity.update(result)
        thread_cpu_s = time.thread_time() - thread_start
        if origin is None:  # the warm-up frame: the figures start once it is done
            start = CpuSample.now()
            origin = (start.wall_s, item.timestamp_ms)
        # Media time since the first frame (a camera's clock starts anywhere).
        media_ms = item.timestamp_ms - origin[1]
        if first_pose_ms is None and result.poses:
            first_pose_ms = media_ms
        if entered_ms is None and any(e.type is EventType.PERSON_ENTERED for e in events):
            entered_ms = media_ms
        if media_ms == 0:
            base = (len(counting.detector_ms), len(counting.landmark_ms), metered.cpu_s, metered.reads)
            continue
        frames += 1
        last_ms = media_ms
        people += len(result.poses)
        pipeline_cpu_s += thread_cpu_s
        due_s = origin[0] + (item.timestamp_ms - origin[1]) / 1000.0
        lag_ms.append(max(0.0, (time.monotonic() - due_s) * 1000.0))
        if limit and frames >= limit:
            break
    end = CpuSample.now()
    if start is None:
        start = end
    return CostTally(
        frames=frames,
        video_ms=last_ms,
        start=start,
        end=end,
        capture_cpu_s=metered.cpu_s - base[2],
        capture_reads=metered.reads - base[3],
        pipeline_cpu_s=pipeline_cpu_s,
        detector_invoke_ms=tuple(counting.detector_ms[base[0] :]),
        landmark_invoke_ms=tuple(counting.landmark_ms[base[1] :]),
        landmark_invoke_cpu_ms=tuple(counting.landmark_cpu_ms[base[1] :]),
        lag_ms=tuple(lag_ms),
        people=people,
        dropped_frames=feed.dropped_frames,
        first_pose_ms=first_pose_ms,
        person_entered_ms=entered_ms,
    )
