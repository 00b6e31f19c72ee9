"""The search for new people: where the detector looks, and how often, when someone is missing.

BlazePose's detector sees a 224x224 letterbox of the whole frame, so a person under about half the
frame's height is too small for it. In `zoom` mode the search also looks at zoomed square regions:
overlapping tiles at each zoom level (a slow sweep over the whole frame, so a person standing still
is found) and, first, the regions the motion gate saw change, each zoomed until the moving blob
fills the detector's input. A budget caps the detector runs per frame; the sweep goes on where it
stopped in the next frame. Detections from all regions are merged by NMS in frame coordinates.

The motion gate also serves `full_frame` mode: with nobody missing nothing runs; with someone
missing the detector runs on frames with motion, plus one sweep run per `sweep_interval_ms`.
"""

from __future__ import annotations

import contextlib
import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edgepose.pose.detector import PoseDetector, Square, box_iou, full_frame_square
from edgepose.pose.motion import MotionGate, MotionResult, MotionSettings
from edgepose.types import BBox, Detection, FrameImage, GateDecision, ImageArray, image_size

MERGE_IOU = 0.3  # boxes of one person seen from two regions overlap more than this
BLOB_FILL = 0.6  # a moving blob's long side fills this share of the zoomed region
TRACKED_COVER = 0.5  # a blob this much inside a tracked person's box is that person moving


class SearchMode(enum.StrEnum):
    """Where the detector looks for new people."""

    FULL_FRAME = "full_frame"
    ZOOM = "zoom"


class RegionKind(enum.StrEnum):
    """Where a searched region came from."""

    FULL = "full"
    TILE = "tile"
    MOTION = "motion"


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """The search's settings (`[model]` search keys in the config)."""

    mode: SearchMode = SearchMode.FULL_FRAME
    zoom_levels: tuple[float, ...] = (2.0, 3.0)
    overlap: float = 0.25
    detector_budget: int = 2
    motion_gate: bool = False
    sweep_interval_ms: int = 10_000
    motion: MotionSettings = field(default_factory=MotionSettings)
    max_zoom: float = 4.0  # motion regions zoom at most this much (a tiny blob is noise, not a person)
    # Zoomed regions look at many more windows than the whole frame, so they meet more look-alikes
    # (a bag on the grass scored 0.6-0.69 in the scale sweep's scene; people at 15-30% 0.8-0.99).
    zoom_min_score: float = 0.75

    def validated(self) -> SearchSettings:
        """Self, or a ValueError naming the bad setting."""
        if any(z <= 1.0 for z in self.zoom_levels):
            raise ValueError("zoom levels must be above 1")
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError("overlap must be within [0, 1)")
        if self.detector_budget < 1:
            raise ValueError("detector_budget must be at least 1")
        if not 0.0 <= self.zoom_min_score <= 1.0:
            raise ValueError("zoom_min_score must be within [0, 1]")
        if self.sweep_interval_ms < 1:
            raise ValueError("sweep_interval_ms must be at least 1")
        return self


@dataclass(frozen=True, slots=True)
class Region:
    """One square the detector looks at."""

    square: Square
    kind: RegionKind


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """The regions to search in one frame, and why."""

    decision: GateDecision
    regions: tuple[Region, ...]
    motion: MotionResult | None


def _positions(length: float, side: float, overlap: float) -> list[float]:
    if side >= length:
        return [(length - side) / 2.0]
    count = math.ceil((length - side) / (side * (1.0 - overlap)) - 1e-9) + 1
    step = (length - side) / (count - 1)
    return [i * step for i in range(count)]


def sweep_regions(
    width: int, height: int, zoom_levels: Sequence[float], overlap: float
) -> tuple[Region, ...]:
    """The whole frame, then each zoom level's overlapping square tiles covering the frame.

    Zoom is against the full-frame letterbox: at 2x a tile's side is half the frame's long side.
    """
    full = full_frame_square(width, height)
    regions = [Region(full, RegionKind.FULL)]
    for zoom in zoom_levels:
        side = full.side_px / zoom
        for y in _positions(height, side, overlap):
            for x in _positions(width, side, overlap):
                regions.append(Region(Square(x, y, side), RegionKind.TILE))
    return tuple(regions)


def motion_regions(
    blobs: Sequence[BBox], tracked: Sequence[BBox], width: int, height: int, max_zoom: float
) -> list[Region]:
    """A region per moving blob not already a tracked person, zoomed so the blob fills it."""
    full = full_frame_square(width, height)
    least = full.side_px / max_zoom
    out: list[Region] = []
    for blob in blobs:
        if blob.area > 0 and any(blob.intersect(t).area > TRACKED_COVER * blob.area for t in tracked):
            continue
        px = blob.scale(width, height)
        side = min(full.side_px, max(least, max(px.width, px.height) / BLOB_FILL))
        if side >= full.side_px:
            region = Region(full, RegionKind.FULL)
        else:
            cx, cy = (px.xmin + px.xmax) / 2.0, (px.ymin + px.ymax) / 2.0
            region = Region(Square(cx - side / 2.0, cy - side / 2.0, side), RegionKind.MOTION)
        if any(_square_iou(region.square, r.square) > 0.5 for r in out):
            continue
        out.append(region)
    return out


def _square_iou(a: Square, b: Square) -> float:
    box = BBox(a.x_px, a.y_px, a.x_px + a.side_px, a.y_px + a.side_px)
    return box.iou(BBox(b.x_px, b.y_px, b.x_px + b.side_px, b.y_px + b.side_px))


def body_box_px(detection: Detection, width: int, height: int) -> BBox:
    """The box, in pixels, of the circle the detector's keypoints 0 (hip centre) and 1 (a point
    on a circle around the whole body) describe; the detector's own box is only the face."""
    cx, cy = float(detection.keypoints[0, 0]) * width, float(detection.keypoints[0, 1]) * height
    ex, ey = float(detection.keypoints[1, 0]) * width, float(detection.keypoints[1, 1]) * height
    r = math.hypot(ex - cx, ey - cy)
    return BBox(cx - r, cy - r, cx + r, cy + r)


def _cut_at_inner_edge(body: BBox, region: Region, width: int, height: int) -> bool:
    """Whether the body reaches past an edge of a zoomed region that lies inside the frame (so the
    person may be cut there, and another region may see them whole)."""
    if region.kind is RegionKind.FULL:
        return False
    sq = region.square
    return (
        (sq.x_px > 0 and body.xmin < sq.x_px)
        or (sq.y_px > 0 and body.ymin < sq.y_px)
        or (sq.x_px + sq.side_px < width and body.xmax > sq.x_px + sq.side_px)
        or (sq.y_px + sq.side_px < height and body.ymax > sq.y_px + sq.side_px)
    )


def _box_array(boxes: Sequence[BBox]) -> np.ndarray[tuple[int, int], np.dtype[np.float32]]:
    return np.array([[b.xmin, b.ymin, b.xmax, b.ymax] for b in boxes], dtype=np.float32).reshape(-1, 4)


def merge_detections(
    found: Sequence[tuple[Region, Sequence[Detection]]], width: int, height: int
) -> list[Detection]:
    """One detection per person across regions (NMS in frame pixels), best first.

    Two detections are one person when their boxes (the detector's box is the face) overlap by
    IoU > MERGE_IOU; body circles are too coarse for that (people side by side share them). A
    detection whose body is cut by an inner region edge ranks after every whole one, so the region
    that sees the person whole wins; when no region does, the cut one is kept (the landmark model
    re-centres its ROI within a frame or two).
    """
    flat: list[tuple[Detection, BBox, bool]] = []
    for region, detections in found:
        for d in detections:
            body = body_box_px(d, width, height)
            flat.append((d, body, _cut_at_inner_edge(body, region, width, height)))
    flat.sort(key=lambda item: (item[2], -item[0].score))
    faces = _box_array([d.box.scale(width, height) for d, _, _ in flat])
    kept: list[Detection] = []
    alive = np.ones(len(flat), dtype=bool)
    for i, (detection, _, _) in enumerate(flat):
        if not alive[i]:
            continue
        kept.append(detection)
        alive &= box_iou(faces[i], faces) <= MERGE_IOU
    kept.sort(key=lambda d: -d.score)
    return kept


class StageClock(Protocol):
    """Times named stages (the landmarker's clock)."""

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A context timing one stage."""
        ...


class PersonSearch:
    """Plans each frame's search and runs the detector on the planned regions."""

    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings.validated()
        self.gate = MotionGate(settings.motion) if settings.motion_gate else None
        self._sweep: tuple[Region, ...] = ()
        self._frame_size: tuple[int, int] | None = None
        self._next_sweep = 0
        self._last_timestamp_ms: int | None = None
        self._credit = float(settings.detector_budget)  # the first frames search at once
        self._alternate = False
        # Frames by decision since start, for bench (the service counts them from each result).
        self.decisions: dict[GateDecision, int] = {d: 0 for d in GateDecision}

    def reset(self) -> None:
        """Start over (a new source): the gate forgets its background, the sweep restarts."""
        if self.gate is not None:
            self.gate.reset()
        self._last_timestamp_ms = None
        self._next_sweep = 0
        self._credit = float(self.settings.detector_budget)

    def sweep(self, width: int, height: int) -> tuple[Region, ...]:
        """The regions one full sweep visits for this frame size."""
        if self._frame_size != (width, height):
            self._frame_size = (width, height)
            zooms = self.settings.zoom_levels if self.settings.mode is SearchMode.ZOOM else ()
            self._sweep = sweep_regions(width, height, zooms, self.settings.overlap)
            self._next_sweep = 0
        return self._sweep

    def _take_sweep(self, count: int, width: int, height: int) -> list[Region]:
        sweep = self.sweep(width, height)
        out = []
        for _ in range(min(count, len(sweep))):
            out.append(sweep[self._next_sweep % len(sweep)])
            self._next_sweep = (self._next_sweep + 1) % len(sweep)
        return out

    def _take_alternating(self, width: int, height: int) -> Region:
        sweep = self.sweep(width, height)
        self._alternate = not self._alternate
        if self._alternate or len(sweep) == 1:
            return sweep[0]
        if self._next_sweep == 0:  # the whole frame is sweep[0]: go on with the tiles
            self._next_sweep = 1
        return self._take_sweep(1, width, height)[0]

    def plan(self, image: FrameImage, timestamp_ms: int, tracked: Sequence[BBox], wanted: bool) -> SearchPlan:
        """The regions to search in this frame (the gate sees every frame, wanted or not)."""
        width, height = image_size(image)
        s = self.settings
        budget = s.detector_budget
        sweep = self.sweep(width, height)
        if self._last_timestamp_ms is not None:
            # Sweep runs accrue in time, so one full sweep takes sweep_interval_ms at any frame rate.
            elapsed_ms = max(0, timestamp_ms - self._last_timestamp_ms)
            self._credit = min(float(budget), self._credit + elapsed_ms * len(sweep) / s.sweep_interval_ms)
        self._last_timestamp_ms = timestamp_ms
        if not wanted:
            # Everyone wanted is tracked: the background stays current, the cheap way (the
            # difference, its noise floor and the blobs cost ~2 ms a frame that nobody would use).
            if self.gate is not None:
                self.gate.follow(image, timestamp_ms)
            return SearchPlan(GateDecision.NOT_NEEDED, (), None)
        motion = self.gate.update(image, timestamp_ms) if self.gate is not None else None
        if motion is None:
            return SearchPlan(GateDecision.UNGATED, tuple(self._take_sweep(budget, width, height)), motion)
        regions: list[Region] = []
        moving = motion_regions(motion.regions, tracked, width, height, s.max_zoom) if motion.changed else []
        if moving and s.mode is SearchMode.FULL_FRAME:
            moving = [sweep[0]]
        regions += moving[:budget]
        decision = GateDecision.MOTION if regions else GateDecision.SKIPPED
        if tracked and not regions:
            # The gate saves the detector while nobody is tracked. With someone tracked the landmark
            # model runs anyway, and a second person who hardly moves beside them (a sofa) must not
            # wait for the slow sweep: one run per frame, the whole frame every other frame.
            return SearchPlan(GateDecision.UNGATED, (self._take_alternating(width, height),), motion)
        due = min(int(self._credit), budget - len(regions))
        if due > 0:
            self._credit -= due
            regions += self._take_sweep(due, width, height)
            if decision is GateDecision.SKIPPED:
                decision = GateDecision.SWEEP
        return SearchPlan(decision, tuple(regions), motion)

    def choose(
        self, image: FrameImage, timestamp_ms: int, tracked: Sequence[BBox], wanted: bool, tracking: bool
    ) -> tuple[tuple[Region, ...], GateDecision]:
        """This frame's regions and why, counted; one image (not tracking) gets every region."""
        if tracking:
            plan = self.plan(image, timestamp_ms, tracked, wanted)
            regions, decision = plan.regions, plan.decision
        else:
            width, height = image_size(image)
            regions, decision = self.sweep(width, height), GateDecision.UNGATED
        self.count(decision)
        return regions, decision

    def find(
        self,
        detector: PoseDetector,
        image: ImageArray,
        regions: Sequence[Region],
        clock: StageClock,
        input_hook: Callable[[ImageArray], None] | None = None,
    ) -> list[Detection]:
        """Run the detector on each region; the people found, merged, best first."""
        height, width = image.shape[:2]
        found: list[tuple[Region, list[Detection]]] = []
        for region in regions:
            with clock.stage("pre"):
                square = None if region.kind is RegionKind.FULL else region.square
                pad = detector.preprocess(image, square)
            if input_hook is not None:
                input_hook(detector.letterboxed)
            with clock.stage("detector"):
                detector.io.invoke()
            with clock.stage("post"):
                detections = detector.postprocess(pad)
                if region.kind is not RegionKind.FULL:
                    detections = [d for d in detections if d.score >= self.settings.zoom_min_score]
                found.append((region, detections))
        with clock.stage("post"):
            return merge_detections(found, width, height)

    def count(self, decision: GateDecision) -> None:
        """Count one frame's decision."""
        self.decisions[decision] += 1
