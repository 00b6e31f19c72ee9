"""Upper-body mode against MediaPipe 0.10.21's full-body model on waist-up photos.

There is no MediaPipe 0.10 reference for the legacy upper-body model, so its face, shoulder,
elbow and wrist landmarks (BlazePose rows 0-16, the same rows in both skeletons) are compared with
the full-body model's, run by scripts/reference_pose.py in the reference virtualenv. Error = mean
(x, y) distance of those 17 landmarks divided by the longer side of the reference's box of them.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.types import FloatArray, ModelVariant, Precision
from tools.evaluation.fidelity import relative_distance
from tools.evaluation.media import rgb

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


def upper_body_landmarks(paths: list[Path]) -> list[FloatArray | None]:
    """edgepose upper-body (float) landmarks per image, the most confident pose, None where none."""
    options = PoseLandmarkerOptions(model=ModelVariant.UPPER_BODY, precision=Precision.FLOAT)
    out: list[FloatArray | None] = []
    with PoseLandmarker(options) as landmarker:
        for path in paths:
            poses = landmarker.detect(rgb(path)).poses
            out.append(poses[0].landmarks if poses else None)
    return out


def compare(
    paths: list[Path], refs: list[FloatArray | None], got: list[FloatArray | None]
) -> list[CropResult]:
    """Per crop: found or not on each side, and the error of rows 0-16 in pixels / extent."""
    results: list[CropResult] = []
    for path, ref, mine in zip(paths, refs, got, strict=True):
        error = None
        if ref is not None and mine is not None:
            h, w = rgb(path).shape[:2]
            size = np.array([w, h], dtype=np.float32)
            error = relative_distance(ref[COMPARED_ROWS], mine[COMPARED_ROWS], size)
        results.append(CropResult(path.name, ref is not None, mine is not None, error))
    return results
