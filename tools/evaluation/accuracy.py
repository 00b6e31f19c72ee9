"""The accuracy table: every model against the most accurate one, MediaPipe 0.10.21 heavy (float).

Error: for each pose of the reference, the nearest pose of the model under test (hip centres within a
fifth of the person's height); the mean distance of the landmarks the reference sees (visibility
>= 0.5), as a share of the person's size (the longer side of the reference's landmark box); averaged
over the matched poses. A reference pose without a match is missed. Media: the held-out photos in
static mode (IMAGE), the held-out clips in tracking mode (VIDEO), landmarks unsmoothed on both sides.
edgepose looks for up to 4 people; the reference (legacy API) reports one.

The rule (issue 24), for lite, full and heavy: int8 within 0.5 percentage points of its float
variant on photos and clips; int8 heavy better than float full and int8 full better than float lite;
no person the float variant finds on the photos missed by int8.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgepose.pose.landmarker import PoseLandmarker
from edgepose.types import FULL_BODY_VARIANTS, FloatArray, ImageArray, ModelVariant, Precision, RunningMode
from tools.evaluation.fidelity import comparison_options, nearest_index, relative_distance
from tools.evaluation.media import HELD_OUT_CLIPS, HELD_OUT_IMAGES, Clip, clip, rgb
from tools.evaluation.reference import Frames, ReferenceFrame, mediapipe_poses

REFERENCE = ModelVariant.HEAVY
MIN_VISIBILITY = 0.5
MAX_INT8_GAP = 0.005  # int8 error - float error, as a share of the person's size (0.5 points)
# (int8 of the larger model, float of the smaller one it must beat)
PARETO = ((ModelVariant.HEAVY, ModelVariant.FULL), (ModelVariant.FULL, ModelVariant.LITE))


@dataclass(frozen=True, slots=True)
class FramePoses:
    """The poses one model found in one frame (frame-normalised landmarks, 33 x 5 each)."""

    width: int
    height: int
    poses: tuple[FloatArray, ...]


@dataclass(frozen=True, slots=True)
class Score:
    """One model on one media set, against a reference: per matched pose error, persons missed."""

    errors: tuple[float, ...]
    persons: int  # the reference's
    missed: int
    found: int  # poses the model reported in all

    @property
    def error(self) -> float:
        """Mean error over the matched poses (share of the person's size); NaN when none matched."""
        return float(np.mean(self.errors)) if self.errors else float("nan")


@dataclass(frozen=True, slots=True)
class Row:
    """One model: MediaPipe's own (precision None) or edgepose's, on the photos and on the clips."""

    variant: ModelVariant
    precision: Precision | None
    photos: Score
    clips: Score
    missed_of_float: Score | None = None  # int8 only: against its float variant's poses on the photos

    @property
    def label(self) -> str:
        """e.g. `edgepose full int8`, `MediaPipe lite`."""
        if self.precision is None:
            return f"MediaPipe {self.variant.value}"
        return f"edgepose {self.variant.value} {self.precision.value}"


@dataclass(frozen=True, slots=True)
class AccuracyTable:
    """All rows, with how many poses the reference found."""

    rows: tuple[Row, ...]
    photo_persons: int
    clip_poses: int

    def row(self, variant: ModelVariant, precision: Precision | None) -> Row:
        """The row of one model."""
        return next(r for r in self.rows if r.variant is variant and r.precision is precision)

    def render(self) -> str:
        """The table as Markdown."""
        lines = [
            f"Reference: MediaPipe 0.10.21 {REFERENCE.value} (float): {self.photo_persons} persons "
            f"in {len(HELD_OUT_IMAGES)} photos, {self.clip_poses} poses in "
            f"{sum(len(range(a, b, s)) for _, a, b, s in HELD_OUT_CLIPS)} clip frames.",
            "",
            "| model | photos error % | clips error % | photos: poses found / reference persons missed "
            "| clips: reference poses missed | photos: float's persons missed |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            lost = (
                ""
                if r.missed_of_float is None
                else f"{r.missed_of_float.missed} of {r.missed_of_float.persons}"
            )
            lines.append(
                f"| {r.label} | {100 * r.photos.error:.2f} | {100 * r.clips.error:.2f} "
                f"| {r.photos.found} / {r.photos.missed} | {r.clips.missed} | {lost} |"
            )
        return "\n".join(lines)

    def verdicts(self) -> list[tuple[bool, str]]:
        """Each clause of the rule for the edgepose variants present: (met, one line)."""
        out: list[tuple[bool, str]] = []
        variants = [v for v in ModelVariant if any(r.variant is v and r.precision for r in self.rows)]
        for variant in variants:
            flt, int8 = self.row(variant, Precision.FLOAT), self.row(variant, Precision.INT8)
            for media, a, b in (("photos", flt.photos, int8.photos), ("clips", flt.clips, int8.clips)):
                gap = b.error - a.error
                out.append(
                    (
                        gap <= MAX_INT8_GAP,
                        f"{variant.value} int8 - float on {media}: {100 * gap:+.2f} points "
                        f"(at most +{100 * MAX_INT8_GAP:.1f})",
                    )
                )
            lost = int8.missed_of_float
            assert lost is not None
            out.append(
                (
                    lost.missed == 0,
                    f"{variant.value} int8 misses {lost.missed} of float's {lost.persons} persons",
                )
            )
        for larger, smaller in PARETO:
            if larger in variants and smaller in variants:
                big, small = self.row(larger, Precision.INT8), self.row(smaller, Precision.FLOAT)
                for media, a, b in (("photos", big.photos, small.photos), ("clips", big.clips, small.clips)):
                    out.append(
                        (
                            a.error < b.error,
                            f"{larger.value} int8 {100 * a.error:.2f}% < {smaller.value} float "
                            f"{100 * b.error:.2f}% on {media}",
                        )
                    )
        return out


def legacy_timestamp_ms(index: int) -> int:
    """The timestamps MediaPipe's legacy solution gives frames: 33.333 ms apart from 33 ms on."""
    return round((index + 1) * 1000 / 30)


def photo_frames(media: Path) -> Frames:
    """The held-out photos as RGB arrays."""

    def frames() -> Iterator[ImageArray]:
        return (rgb(media / name) for name in HELD_OUT_IMAGES)

    return frames


def clip_frames(media: Path, spec: Clip) -> Frames:
    """One held-out clip's frames as RGB arrays."""
    name, start, stop, step = spec

    def frames() -> Iterator[ImageArray]:
        return (image for _, image in clip(media / name, start, stop, step))

    return frames


def edgepose_poses(
    frames: Frames,
    variant: ModelVariant,
    precision: Precision,
    mode: RunningMode,
    crops: list[ImageArray] | None,
) -> list[FramePoses]:
    """edgepose's poses per frame (up to 4 people, unsmoothed), collecting landmark crops into `crops`."""
    out = []
    with PoseLandmarker(comparison_options(variant, precision, mode, crops)) as landmarker:
        for index, image in enumerate(frames()):
            if mode is RunningMode.IMAGE:
                result = landmarker.detect(image)
            else:
                result = landmarker.detect_for_video(image, legacy_timestamp_ms(index))
            out.append(FramePoses(result.width, result.height, tuple(p.landmarks for p in result.poses)))
    return out


def as_frame_poses(frames: Sequence[ReferenceFrame]) -> list[FramePoses]:
    """MediaPipe's answers (one pose or none per frame) in the form edgepose's are kept."""
    return [FramePoses(f.width, f.height, () if f.landmarks is None else (f.landmarks,)) for f in frames]


def score(reference: Sequence[FramePoses], got: Sequence[FramePoses]) -> Score:
    """`got` against `reference`, frame by frame (see the module docstring)."""
    errors: list[float] = []
    persons = missed = found = 0
    for ref, mine in zip(reference, got, strict=True):
        size = np.array([ref.width, ref.height], dtype=np.float32)
        candidates = list(mine.poses)
        found += len(candidates)
        for pose in ref.poses:
            persons += 1
            index = nearest_index(pose, candidates, size)
            if index is None:
                missed += 1
                continue
            error = relative_distance(pose, candidates.pop(index), size, MIN_VISIBILITY)
            if not np.isnan(error):  # no landmark the reference sees: nothing to judge
                errors.append(error)
    return Score(tuple(errors), persons, missed, found)


def accuracy_table(
    media: Path,
    *,
    variants: Sequence[ModelVariant] = FULL_BODY_VARIANTS,
    mediapipe: Sequence[ModelVariant] = (ModelVariant.LITE, ModelVariant.FULL),
    reference_python: Path | None = None,
    crops: dict[ModelVariant, list[ImageArray]] | None = None,
) -> AccuracyTable:
    """Score edgepose's `variants` (float and int8) and MediaPipe's `mediapipe` against MediaPipe heavy.

    With `crops`, the float pipelines' landmark-model input crops are collected per variant.
    """
    photos = photo_frames(media)
    clips = [clip_frames(media, spec) for spec in HELD_OUT_CLIPS]

    def reference_of(variant: ModelVariant) -> tuple[list[FramePoses], list[FramePoses]]:
        image = mediapipe_poses(photos, variant, tracking=False, python=reference_python)
        video = [mediapipe_poses(c, variant, tracking=True, python=reference_python) for c in clips]
        return as_frame_poses(image), as_frame_poses([f for run in video for f in run])

    ref_photos, ref_clips = reference_of(REFERENCE)
    rows: list[Row] = []
    for variant in variants:
        runs: dict[Precision, tuple[list[FramePoses], list[FramePoses]]] = {}
        for precision in (Precision.FLOAT, Precision.INT8):
            keep = (
                crops.setdefault(variant, []) if crops is not None and precision is Precision.FLOAT else None
            )
            image = edgepose_poses(photos, variant, precision, RunningMode.IMAGE, keep)
            video = [f for c in clips for f in edgepose_poses(c, variant, precision, RunningMode.VIDEO, keep)]
            runs[precision] = image, video
        for precision, (image, video) in runs.items():
            lost = score(runs[Precision.FLOAT][0], image) if precision is Precision.INT8 else None
            rows.append(Row(variant, precision, score(ref_photos, image), score(ref_clips, video), lost))
    for variant in mediapipe:
        image, video = reference_of(variant)
        rows.append(Row(variant, None, score(ref_photos, image), score(ref_clips, video)))
    return AccuracyTable(
        tuple(rows), sum(len(f.poses) for f in ref_photos), sum(len(f.poses) for f in ref_clips)
    )
