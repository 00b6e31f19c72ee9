#!/usr/bin/env python3
"""Scale sweep: how small a person edgepose (full_frame and zoom search) and MediaPipe still find.

  python scripts/scale_sweep.py [--media DIR] [--no-mediapipe] [--vtest-only] [--json OUT]

People from the test photos are pasted at 70..15% of the frame height into an empty 640x480 scene,
standing still (after stepping in) and walking (tools/evaluation/scale_sweep.py). The sequences are
written as lossless AVI files, and every pipeline reads the same files. Prints a Markdown table:
per scale, the share of frames where the person was found and the median landmark error against
the same person's landmarks at large scale (% of person size), and each pipeline's detector runs per
frame. MediaPipe (legacy `mp.solutions.pose`, complexity 1) runs in its reference virtualenv
(scripts/setup_reference.sh) through scripts/reference_pose.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from edgepose.paths import cache_dir
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.pose.search import SearchMode, SearchSettings
from edgepose.types import RunningMode
from tools.evaluation.scale_sweep import (
    FPS,
    FRACTIONS,
    ScaleTally,
    SweepFrame,
    cutouts,
    empty_scene,
    people_found,
    sweep_frames,
)

REPO = Path(__file__).resolve().parents[1]
PIPELINES = {
    "edgepose full_frame": SearchSettings(mode=SearchMode.FULL_FRAME, motion_gate=True),
    "edgepose zoom": SearchSettings(mode=SearchMode.ZOOM, motion_gate=True),
}


def write_clip(frames: list[SweepFrame], path: Path) -> None:
    """A lossless AVI of the frames (FFV1), so every pipeline decodes the same pixels."""
    height, width = frames[0].image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), FPS, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    writer.release()


def read_clip(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    images = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return images


def run_edgepose(path: Path, search: SearchSettings) -> tuple[list[list[np.ndarray]], int]:
    """Landmarks (33 x 2 pixels per pose) per frame, and the detector runs in all."""
    options = PoseLandmarkerOptions(RunningMode.VIDEO, num_poses=2, search=search)
    out: list[list[np.ndarray]] = []
    with PoseLandmarker(options) as landmarker:
        for index, image in enumerate(read_clip(path)):
            result = landmarker.detect_for_video(image, round(index * 1000 / FPS))
            size = np.array([result.width, result.height], dtype=np.float32)
            out.append([p.landmarks[:33, :2] * size for p in result.poses])
        return out, landmarker.detector_runs


def run_mediapipe(path: Path, python: Path) -> list[list[np.ndarray]]:
    """MediaPipe's landmarks per frame (it follows one person)."""
    proc = subprocess.run(
        [str(python), str(REPO / "scripts" / "reference_pose.py"), "--complexity", "1", "--video", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    out: list[list[np.ndarray]] = []
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        size = np.array([row["width"], row["height"]], dtype=np.float32)
        lms = row["landmarks"]
        out.append([] if lms is None else [np.array(lms, dtype=np.float32)[:33, :2] * size])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=cache_dir() / "media")
    parser.add_argument(
        "--mediapipe-python", type=Path, default=cache_dir() / "mediapipe-ref" / "bin" / "python"
    )
    parser.add_argument("--no-mediapipe", action="store_true")
    parser.add_argument("--vtest-only", action="store_true", help="only the vtest.avi hand-count table")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.vtest_only:
        print_vtest(args.media)
        return 0
    scene = empty_scene(args.media)
    people = cutouts(args.media)
    results: dict[str, dict[str, object]] = defaultdict(dict)
    with tempfile.TemporaryDirectory() as tmp:
        for walking in (False, True):
            motion = "walking" if walking else "still"
            frames = list(sweep_frames(scene, people, walking))
            path = Path(tmp) / f"sweep_{motion}.avi"
            write_clip(frames, path)
            runs: dict[str, list[list[np.ndarray]]] = {}
            runs_per_frame: dict[str, float] = {}
            for name, search in PIPELINES.items():
                runs[name], detector_runs = run_edgepose(path, search)
                runs_per_frame[name] = detector_runs / len(frames)
            if not args.no_mediapipe:
                runs["mediapipe full"] = run_mediapipe(path, args.mediapipe_python)
            for name, per_frame in runs.items():
                tallies = {f: ScaleTally() for f in FRACTIONS}
                for frame, poses in zip(frames, per_frame, strict=True):
                    if frame.reference_px is not None:
                        tallies[frame.fraction].add(frame.reference_px, poses)
                results[motion][name] = {
                    "detector_runs_per_frame": runs_per_frame.get(name),
                    "scales": {
                        f"{round(f * 100)}%": {"found": round(t.rate, 3), "error": t.median_error}
                        for f, t in tallies.items()
                    },
                }
    for motion, by_pipeline in results.items():
        print(f"\n{motion} (found % of frames / median landmark error % of person size)")
        names = list(by_pipeline)
        print("| height | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for f in FRACTIONS:
            cells = []
            for name in names:
                cell = by_pipeline[name]["scales"][f"{round(f * 100)}%"]  # type: ignore[index]
                err = "-" if cell["error"] is None else f"{100 * cell['error']:.1f}"
                cells.append(f"{100 * cell['found']:.0f}% / {err}")
            print(f"| {round(f * 100)}% | " + " | ".join(cells) + " |")
        per = [by_pipeline[n]["detector_runs_per_frame"] for n in names]
        print("| detector runs/frame | " + " | ".join("-" if p is None else f"{p:.2f}" for p in per) + " |")
    print_vtest(args.media)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def print_vtest(media: Path) -> None:
    """vtest.avi: people found on the hand-counted frames (tests/data/vtest_people.json)."""
    marks = json.loads((REPO / "tests" / "data" / "vtest_people.json").read_text())["frames"]
    last = max(int(f) for f in marks)
    images = read_clip(media / "vtest.avi")[: last + 1]
    print("\nvtest.avi (768x576, 10 fps; people found / counted by hand; extra poses covering nobody)")
    rows: dict[str, list[str]] = {}
    for name, search in PIPELINES.items():
        options = PoseLandmarkerOptions(RunningMode.VIDEO, num_poses=10, search=search)
        cells = []
        with PoseLandmarker(options) as landmarker:
            for index, image in enumerate(images):
                result = landmarker.detect_for_video(image, index * 100)
                if str(index) in marks:
                    size = np.array([result.width, result.height], dtype=np.float32)
                    poses = [p.landmarks[:33, :2] * size for p in result.poses]
                    covered, extra = people_found(marks[str(index)], poses)
                    cells.append(f"{covered}/{len(marks[str(index)])} (+{extra})")
            runs = landmarker.detector_runs / len(images)
        rows[name] = [*cells, f"{runs:.2f}"]
    print("| frame | " + " | ".join(rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    for i, frame in enumerate([*marks, "detector runs/frame"]):
        print(f"| {frame} | " + " | ".join(row[i] for row in rows.values()) + " |")


if __name__ == "__main__":
    sys.exit(main())
