#!/usr/bin/env python3
"""Invoke time of the float and int8 models at 1 and 2 threads, measured alternately in one run,
and end-to-end frames per second of the pipeline (VIDEO mode) with each.

    python scripts/bench_models.py [--repeats 5] [--invokes 30] [--variants lite,full,heavy]

Float and int8 interpreters are built side by side and timed in alternating rounds (median of the
per-round medians), so a busy machine slows both alike. Landmark models are timed as the
pipeline runs them: the `_nomask` files without the segmentation decoder, and also whole (int8
whole files only where a local `--precision int8` build wrote them; they are not shipped).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgepose.errors import ModelError  # noqa: E402
from edgepose.inference.models import ModelRole, model_path  # noqa: E402
from edgepose.inference.runtime import make_interpreter  # noqa: E402
from edgepose.paths import media_dir  # noqa: E402
from edgepose.types import ModelVariant, Precision  # noqa: E402


def _median_invoke_ms(interp: Any, invokes: int) -> float:
    times = []
    for _ in range(invokes):
        t0 = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def _ready(path: Path, threads: int) -> Any:
    interp = make_interpreter(path, num_threads=threads)
    detail = interp.get_input_details()[0]
    interp.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    for _ in range(3):
        interp.invoke()
    return interp


def invoke_table(pairs: list[tuple[str, Path, Path]], repeats: int, invokes: int) -> list[dict[str, Any]]:
    """Rows of float/int8 median invoke ms at 1 and 2 threads."""
    rows = []
    for label, float_path, int8_path in pairs:
        row: dict[str, Any] = {"model": label}
        for threads in (1, 2):
            interps = {"float": _ready(float_path, threads), "int8": _ready(int8_path, threads)}
            rounds: dict[str, list[float]] = {"float": [], "int8": []}
            for _ in range(repeats):
                for kind, interp in interps.items():
                    rounds[kind].append(_median_invoke_ms(interp, invokes))
            for kind in interps:
                row[f"{kind}_{threads}t_ms"] = statistics.median(rounds[kind])
            row[f"ratio_{threads}t"] = row[f"int8_{threads}t_ms"] / row[f"float_{threads}t_ms"]
        rows.append(row)
    return rows


def end_to_end(variant: ModelVariant, precision: Precision, clip: Path, frames: int) -> float:
    """Mean ms per frame of PoseLandmarker in VIDEO mode over the clip (frames decoded beforehand)."""
    import cv2

    from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
    from edgepose.types import RunningMode

    cap = cv2.VideoCapture(str(clip))
    images = []
    while len(images) < frames:
        ok, frame = cap.read()
        if not ok:
            break
        images.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    options = PoseLandmarkerOptions(
        running_mode=RunningMode.VIDEO, model=variant, precision=precision, threads=2
    )
    with PoseLandmarker(options) as landmarker:
        for i, image in enumerate(images[:5]):
            landmarker.detect_for_video(image, i * 33)
        landmarker.reset()
        t0 = time.perf_counter()
        for i, image in enumerate(images):
            landmarker.detect_for_video(image, 1000 + i * 33)
        return (time.perf_counter() - t0) * 1000.0 / len(images)


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--invokes", type=int, default=30)
    parser.add_argument("--clip", default="pan_zidane.avi")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--variants", default="lite,full,heavy")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    variants = [ModelVariant(v) for v in args.variants.split(",") if v]
    pairs = [
        (
            "detector",
            model_path(ModelRole.DETECTOR, ModelVariant.FULL, Precision.FLOAT),
            model_path(ModelRole.DETECTOR, ModelVariant.FULL, Precision.INT8),
        )
    ]
    for v in variants:
        pairs.append(
            (
                f"{v.value} (no mask, as run)",
                model_path(ModelRole.LANDMARK, v, Precision.FLOAT),
                model_path(ModelRole.LANDMARK, v, Precision.INT8),
            )
        )
        with contextlib.suppress(ModelError):  # the int8 mask heads are not shipped
            pairs.append(
                (
                    f"{v.value} (whole file)",
                    model_path(ModelRole.LANDMARK, v, Precision.FLOAT, masks=True),
                    model_path(ModelRole.LANDMARK, v, Precision.INT8, masks=True),
                )
            )
    print("| model | float 1t ms | int8 1t ms | ratio | float 2t ms | int8 2t ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    for row in invoke_table(pairs, args.repeats, args.invokes):
        print(
            f"| {row['model']} | {row['float_1t_ms']:.2f} | {row['int8_1t_ms']:.2f} | {row['ratio_1t']:.2f} "
            f"| {row['float_2t_ms']:.2f} | {row['int8_2t_ms']:.2f} | {row['ratio_2t']:.2f} |",
            flush=True,
        )
    if not args.skip_e2e:
        clip = media_dir() / args.clip
        print(f"\nend to end, VIDEO mode, {args.clip}, 2 threads:")
        print("| variant | float ms/frame | float fps | int8 ms/frame | int8 fps |")
        print("|---|---|---|---|---|")
        for v in variants:
            f_ms = end_to_end(v, Precision.FLOAT, clip, args.frames)
            q_ms = end_to_end(v, Precision.INT8, clip, args.frames)
            print(
                f"| {v.value} | {f_ms:.2f} | {1000 / f_ms:.0f} | {q_ms:.2f} | {1000 / q_ms:.0f} |", flush=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
