#!/usr/bin/env python3
"""Speed of edgepose against MediaPipe's legacy Pose on the same one-person clip, frame by frame.

Clip: pan_zidane.avi (640x480, 30 fps, 150 frames) cropped to its left 448 columns, where only
Zidane is (his neighbour enters the right side later), written as lossless PNG frames so both
decode identical pixels. Both run in tracking mode (edgepose VIDEO mode; MediaPipe
static_image_mode=False), with float models by default (`--precision int8`: the bundled int8
ones). edgepose's landmark model runs without the segmentation head it does not need; the shipped
model's invoke time is measured on the same crops too, for the
frame/invoke ratio against both). MediaPipe runs in its own virtualenv
(scripts/setup_reference.sh) as a server that processes one frame per request, so the two
alternate frame by frame: edgepose frame i, MediaPipe frame i, edgepose frame i+1, ... Both see
the same background load at the same moments. Only the pipeline call is timed (decoding excluded);
the first frame of each (warm-up) is left out. `--rounds` repeats the clip; the medians and fps
are over all rounds.

  .venv/bin/python scripts/bench_vs_mediapipe.py [--variants lite,full,heavy] [--threads 2] [--rounds 2]
      [--precision float|int8]

Prints one JSON line per variant and a summary table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgepose.inference.models import ModelRole, model_path
from edgepose.inference.runtime import make_interpreter
from edgepose.paths import cache_dir, media_dir
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.types import ModelVariant, Precision, RunningMode

REPO = Path(__file__).resolve().parent.parent
COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
CROP_WIDTH = 448


def write_clip(folder: Path) -> tuple[Path, list[Any]]:
    """The cropped clip as PNG frames (printf pattern) and as RGB arrays."""
    capture = cv2.VideoCapture(str(media_dir() / "pan_zidane.avi"))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        crop = bgr[:, :CROP_WIDTH].copy()
        cv2.imwrite(str(folder / f"f_{len(frames):03d}.png"), crop)
        frames.append(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    capture.release()
    if not frames:
        raise SystemExit("bench_vs_mediapipe: cannot read pan_zidane.avi (run scripts/fetch_media.py)")
    return folder / "f_%03d.png", frames


class MediaPipeServer:
    """scripts/reference_pose.py --serve: one MediaPipe frame per request."""

    def __init__(self, python: Path, pattern: Path, variant: str) -> None:
        self.proc = subprocess.Popen(
            [
                str(python),
                str(REPO / "scripts" / "reference_pose.py"),
                "--complexity",
                str(COMPLEXITY[variant]),
                "--serve",
                str(pattern),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        ready = json.loads(self.stdout.readline())
        self.frames = int(ready["ready"])

    def next_ms(self) -> tuple[float, bool]:
        """Process the next frame; its process() time and whether a pose was found."""
        self.stdin.write("next\n")
        self.stdin.flush()
        answer = json.loads(self.stdout.readline())
        return float(answer["process_ms"]), bool(answer["found"])

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=30)


def bench_variant(
    python: Path,
    pattern: Path,
    frames: list[Any],
    *,
    variant: str,
    threads: int,
    rounds: int,
    precision: Precision = Precision.FLOAT,
) -> dict[str, Any]:
    ours_ms: list[float] = []
    theirs_ms: list[float] = []
    invoke_ms: list[float] = []
    shipped_ms: list[float] = []
    ours_found = theirs_found = detector_runs = 0
    # The model as MediaPipe ships it (with the segmentation head edgepose prunes), timed on the
    # same crops, so "frame / invoke" can be given against both models.
    shipped = make_interpreter(
        model_path(ModelRole.LANDMARK, ModelVariant(variant), Precision.FLOAT, masks=True), threads
    )
    shipped_input = shipped.get_input_details()[0]["index"]
    crops: list[Any] = []
    for _ in range(rounds):
        options = PoseLandmarkerOptions(
            running_mode=RunningMode.VIDEO,
            model=ModelVariant(variant),
            precision=precision,
            threads=threads,
            landmark_input_hook=lambda crop, _roi: crops.append(crop.copy()),
        )
        server = MediaPipeServer(python, pattern, variant)
        try:
            with PoseLandmarker(options) as landmarker:
                for index, decoded in enumerate(frames):
                    image = decoded.copy()  # freshly written, as a camera frame would be (both sides)
                    start = time.perf_counter()
                    result = landmarker.detect_for_video(image, round((index + 1) * 1000 / 30))
                    elapsed = (time.perf_counter() - start) * 1000.0
                    their_ms, found = server.next_ms()
                    if index == 0:
                        continue
                    ours_ms.append(elapsed)
                    theirs_ms.append(their_ms)
                    ours_found += bool(result.poses)
                    theirs_found += found
                    if result.poses and not result.timings.detector_ran:
                        invoke_ms.append(result.timings.landmark_ms)
                        shipped.set_tensor(
                            shipped_input, (crops[-1][None] / np.float32(255)).astype(np.float32)
                        )
                        start = time.perf_counter()
                        shipped.invoke()
                        shipped_ms.append((time.perf_counter() - start) * 1000.0)
                    crops.clear()
                detector_runs += landmarker.detector_runs
        finally:
            server.close()
    ours_fps = len(ours_ms) / (sum(ours_ms) / 1000.0)
    theirs_fps = len(theirs_ms) / (sum(theirs_ms) / 1000.0)
    frame_median = statistics.median(ours_ms)
    invoke_median = statistics.median(invoke_ms)
    return {
        "variant": variant,
        "precision": str(precision),
        "frames": len(ours_ms),
        "threads": threads,
        "edgepose_fps": round(ours_fps, 1),
        "edgepose_frame_ms_median": round(frame_median, 2),
        "edgepose_landmark_invoke_ms_median": round(invoke_median, 2),
        "edgepose_detector_runs": detector_runs,
        "edgepose_frames_with_pose": ours_found,
        "mediapipe_fps": round(theirs_fps, 1),
        "mediapipe_frame_ms_median": round(statistics.median(theirs_ms), 2),
        "mediapipe_frames_with_pose": theirs_found,
        "speedup_fps": round(ours_fps / theirs_fps, 2),
        "frame_over_invoke": round(frame_median / invoke_median, 3),
        "shipped_model_invoke_ms_median": round(statistics.median(shipped_ms), 2),
        "frame_over_shipped_invoke": round(frame_median / statistics.median(shipped_ms), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="lite,full,heavy")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--precision", choices=[p.value for p in Precision], default="float", help="edgepose's models"
    )
    args = parser.parse_args()
    python = cache_dir() / "mediapipe-ref" / "bin" / "python"
    if not python.is_file():
        subprocess.run(["bash", str(REPO / "scripts" / "setup_reference.sh")], check=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pattern, frames = write_clip(Path(tmp))
        for variant in args.variants.split(","):
            row = bench_variant(
                python,
                pattern,
                frames,
                variant=variant,
                threads=args.threads,
                rounds=args.rounds,
                precision=Precision(args.precision),
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\nvariant  edgepose fps  mediapipe fps  speedup  frame/invoke  frame/shipped-invoke")
    for r in rows:
        print(
            f"{r['variant']:<8} {r['edgepose_fps']:>12} {r['mediapipe_fps']:>14} {r['speedup_fps']:>8} "
            f"{r['frame_over_invoke']:>13} {r['frame_over_shipped_invoke']:>21}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
