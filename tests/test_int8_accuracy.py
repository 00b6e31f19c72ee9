"""The committed int8 models against the float ones, on held-out media: the whole pipeline, and the
landmark model alone on the float pipeline's own crops.

Held out (never used for calibration, see models/manifest.json): messi5.jpg, zidane.jpg,
basketball2.png, the second half of vtest.avi and pan_zidane.avi. Bounds (issue 3): mean landmark
distance <= 2% of the person's height, nobody lost, presence and visibility within 0.1 of float
on average, for lite, full and heavy in IMAGE and VIDEO modes.
Also asserted: that bound on the float poses the float pipeline itself reproduces (within it,
none lost) when +-1 grey level of noise is added, for three seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgepose.types import ImageArray, ModelVariant, Precision, RunningMode
from tools.evaluation import fidelity
from tools.evaluation.fidelity import NOISE_SEEDS, Change, CropTally, Tally, jitter, summary
from tools.evaluation.media import HELD_OUT_CLIPS

pytestmark = pytest.mark.slow

MAX_DISTANCE_OF_HEIGHT = 0.02
MAX_SCORE_DIFF = 0.1
# What the committed models reach today (worst measured: 4.2% lite IMAGE, score diff 0.02).
GUARD_DISTANCE_OF_HEIGHT = 0.055
GUARD_SCORE_DIFF = 0.1

# The float pipeline's landmark-model crops of the unchanged held-out media, per variant.
_CROPS: dict[ModelVariant, list[ImageArray]] = {}


def run_images(
    media: Path, variant: ModelVariant, precision: Precision = Precision.INT8, change: Change | None = None
) -> Tally:
    crops = _CROPS.setdefault(variant, []) if change is None else None
    return fidelity.run_images(media, variant, precision, change, crops)


def run_video(
    media: Path, variant: ModelVariant, precision: Precision = Precision.INT8, change: Change | None = None
) -> Tally:
    crops = _CROPS.setdefault(variant, []) if change is None else None
    return fidelity.run_video(media, variant, precision, change, clips=HELD_OUT_CLIPS, crops=crops)


_TALLIES: dict[tuple[ModelVariant, RunningMode], Tally] = {}


def tally_for(media: Path, variant: ModelVariant, mode: RunningMode) -> Tally:
    """Run the comparison once per variant and mode (both tests below read it)."""
    key = (variant, mode)
    if key not in _TALLIES:
        _TALLIES[key] = run_images(media, variant) if mode is RunningMode.IMAGE else run_video(media, variant)
    return _TALLIES[key]


CASES = [(v, m) for v in ModelVariant for m in (RunningMode.IMAGE, RunningMode.VIDEO)]


def case_id(case: tuple[ModelVariant, RunningMode]) -> str:
    return f"{case[0].value}-{case[1].value}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_int8_stays_within_the_measured_bounds(media: Path, case: tuple[ModelVariant, RunningMode]) -> None:
    """Regression guard at what the committed models achieve today (see docs/models.md)."""
    tally = tally_for(media, *case)
    text = summary(tally, case_id(case))
    print(text)
    assert tally.float_poses >= 3, text  # the media must actually exercise the models
    assert tally.lost <= 0.35 * tally.float_poses, text
    assert np.mean(tally.distances) <= GUARD_DISTANCE_OF_HEIGHT, text
    assert np.mean(tally.visibility) <= MAX_SCORE_DIFF, text
    assert np.mean(tally.presence) <= MAX_SCORE_DIFF, text
    assert np.mean(tally.scores) <= GUARD_SCORE_DIFF, text


# Cases that do not meet the issue's bound yet (docs/models.md): strict, so fixing one shows up.
NOT_YET = pytest.mark.xfail(
    strict=True,
    reason="issue 3 bound not met through the whole pipeline: in VIDEO each ROI comes from the "
    "previous landmarks, and float against float with +-1 grey level of noise already loses up to "
    "20 / 14 / 30 poses and moves 1.6-2.5% of height; lite IMAGE rests on 3 poses and the half-hidden "
    "person of basketball2, whom float itself does not reproduce, decides it (scripts/int8_compare.py, "
    "docs/models.md)",
)
MET = {(ModelVariant.FULL, RunningMode.IMAGE), (ModelVariant.HEAVY, RunningMode.IMAGE)}
SPEC_CASES = [pytest.param(case, marks=() if case in MET else NOT_YET) for case in CASES]


@pytest.mark.parametrize("case", SPEC_CASES, ids=case_id)
def test_int8_meets_the_issue_bounds(media: Path, case: tuple[ModelVariant, RunningMode]) -> None:
    """The issue's bound: <= 2% of height, nobody lost, scores within 0.1 of float."""
    tally = tally_for(media, *case)
    text = summary(tally, case_id(case))
    assert tally.lost == 0, text
    assert np.mean(tally.distances) <= MAX_DISTANCE_OF_HEIGHT, text
    assert np.mean(tally.visibility) <= MAX_SCORE_DIFF, text
    assert np.mean(tally.presence) <= MAX_SCORE_DIFF, text
    assert np.mean(tally.scores) <= MAX_SCORE_DIFF, text


_REPRODUCED: dict[tuple[ModelVariant, RunningMode], list[bool]] = {}


def reproduced_for(media: Path, variant: ModelVariant, mode: RunningMode) -> list[bool]:
    """Per float pose: does the float pipeline find it again, within the bound, on every noisy copy?"""
    key = (variant, mode)
    if key not in _REPRODUCED:
        run = run_images if mode is RunningMode.IMAGE else run_video
        _REPRODUCED[key] = reproducible(
            [run(media, variant, Precision.FLOAT, jitter(seed)) for seed in NOISE_SEEDS]
        )
    return _REPRODUCED[key]


def reproducible(noisy_runs: list[Tally]) -> list[bool]:
    """Per float pose: found again, within the bound, in every float-against-noisy-float run."""
    return fidelity.reproducible(noisy_runs, MAX_DISTANCE_OF_HEIGHT)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_int8_meets_the_bound_on_the_poses_the_float_pipeline_reproduces(
    media: Path, case: tuple[ModelVariant, RunningMode]
) -> None:
    """The bound, on the float poses that float itself keeps within it when +-1 grey level is added.

    A pose that float moves by more than 2% (or loses) under invisible noise cannot tell a good int8
    model from a bad one: there the comparison measures the pipeline's own sensitivity (ROI feedback,
    detector thresholds, people crossing), which docs/models.md reports separately.
    """
    tally = tally_for(media, *case)
    keep = reproduced_for(media, *case)
    assert len(keep) == tally.float_poses  # the float pipeline is deterministic: same poses each run
    chosen = [d for d, k in zip(tally.per_pose, keep, strict=True) if k]
    found = [d for d in chosen if d is not None]
    text = (
        f"{case_id(case)}: {len(chosen)} of {tally.float_poses} float poses reproducible, int8 lost "
        f"{len(chosen) - len(found)}, distance {100 * np.mean(found):.2f}% (max {100 * max(found):.2f}%)"
    )
    print(text)
    assert len(chosen) >= (2 if case[1] is RunningMode.IMAGE else 30), text
    assert len(found) == len(chosen), text
    assert np.mean(found) <= MAX_DISTANCE_OF_HEIGHT, text


def crop_tally(media: Path, variant: ModelVariant) -> CropTally:
    """Both landmark models on every crop the float pipeline made in the IMAGE and VIDEO runs."""
    tally_for(media, variant, RunningMode.IMAGE)
    tally_for(media, variant, RunningMode.VIDEO)
    return fidelity.crop_tally(variant, _CROPS[variant])


@pytest.mark.parametrize("variant", list(ModelVariant), ids=lambda v: v.value)
def test_int8_landmark_model_alone_meets_the_bound_on_the_float_pipelines_crops(
    media: Path, variant: ModelVariant
) -> None:
    """Same ROI for both models, so no tracking feedback: <= 2% of the person's size, scores within 0.1."""
    tally = crop_tally(media, variant)
    text = (
        f"{variant.value}: {tally.crops} crops, {len(tally.distances)} with a person, distance "
        f"{100 * np.mean(tally.distances):.2f}% (p90 {100 * np.percentile(tally.distances, 90):.2f}%), "
        f"presence {np.mean(tally.presence):.3f}, visibility {np.mean(tally.visibility):.3f}"
    )
    print(text)
    assert len(tally.distances) >= 100, text
    assert np.mean(tally.distances) <= MAX_DISTANCE_OF_HEIGHT, text
    assert np.mean(tally.presence) <= MAX_SCORE_DIFF, text
    assert np.mean(tally.visibility) <= MAX_SCORE_DIFF, text
