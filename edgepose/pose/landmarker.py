"""PoseLandmarker: the BlazePose pipeline behind an API shaped like MediaPipe's Pose Landmarker.

IMAGE mode runs the detector and the landmark model on every image. VIDEO and LIVE_STREAM modes
track: each person's next ROI comes from their smoothed auxiliary landmarks, and the detector runs
only when fewer than `num_poses` people are tracked (at most every `detector_interval_frames`). A
track whose presence falls below `min_tracking_confidence` keeps its last ROI, and reports no pose,
for up to `track_grace_frames` frames before it ends.

Timings in each PoseResult: `detector_ms` and `landmark_ms` are the models' invoke times alone;
`preprocess_ms` (letterbox, crops) and `postprocess_ms` (decoding, smoothing, tracking) the rest.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from types import TracebackType

import numpy as np

from edgepose.inference.runtime import make_interpreter
from edgepose.pose.body_spec import body_spec
from edgepose.pose.detector import PoseDetector
from edgepose.pose.landmarker_options import (
    DEFAULT_PRECISION,
    DEFAULT_TRACK_GRACE_FRAMES,
    DEFAULT_VARIANT,
    ImageHook,
    InterpreterFactory,
    PoseLandmarkerOptions,
    ResultCallback,
    resolve_model_paths,
)
from edgepose.pose.landmarks import LandmarkModel, RoiLandmarks
from edgepose.pose.model_io import InterpreterLike, NonFiniteGuard
from edgepose.pose.roi import object_scale_px, roi_from_keypoints
from edgepose.pose.search import PersonSearch
from edgepose.pose.smoothing import smooth_segmentation
from edgepose.pose.stage_clock import StageTimer
from edgepose.pose.tracker import (
    DUPLICATE_MIN_IOU,
    Track,
    TrackIds,
    duplicate_tracks,
    pose_box,
    roi_box,
    select_newcomers,
)
from edgepose.types import (
    FrameImage,
    GateDecision,
    ImageArray,
    Pose,
    PoseResult,
    RunningMode,
    StageTimings,
    as_rgb,
    image_size,
)

__all__ = [
    "DEFAULT_PRECISION",
    "DEFAULT_TRACK_GRACE_FRAMES",
    "DEFAULT_VARIANT",
    "ImageHook",
    "InterpreterFactory",
    "PoseLandmarker",
    "PoseLandmarkerOptions",
    "ResultCallback",
    "resolve_model_paths",
]

log = logging.getLogger(__name__)


class PoseLandmarker:
    """Finds people and their 33 landmarks (25 with the upper-body model) in images or video frames.

    Use as a context manager, or call `close()`.
    """

    def __init__(self, options: PoseLandmarkerOptions) -> None:
        self.options = options.validated()
        detector_path, landmark_path = resolve_model_paths(options)
        factory = options.interpreter_factory or self._default_factory
        self.spec = body_spec(options.model)
        self.detector = PoseDetector(
            factory(detector_path), options.min_pose_detection_confidence, self.spec.detector_anchors
        )
        self.landmark_model = LandmarkModel(factory(landmark_path), self.spec)
        self.search = PersonSearch(options.search)
        self.detector_runs = 0  # every searched region counts one
        self._guard = NonFiniteGuard(f"{detector_path.name} / {landmark_path.name}")
        self._tracks: list[Track] = []
        self._ids = TrackIds()
        self._frames_since_detection = 0
        self._newcomer_slots = 0  # people the last detection may add
        self._frame_index = 0
        self._last_timestamp_ms: int | None = None
        self.dropped_frames = 0
        self._worker: threading.Thread | None = None
        self._inbox: queue.Queue[tuple[ImageArray, int] | None] = queue.Queue(maxsize=1)
        self._idle = threading.Semaphore(1)
        self._closed = False

    def _default_factory(self, path: Path) -> InterpreterLike:
        interpreter: InterpreterLike = make_interpreter(path, num_threads=self.options.threads)
        return interpreter

    @classmethod
    def create_from_options(cls, options: PoseLandmarkerOptions) -> PoseLandmarker:
        """MediaPipe-style constructor."""
        return cls(options)

    def __enter__(self) -> PoseLandmarker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the LIVE_STREAM worker (if any) and release the models."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._inbox.put(None)
            self._worker.join()
            self._worker = None
        self._tracks.clear()

    # -- public entry points -------------------------------------------------------------------

    def detect(self, image: ImageArray) -> PoseResult:
        """Poses in one image (IMAGE mode): detector and landmark model every time."""
        self._require(RunningMode.IMAGE)
        return self._process(image, 0, tracking=False)

    def detect_for_video(self, image: FrameImage, timestamp_ms: int) -> PoseResult:
        """Poses in the next video frame (VIDEO mode); timestamps must increase.

        A compressed frame (`DeferredImage`) is decoded in full only when a model runs on it.
        """
        self._require(RunningMode.VIDEO)
        self._check_timestamp(timestamp_ms)
        return self._process(image, timestamp_ms, tracking=True)

    def detect_async(self, image: ImageArray, timestamp_ms: int) -> bool:
        """Queue a live frame (LIVE_STREAM mode); False if dropped because the pipeline is busy.

        The result goes to `result_callback(result, image, timestamp_ms)` on a worker thread.
        """
        self._require(RunningMode.LIVE_STREAM)
        self._check_timestamp(timestamp_ms)
        if not self._idle.acquire(blocking=False):
            self.dropped_frames += 1
            return False
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="edgepose-landmarker", daemon=True)
            self._worker.start()
        self._inbox.put((image, timestamp_ms))
        return True

    def reset(self) -> None:
        """Forget all tracks (e.g. the video jumped)."""
        self._tracks.clear()
        self._last_timestamp_ms = None
        self.search.reset()

    # -- internals -------------------------------------------------------------------------------

    def _require(self, mode: RunningMode) -> None:
        if self._closed:
            raise ValueError("PoseLandmarker is closed")
        if self.options.running_mode is not mode:
            raise ValueError(f"this call needs running_mode {mode}, not {self.options.running_mode}")

    def _check_timestamp(self, timestamp_ms: int) -> None:
        if self._last_timestamp_ms is not None and timestamp_ms <= self._last_timestamp_ms:
            raise ValueError(f"timestamps must increase: {timestamp_ms} after {self._last_timestamp_ms}")
        self._last_timestamp_ms = timestamp_ms

    def _work(self) -> None:
        callback = self.options.result_callback
        assert callback is not None
        while True:
            item = self._inbox.get()
            if item is None:
                return
            image, timestamp_ms = item
            try:
                result = self._process(image, timestamp_ms, tracking=True)
                callback(result, image, timestamp_ms)
            except Exception:
                log.exception("pose pipeline failed on a live frame")
            finally:
                self._idle.release()

    def _wants_people(self, tracking: bool) -> bool:
        if not tracking or not self._tracks:
            return True
        wanted = len(self._tracks) < self.options.num_poses
        return wanted and self._frames_since_detection >= self.options.detector_interval_frames

    def _detect_new_tracks(
        self, image: FrameImage, timestamp_ms: int, tracking: bool, clock: StageTimer
    ) -> tuple[int, GateDecision]:
        width, height = image_size(image)
        tracked = [roi_box(t.roi, width, height) for t in self._tracks]
        with clock.stage("pre"):
            wanted = self._wants_people(tracking)
            regions, decision = self.search.choose(image, timestamp_ms, tracked, wanted, tracking)
        if not regions:
            return 0, decision
        with clock.stage("pre"):
            rgb = as_rgb(image)
        found = self.search.find(self.detector, rgb, regions, clock, self.options.detector_input_hook)
        self._frames_since_detection = 0
        self.detector_runs += len(regions)
        with clock.stage("post"):
            detections = [d for d in found if self._guard.finite(d.score, d.keypoints)]
            first, last = self.spec.detector_keypoints
            kps = [d.keypoints[[first, last]] for d in detections]
            rois = [roi_from_keypoints(k, width, height, self.spec.roi_scale) for k in kps]
            slots = self.options.num_poses - len(self._tracks)
            self._newcomer_slots = slots
            boxes = [roi_box(r, width, height) for r in rois]
            if self.spec.newcomers_by_person_box:
                tracked = [t.box or box for t, box in zip(self._tracks, tracked, strict=True)]
                boxes = [d.box for d in detections]
            chosen = select_newcomers(boxes, tracked, slots + self.spec.spare_candidates)
            for index in chosen:
                # Id 0 until the landmark model confirms the person, so rejected ones use no id.
                self._tracks.append(Track(0, rois[index], score=detections[index].score))
        return len(regions), decision

    def _process(self, image: FrameImage, timestamp_ms: int, tracking: bool) -> PoseResult:
        clock = StageTimer()
        if not isinstance(image, np.ndarray) and (self._tracks or not tracking):
            with clock.stage("pre"):  # the landmark model runs: decode once, the gate greys that
                image = as_rgb(image)
        if isinstance(image, np.ndarray) and (image.shape[2:] != (3,) or image.dtype != np.uint8):
            raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image.shape} {image.dtype}")
        width, height = image_size(image)
        if not tracking:
            self._tracks = []
            self._ids = TrackIds()
        self._frames_since_detection += 1
        runs, decision = self._detect_new_tracks(image, timestamp_ms, tracking, clock)
        # Decoded already if a model ran (the decode is kept); nothing decoded if nobody is there.
        rgb = as_rgb(image) if self._tracks else None
        outputs: list[tuple[Track, RoiLandmarks]] = []
        held: list[Track] = []
        model = self.landmark_model
        confirmed = 0  # newcomers that passed, when the spec tries spare candidates
        for track in self._tracks:
            spare = self.spec.spare_candidates > 0 and track.track_id == 0
            if spare and confirmed >= self._newcomer_slots:
                continue  # enough people found: the remaining candidates are not run
            assert rgb is not None
            with clock.stage("pre"):
                model.preprocess(rgb, track.roi)
            if self.options.landmark_input_hook is not None:
                self.options.landmark_input_hook(model.crop, track.roi)
            with clock.stage("landmark"):
                model.io.invoke()
            with clock.stage("post"):
                if spare:
                    if not self._confirms(model.presence(), tracking):
                        continue  # rejected candidate: dropped, the next one is tried
                    confirmed += 1
                if tracking and model.presence() < self.options.min_tracking_confidence:
                    if track.hold(self.options.track_grace_frames):
                        held.append(track)
                    continue
                track.missed_frames = 0
                out = model.postprocess(track.roi, width, height, self.options.output_segmentation_masks)
            world = out.world if out.world is not None else 0.0
            if self._guard.finite(out.presence, out.landmarks, world):  # else the track ends here
                outputs.append((track, out))
        with clock.stage("post"):
            poses = self._finish(outputs, timestamp_ms, width, height, tracking)
            self._keep_held(held, width, height)
        self._frame_index += 1
        timings = StageTimings(
            preprocess_ms=clock.ms["pre"],
            detector_ms=clock.ms["detector"],
            landmark_ms=clock.ms["landmark"],
            postprocess_ms=clock.ms["post"],
            total_ms=clock.total_ms(),
            detector_ran=runs > 0,
            detector_runs=runs,
            search=decision,
        )
        return PoseResult(timestamp_ms, self._frame_index - 1, width, height, tuple(poses), timings)

    def _finish(
        self,
        outputs: list[tuple[Track, RoiLandmarks]],
        timestamp_ms: int,
        width: int,
        height: int,
        tracking: bool,
    ) -> list[Pose]:
        """Smooth, derive next ROIs, merge duplicates and build the poses."""
        kept: list[tuple[Track, RoiLandmarks]] = []
        count = self.spec.pose_landmarks
        for track, out in outputs:
            if tracking:
                self._smooth(track, out, timestamp_ms, width, height)
            else:
                track.landmarks = out.landmarks[:count]
                track.world = out.world[:count] if out.world is not None else None
                track.mask = out.mask
                track.box = pose_box(track.landmarks)
                track.score = out.presence
            kept.append((track, out))
        boxes = [t.box or roi_box(t.roi, width, height) for t, _ in kept]
        # Older tracks win; new ones (id 0) rank after every confirmed track, best detection first.
        priority = [t.track_id if t.track_id else 1 << 30 for t, _ in kept]
        drop = duplicate_tracks(boxes, priority)
        kept = [pair for index, pair in enumerate(kept) if index not in drop]
        for track, _ in kept:
            if track.track_id == 0:
                track.track_id = self._ids.take()
        self._tracks = [t for t, _ in kept]
        poses: list[Pose] = []
        for track, out in kept:
            if out.presence < self.options.min_pose_presence_confidence:
                continue
            assert track.landmarks is not None
            poses.append(
                Pose(
                    landmarks=track.landmarks,
                    world_landmarks=track.world,
                    score=out.presence,
                    track_id=track.track_id,
                    skeleton=self.spec.skeleton,
                    roi=out.roi,
                    segmentation_mask=track.mask,
                )
            )
        return poses

    def _confirms(self, presence: float, tracking: bool) -> bool:
        """Whether a newcomer's presence makes it a reported pose (and, tracking, a kept track)."""
        floor = self.options.min_tracking_confidence if tracking else 0.0
        return presence >= max(self.options.min_pose_presence_confidence, floor)

    def _keep_held(self, held: list[Track], width: int, height: int) -> None:
        """Held tracks go on, unless a track seen in this frame already follows their person."""
        if not held:
            return
        following = [roi_box(t.roi, width, height) for t in self._tracks]
        held_boxes = [roi_box(t.roi, width, height) for t in held]
        keep = select_newcomers(held_boxes, following, len(held), DUPLICATE_MIN_IOU)
        self._tracks += [held[i] for i in keep]

    def _smooth(self, track: Track, out: RoiLandmarks, timestamp_ms: int, width: int, height: int) -> None:
        raw, count = out.landmarks, self.spec.pose_landmarks
        aux = raw[self.spec.aux_slice]
        scale_px = object_scale_px(aux[:, :2], width, height)
        smoother = track.smoother
        if self.options.smooth_landmarks:
            landmarks = smoother.smooth_normalized(
                filt=smoother.landmarks,
                vis=smoother.visibility,
                landmarks=raw[:count],
                timestamp_ms=timestamp_ms,
                image_width=width,
                image_height=height,
                object_scale_px=scale_px,
            )
            world = None
            if out.world is not None:
                world = smoother.smooth_world(out.world[:count], raw[:count, 3], timestamp_ms)
        else:
            landmarks = raw[:count].copy()
            world = out.world[:count].copy() if out.world is not None else None
        aux_smooth = smoother.smooth_normalized(
            filt=smoother.aux,
            vis=smoother.aux_visibility,
            landmarks=aux,
            timestamp_ms=timestamp_ms,
            image_width=width,
            image_height=height,
            object_scale_px=scale_px,
        )
        track.landmarks = landmarks
        track.world = world
        if out.mask is not None:
            track.mask = smooth_segmentation(out.mask, track.mask)
        track.roi = roi_from_keypoints(aux_smooth[:, :2], width, height, self.spec.roi_scale)
        track.box = pose_box(landmarks)
        track.score = out.presence
        track.age_frames += 1
