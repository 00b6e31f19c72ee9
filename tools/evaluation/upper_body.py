"""Upper-body mode against MediaPipe 0.10.21's full-body model on waist-up photos and frames.

There is no MediaPipe 0.10 reference for the legacy upper-body model, so its face, shoulder,
elbow and wrist landmarks (BlazePose rows 0-16, the same rows in both skeletons) are compared with
the full-body model's, run by scripts/reference_pose.py in the reference virtualenv. Error = mean
(x, y) distance of those 17 landmarks divided by the longer side of the reference's box of them.
The images: waist-up crops of the test photos, and frames of `pan_zidane.avi` (waist-up already,
held out from calibration). The int8 models are also compared with the float ones directly, the
landmark model alone on the float pipeline's own ROI crops.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgepose.inference.models import ModelRole, model_path
from edgepose.inference.runtime import make_interpreter
from edgepose.pose.body_spec import UPPER_BODY
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.pose.landmarks import LandmarkModel
from edgepose.types import FloatArray, ImageArray, ModelVariant, Precision, Rect
from tools.evaluation.fidelity import crop_outputs, relative_distance
from tools.evaluation.media import clip, rgb

COMPARED_ROWS = slice(0, 17)  # nose .. wrists
# (photo, x0, y0, x1, y1) as fractions of the photo: one person each, cut at about the waist.
WAIST_UP_CROPS: tuple[tuple[str, float, float, float, float], ...] = (
    ("zidane.jpg", 0.5, 0.0, 1.0, 1.0),
    ("zidane.jpg", 0.05, 0.0, 0.55, 1.0),
    ("messi5.jpg", 0.25, 0.0, 0.75, 0.55),
    ("bus.jpg", 0.0, 0.2, 0.35, 0.65),
    ("basketball1.png", 0.0, 0.0, 1.0, 0.55),
    ("basketball2.png", 0.0, 0.0, 1.0, 0.55),
)
#: Frames of pan_zidane.avi (640x480, one to three people seen from the waist up): start, stop, step.
PAN_ZIDANE_FRAMES = (0, 150, 10)
#: Photos the int8 models were calibrated on (models/manifest.json): not held out.
CALIBRATION_PHOTOS = frozenset({"bus.jpg", "basketball1.png"})


@dataclass(frozen=True, slots=True)
class CropResult:
    """One crop: whether each side found the person, and the error when both did."""

    name: str
    reference_found: bool
    upper_found: bool
    error: float | None  # fraction of the person's upper-body extent


def write_crops(media: Path, out_dir: Path) -> list[Path]:
    """The waist-up crops as lossless PNG files (both pipelines read the same pixels)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for index, (photo, x0, y0, x1, y1) in enumerate(WAIST_UP_CROPS):
        image = cv2.imread(str(media / photo), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"cannot read {media / photo}")
        h, w = image.shape[:2]
        crop = image[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]
        path = out_dir / f"{index}_{Path(photo).stem}.png"
        cv2.imwrite(str(path), crop)
        paths.append(path)
    return paths


def write_frames(media: Path, out_dir: Path) -> list[Path]:
    """Frames PAN_ZIDANE_FRAMES of pan_zidane.avi as lossless PNG files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for timestamp_ms, frame in clip(media / "pan_zidane.avi", *PAN_ZIDANE_FRAMES):
        path = out_dir / f"pan_zidane_{timestamp_ms:05d}ms.png"
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def held_out(path: Path) -> bool:
    """Whether an image written here comes from media the int8 models were not calibrated on."""
    return not any(path.stem.endswith(Path(photo).stem) for photo in CALIBRATION_PHOTOS)


def reference_landmarks(python: Path, script: Path, paths: list[Path]) -> list[FloatArray | None]:
    """MediaPipe full-body (complexity 1, static mode) landmarks per image, None where none."""
    proc = subprocess.run(
        [str(python), str(script), "--complexity", "1", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return [None if ln["landmarks"] is None else np.asarray(ln["landmarks"], np.float32) for ln in lines]


def upper_body_landmarks(
    paths: list[Path],
    precision: Precision = Precision.FLOAT,
    crops: list[ImageArray] | None = None,
    num_poses: int = 1,
) -> list[list[FloatArray]]:
    """edgepose upper-body landmarks per image: up to `num_poses` poses, most confident first.

    With `crops`, every landmark-model input crop is appended to it.
    """

    def keep(crop: ImageArray, _roi: Rect) -> None:
        if crops is not None:
            crops.append(np.array(crop, copy=True))

    options = PoseLandmarkerOptions(
        model=ModelVariant.UPPER_BODY, precision=precision, num_poses=num_poses, landmark_input_hook=keep
    )
    with PoseLandmarker(options) as landmarker:
        return [[pose.landmarks for pose in landmarker.detect(rgb(path)).poses] for path in paths]


@dataclass(frozen=True, slots=True)
class CropDifference:
    """The int8 landmark model against the float one on one ROI crop."""

    float_presence: float
    presence_diff: float
    distance: float | None  # the 25 landmarks, share of float's extent; None: float rejects the crop


def landmark_model_differences(crops: list[ImageArray]) -> list[CropDifference]:
    """The float and int8 upper-body landmark models alone on the same crops (the float pipeline's)."""
    models = [
        LandmarkModel(
            make_interpreter(model_path(ModelRole.LANDMARK, ModelVariant.UPPER_BODY, precision)),
            UPPER_BODY,
        )
        for precision in (Precision.FLOAT, Precision.INT8)
    ]
    body = slice(0, UPPER_BODY.pose_landmarks)
    out: list[CropDifference] = []
    for crop in crops:
        (ref_presence, ref), (got_presence, got) = (crop_outputs(m, crop) for m in models)
        distance = relative_distance(ref[body], got[body]) if ref_presence >= 0.5 else None
        out.append(CropDifference(ref_presence, abs(ref_presence - got_presence), distance))
    return out


def _shoulder_centre(landmarks: FloatArray, size: FloatArray) -> FloatArray:
    return np.asarray(landmarks[11:13, :2].mean(axis=0) * size, dtype=np.float32)


def compare(
    paths: list[Path], refs: list[FloatArray | None], got: list[list[FloatArray]]
) -> list[CropResult]:
    """Per image: found or not on each side, and the error of rows 0-16 in pixels / extent.

    The reference reports one person; of edgepose's poses, the one whose shoulder centre is nearest
    the reference's is compared, if it lies within half the reference's extent (else edgepose found
    someone else: not found). Without a reference pose, found = any pose.
    """
    results: list[CropResult] = []
    for path, ref, poses in zip(paths, refs, got, strict=True):
        error = None
        found = bool(poses)
        if ref is not None and poses:
            h, w = rgb(path).shape[:2]
            size = np.array([w, h], dtype=np.float32)
            centre = _shoulder_centre(ref, size)
            gaps = [float(np.linalg.norm(_shoulder_centre(p, size) - centre)) for p in poses]
            extent = float(np.ptp(ref[COMPARED_ROWS, :2] * size, axis=0).max())
            found = min(gaps) <= 0.5 * extent
            if found:
                mine = poses[int(np.argmin(gaps))]
                error = relative_distance(ref[COMPARED_ROWS], mine[COMPARED_ROWS], size)
        results.append(CropResult(path.name, ref is not None, found, error))
    return results
