#!/usr/bin/env python3
"""Fetch real photos and video of people from package registries into the edgepose cache.

Sources: Debian's `opencv-doc` (vtest.avi, basketball1/2.png, messi5.jpg) and the `ultralytics`
wheel on PyPI (bus.jpg, zidane.jpg). Also derives `pan_zidane.avi`, a 640x480 clip of a slow
camera pan, zoom and tilt over zidane.jpg, so tests have a video with large people in it, and the
watched-room clips of tools/evaluation/room_clips.py (empty_room.avi, walk_in.avi, one_person.avi,
three_people.avi: a still scene with sensor noise and light drift, as a fixed camera sees it).
Idempotent: files already in the cache are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: tools/ is a sibling

from tools.evaluation.room_clips import make_room_clips

OPENCV_DOC_FILES = ("vtest.avi", "basketball1.png", "basketball2.png", "messi5.jpg")
ULTRALYTICS_VERSION = "8.4.190"
ULTRALYTICS_FILES = ("bus.jpg", "zidane.jpg")
DERIVED_CLIP = "pan_zidane.avi"


def default_dir() -> Path:
    """The media cache folder, the same rule as edgepose.paths.media_dir()."""
    explicit = os.environ.get("EDGEPOSE_CACHE_DIR")
    if explicit:
        return Path(explicit) / "media"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "edgepose" / "media"


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def fetch_opencv_doc(dest: Path) -> None:
    """apt-get download opencv-doc and extract the sample media."""
    if all((dest / f).is_file() for f in OPENCV_DOC_FILES):
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)  # apt's sandbox user must be able to write here
        print("fetching opencv-doc (Debian) ...", file=sys.stderr)
        result = _run(["apt-get", "download", "opencv-doc"], tmp)
        if result.returncode != 0:
            _run(["apt-get", "update", "-qq"], tmp)
            result = _run(["apt-get", "download", "opencv-doc"], tmp)
        debs = list(tmp.glob("opencv-doc_*.deb"))
        if result.returncode != 0 or not debs:
            raise SystemExit(f"apt-get download opencv-doc failed: {result.stderr.strip()}")
        _run(["dpkg-deb", "-x", str(debs[0]), "x"], tmp)
        found = {p.name: p for p in (tmp / "x").rglob("*") if p.name in OPENCV_DOC_FILES}
        for name in OPENCV_DOC_FILES:
            if name not in found:
                raise SystemExit(f"opencv-doc has no {name}")
            shutil.copyfile(found[name], dest / name)


def fetch_ultralytics(dest: Path) -> None:
    """pip download the ultralytics wheel and take its two sample photos."""
    if all((dest / f).is_file() for f in ULTRALYTICS_FILES):
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"fetching ultralytics {ULTRALYTICS_VERSION} (PyPI) ...", file=sys.stderr)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "-d",
            str(tmp),
            f"ultralytics=={ULTRALYTICS_VERSION}",
        ]
        result = _run(cmd, tmp)
        wheels = list(tmp.glob("ultralytics-*.whl"))
        if result.returncode != 0 or not wheels:
            raise SystemExit(f"pip download ultralytics failed: {result.stderr.strip()}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in ULTRALYTICS_FILES:
                (dest / name).write_bytes(wheel.read(f"ultralytics/assets/{name}"))


def make_pan_clip(dest: Path, frames: int = 150, fps: float = 30.0) -> None:
    """A 640x480 MJPG clip: a window sliding, zooming and tilting over zidane.jpg."""
    out_path = dest / DERIVED_CLIP
    if out_path.is_file():
        return
    import cv2
    import numpy as np

    image = cv2.imread(str(dest / "zidane.jpg"))
    if image is None:
        raise SystemExit("cannot read zidane.jpg")
    h, w = image.shape[:2]
    tmp_path = dest / ("part-" + DERIVED_CLIP)
    writer = cv2.VideoWriter(str(tmp_path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    for i in range(frames):
        t = i / max(frames - 1, 1)
        phase = np.sin(np.pi * t)
        win_w = 960.0 - 160.0 * phase  # zoom in towards the middle of the clip
        cx = 480.0 + 320.0 * t
        cy = h / 2.0
        angle = 12.0 * np.sin(2.0 * np.pi * t)
        scale = 640.0 / win_w
        m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
        m[0, 2] += 320.0 - cx
        m[1, 2] += 240.0 - cy
        frame = cv2.warpAffine(image, m, (640, 480), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        writer.write(frame)
    writer.release()
    tmp_path.replace(out_path)
    _ = w


def main() -> int:
    """Fetch everything missing and print the folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=default_dir(), help="target folder")
    args = parser.parse_args()
    dest: Path = args.dest
    dest.mkdir(parents=True, exist_ok=True)
    fetch_opencv_doc(dest)
    fetch_ultralytics(dest)
    make_pan_clip(dest)
    make_room_clips(dest)
    for path in sorted(dest.iterdir()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{path}  {path.stat().st_size:>9}  sha256:{digest}", file=sys.stderr)
    print(dest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
