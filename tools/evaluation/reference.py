"""MediaPipe 0.10.21's legacy `mp.solutions.pose` as a reference, run in its own virtualenv, cached on disk.

The reference venv (scripts/setup_reference.sh) has its own OpenCV, which decodes some videos
(vtest.avi) differently from edgepose's. So the frames are decoded here, written as lossless PNG
files, and scripts/reference_pose.py reads those: both sides see the same pixels. Its outputs are
deterministic, so they are kept in the cache under a key made of the pixels, the settings, the
script and the venv's pinned requirements; a repeated run reads them back.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgepose.paths import cache_dir
from edgepose.types import FloatArray, ImageArray, ModelVariant

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "reference_pose.py"
COMPLEXITY = {ModelVariant.LITE: 0, ModelVariant.FULL: 1, ModelVariant.HEAVY: 2}
TIMEOUT_S = 900.0

Frames = Callable[[], Iterable[ImageArray]]  # a fresh iterator over the same RGB frames on each call


class MediaPipeReferenceError(RuntimeError):
    """The reference could not be run (venv missing, script failed)."""


@dataclass(frozen=True, slots=True)
class ReferenceFrame:
    """The reference's pose in one frame: 33 x (x, y, z, visibility, presence), or None."""

    width: int
    height: int
    landmarks: FloatArray | None


def reference_venv() -> Path:
    """Where scripts/setup_reference.sh builds the reference virtualenv."""
    return cache_dir() / "mediapipe-ref"


def reference_python() -> Path:
    """The reference venv's interpreter; a clear error if it is not built."""
    python = reference_venv() / "bin" / "python"
    if not python.is_file():
        raise MediaPipeReferenceError(
            f"no MediaPipe reference at {reference_venv()}: run bash scripts/setup_reference.sh"
        )
    return python


def mediapipe_poses(
    frames: Frames, variant: ModelVariant, *, tracking: bool, python: Path | None = None
) -> list[ReferenceFrame]:
    """MediaPipe's pose per frame: static images (`tracking` False) or one clip in tracking mode.

    Tracking mode runs without landmark smoothing (raw model outputs, as compared here).
    Read from the cache when these exact frames and settings were run before.
    """
    python = python or reference_python()
    key = _cache_key(frames, variant, tracking, python)
    path = cache_dir() / "reference" / f"{variant.value}-{'video' if tracking else 'image'}-{key[:24]}.json"
    if path.is_file():
        return _parse(json.loads(path.read_text()))
    lines = _run(frames, variant, tracking, python)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(lines))
    partial.replace(path)  # atomic: a concurrent reader sees the whole file or none
    return _parse(lines)


def _cache_key(frames: Frames, variant: ModelVariant, tracking: bool, python: Path) -> str:
    digest = hashlib.sha256()
    pins = python.parent.parent / ".requirements.sha256"  # written by setup_reference.sh
    digest.update(pins.read_bytes() if pins.is_file() else str(python.resolve()).encode())
    digest.update(SCRIPT.read_bytes())
    digest.update(f"{COMPLEXITY[variant]} tracking={tracking} smooth=False".encode())
    for image in frames():
        digest.update(f"{image.shape}".encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


def _run(frames: Frames, variant: ModelVariant, tracking: bool, python: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="edgepose-reference-") as folder:
        paths = []
        for index, image in enumerate(frames()):
            paths.append(Path(folder) / f"frame_{index:04d}.png")
            cv2.imwrite(str(paths[-1]), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not paths:
            raise MediaPipeReferenceError("no frames to run the reference on")
        args = ["--complexity", str(COMPLEXITY[variant])]
        # OpenCV reads a printf-style pattern of numbered images as a video.
        args += (
            ["--video", str(Path(folder) / "frame_%04d.png"), "--no-smooth"] if tracking else map(str, paths)
        )
        proc = subprocess.run(
            [str(python), str(SCRIPT), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            cwd=folder,
            check=False,
        )
    if proc.returncode != 0:
        raise MediaPipeReferenceError(f"reference_pose.py exited {proc.returncode}: {proc.stderr[-2000:]}")
    lines: list[dict[str, Any]] = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(lines) != len(paths):
        raise MediaPipeReferenceError(f"reference_pose.py answered {len(lines)} of {len(paths)} frames")
    return lines


def _parse(lines: list[dict[str, Any]]) -> list[ReferenceFrame]:
    out = []
    for line in lines:
        landmarks = line["landmarks"]
        out.append(
            ReferenceFrame(
                width=int(line["width"]),
                height=int(line["height"]),
                landmarks=None if landmarks is None else np.asarray(landmarks, dtype=np.float32),
            )
        )
    return out
