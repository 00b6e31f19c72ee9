"""Fixtures for the MediaPipe reference: its virtualenv, cached runs of scripts/reference_pose.py,
and small test inputs derived from the real media (rotated photos, a one-person clip)."""

from __future__ import annotations

import json
import math
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tools.evaluation.reference import reference_venv

REPO = Path(__file__).resolve().parents[2]
COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
CLIP_FRAMES = 48

RefLines = list[dict[str, Any]]


@pytest.fixture(scope="session")
def reference_python() -> Path:
    """The MediaPipe reference interpreter, built by scripts/setup_reference.sh when missing."""
    python = reference_venv() / "bin" / "python"
    if not python.is_file() or os.environ.get("EDGEPOSE_REBUILD_REFERENCE"):
        subprocess.run(["bash", str(REPO / "scripts" / "setup_reference.sh")], check=True)
    return python


@pytest.fixture(scope="session")
def reference_run(
    reference_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., RefLines]:
    """Run scripts/reference_pose.py with arguments (cached per session); its JSON lines."""
    cache: dict[tuple[str, ...], RefLines] = {}
    workdir = tmp_path_factory.mktemp("reference")

    def run(*args: str) -> RefLines:
        key = tuple(args)
        if key not in cache:
            proc = subprocess.run(
                [str(reference_python), str(REPO / "scripts" / "reference_pose.py"), *args],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=workdir,
                check=False,
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            cache[key] = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        return cache[key]

    return run


def rotate_image(image: np.ndarray, degrees: float) -> np.ndarray:
    """The image turned counter-clockwise by `degrees`, canvas grown so nothing is cut off."""
    height, width = image.shape[:2]
    angle = math.radians(degrees)
    new_w = math.ceil(abs(width * math.cos(angle)) + abs(height * math.sin(angle)))
    new_h = math.ceil(abs(width * math.sin(angle)) + abs(height * math.cos(angle)))
    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), degrees, 1.0)
    matrix[0, 2] += (new_w - width) / 2.0
    matrix[1, 2] += (new_h - height) / 2.0
    return cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))


@pytest.fixture(scope="session")
def rotated_images(media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """messi5.jpg turned by 0, 30, 90 and 180 degrees, as lossless PNG files."""
    folder = tmp_path_factory.mktemp("rotated")
    image = cv2.imread(str(media / "messi5.jpg"), cv2.IMREAD_COLOR)
    out: dict[int, Path] = {}
    for degrees in (0, 30, 90, 180):
        path = folder / f"messi5_rot{degrees}.png"
        cv2.imwrite(str(path), rotate_image(image, degrees))
        out[degrees] = path
    return out


@pytest.fixture(scope="session")
def one_person_clip(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 48-frame 480x360 camera pan and zoom over messi5.jpg (one person), as a PNG sequence.

    Lossless frames so that edgepose and the reference decode identical pixels. Returns the
    printf-style pattern OpenCV's VideoCapture reads as a video.
    """
    folder = tmp_path_factory.mktemp("clip")
    image = cv2.imread(str(media / "messi5.jpg"), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    for index in range(CLIP_FRAMES):
        t = index / (CLIP_FRAMES - 1)
        zoom = 1.0 + 0.25 * math.sin(math.pi * t)
        win_w, win_h = width / zoom * 0.85, height / zoom * 0.85
        cx = width / 2.0 + (t - 0.5) * (width - win_w) * 0.8
        cy = height / 2.0 + 0.1 * (height - win_h) * math.sin(2 * math.pi * t)
        scale = 480.0 / win_w
        matrix = np.array(
            [[scale, 0.0, 240.0 - scale * cx], [0.0, 360.0 / win_h, 180.0 - 360.0 / win_h * cy]],
            dtype=np.float64,
        )
        frame = cv2.warpAffine(
            image, matrix, (480, 360), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        cv2.imwrite(str(folder / f"frame_{index:03d}.png"), frame)
    return folder / "frame_%03d.png"
