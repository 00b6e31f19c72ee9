"""Multi-person tracking bookkeeping: tracks with stable ids, newcomer selection, duplicate merging.

Pure: ROIs and boxes in, decisions out. The landmarker runs the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgepose.pose.roi import landmarks_bbox, rect_bbox
from edgepose.pose.smoothing import PoseSmoother
from edgepose.types import BBox, FloatArray, Rect

NEW_PERSON_MAX_IOU = 0.5
DUPLICATE_MIN_IOU = 0.5


@dataclass(slots=True)
class Track:
    """One followed person: the ROI for the next frame and its own filters."""

    track_id: int
    roi: Rect
    smoother: PoseSmoother = field(default_factory=PoseSmoother)
    score: float = 0.0
    box: BBox | None = None  # landmarks' box in the last frame
    landmarks: FloatArray | None = None  # 33 x 5, last output
    world: FloatArray | None = None  # 33 x 3, last output
    mask: FloatArray | None = None  # last segmentation mask (frame size)
    age_frames: int = 0
    missed_frames: int = 0  # consecutive frames below the tracking confidence, ROI held

    def hold(self, grace_frames: int) -> bool:
        """Count a low-presence frame; True while a confirmed track may keep its ROI and go on."""
        if self.track_id == 0 or self.missed_frames >= grace_frames:
            return False
        self.missed_frames += 1
        return True


class TrackIds:
    """Hands out increasing track ids, starting at 1."""

    def __init__(self) -> None:
        self._next = 1

    def take(self) -> int:
        """A fresh id."""
        value = self._next
        self._next += 1
        return value


def select_newcomers(
    candidate_boxes: list[BBox],
    tracked_boxes: list[BBox],
    slots: int,
    max_iou: float = NEW_PERSON_MAX_IOU,
) -> list[int]:
    """Indices of candidates (given best first) that overlap no tracked person, at most `slots`."""
    chosen: list[int] = []
    taken = list(tracked_boxes)
    for index, box in enumerate(candidate_boxes):
        if len(chosen) >= slots:
            break
        if any(box.iou(other) > max_iou for other in taken):
            continue
        chosen.append(index)
        taken.append(box)
    return chosen


def duplicate_tracks(boxes: list[BBox], priority: list[int], min_iou: float = DUPLICATE_MIN_IOU) -> set[int]:
    """Indices of tracks following a person that a track of lower `priority` value already follows."""
    drop: set[int] = set()
    order = sorted(range(len(boxes)), key=lambda i: (priority[i], i))
    for pos, i in enumerate(order):
        if i in drop:
            continue
        for j in order[pos + 1 :]:
            if j not in drop and boxes[i].iou(boxes[j]) > min_iou:
                drop.add(j)
    return drop


def pose_box(landmarks: FloatArray) -> BBox:
    """The box of a person's 33 landmarks (x, y normalised)."""
    return landmarks_bbox(landmarks[:33])


def roi_box(rect: Rect, image_width: int, image_height: int) -> BBox:
    """The axis-aligned box of a ROI, normalised."""
    return rect_bbox(rect, image_width, image_height)
