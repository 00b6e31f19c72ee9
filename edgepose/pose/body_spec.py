"""What differs between the full-body BlazePose models and the legacy upper-body model, as data.

The full-body models (lite, full, heavy) follow MediaPipe's current pose_landmark graphs. The
upper-body model follows the graphs that shipped it (MediaPipe early 2021, npm @mediapipe/pose
0.1.1612239201): its own detector (128x128 input, 896 anchors, the same four keypoints; the
current detector misses most waist-up people), `pose_detection_to_roi` aligns on the detector's
keypoints 2 and 3 (shoulder centre and upper-body circle point) and scales by 1.5; the model
outputs 31 rows of 5 values (the 25 landmarks, auxiliary alignment points at rows 25 and 26, then
rows the graph ignores), a presence flag that is already a probability, visibility logits, no
heatmap and no world landmarks; `pose_landmark_upper_body_landmarks_to_roi` tracks from rows 25
and 26, again scaled by 1.5.

MediaPipe's graph tries only the detector's best candidate. The upper-body detector's best one is
sometimes a ROI the landmark model rejects while the person is the next candidate (`zidane.jpg`),
so this mode tries up to `spare_candidates` more, best first, until `num_poses` people pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgepose.pose.anchors import POSE_DETECTOR_ANCHORS, UPPER_BODY_DETECTOR_ANCHORS, SsdAnchorOptions
from edgepose.skeleton import SkeletonKind
from edgepose.types import ModelVariant


@dataclass(frozen=True, slots=True)
class BodySpec:
    """How to read one family of landmark models and where to crop for it."""

    skeleton: SkeletonKind
    model_landmarks: int  # rows of 5 values in the landmark output tensor
    pose_landmarks: int  # the leading rows that are the skeleton's landmarks
    aux_start: int  # first of the two auxiliary rows (ROI centre, ROI scale point)
    detector_anchors: SsdAnchorOptions
    detector_keypoints: tuple[int, int]  # the detector keypoints the first ROI aligns on
    roi_scale: float
    # Newcomers are told apart by the detector's box, not the ROI's: upper-body ROIs are so large
    # (about 3x the visible body) that two people side by side overlap and one would be dropped.
    newcomers_by_person_box: bool
    # Extra detector candidates tried when a new one is rejected by the landmark model; 0 = MediaPipe.
    spare_candidates: int
    heatmap: bool  # a 64x64 heatmap output refines x, y
    world: bool  # a world-landmark output (metres)

    @property
    def aux_slice(self) -> slice:
        """Rows of the two auxiliary alignment points."""
        return slice(self.aux_start, self.aux_start + 2)


FULL_BODY = BodySpec(
    skeleton=SkeletonKind.BLAZEPOSE_33,
    model_landmarks=39,
    pose_landmarks=33,
    aux_start=33,
    detector_anchors=POSE_DETECTOR_ANCHORS,
    detector_keypoints=(0, 1),
    roi_scale=1.25,
    newcomers_by_person_box=False,
    spare_candidates=0,
    heatmap=True,
    world=True,
)

UPPER_BODY = BodySpec(
    skeleton=SkeletonKind.BLAZEPOSE_UPPER_25,
    model_landmarks=31,
    pose_landmarks=25,
    aux_start=25,
    detector_anchors=UPPER_BODY_DETECTOR_ANCHORS,
    detector_keypoints=(2, 3),
    roi_scale=1.5,
    newcomers_by_person_box=True,
    spare_candidates=2,
    heatmap=False,
    world=False,
)


def body_spec(variant: ModelVariant) -> BodySpec:
    """The spec of a landmark model variant."""
    return UPPER_BODY if variant is ModelVariant.UPPER_BODY else FULL_BODY
