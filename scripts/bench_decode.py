#!/usr/bin/env python3
"""CPU per frame of the ways an MJPEG clip's frame can be decoded (what the gate and the models need).

  python scripts/bench_decode.py [CLIP] [--frames N]

Reads N frames of the clip (default: the empty-room clip made by scripts/fetch_media.py), then
decodes each one, one way at a time, on one thread and without pacing, and prints the CPU time
per frame (process time, median of 3 passes) of: FFmpeg's decode with the conversion to RGB (what
a decoded source delivers), the JPEG decode to RGB (a compressed frame when a model runs), the
1/4-scale grey JPEG decode (the motion gate's image while nobody is tracked), and the gate's
grey image made from an RGB frame instead.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from edgepose.paths import media_dir
from edgepose.sources.jpeg import JpegImage
from edgepose.types import ImageArray


def _packets(clip: Path, frames: int) -> list[ImageArray]:
    capture = cv2.VideoCapture(str(clip))
    capture.set(cv2.CAP_PROP_FORMAT, -1)
    out = []
    while len(out) < frames:
        ok, packet = capture.read()
        if not ok:
            break
        out.append(np.asarray(packet, np.uint8).reshape(-1))
    capture.release()
    return out


def _cpu_ms(run: Callable[[], int]) -> float:
    """CPU ms per item of `run` (which returns how many it did), median of 3 passes."""
    passes = []
    for _ in range(3):
        start = time.process_time()
        count = run()
        passes.append((time.process_time() - start) * 1000.0 / max(1, count))
    return statistics.median(passes)


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=media_dir() / "empty_room.avi")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    packets = _packets(args.clip, args.frames)
    capture = cv2.VideoCapture(str(args.clip))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()

    def ffmpeg() -> int:
        cap = cv2.VideoCapture(str(args.clip))
        done = 0
        while done < len(packets):
            ok, bgr = cap.read()
            if not ok:
                break
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            done += 1
        cap.release()
        return done

    def jpeg_rgb() -> int:
        for packet in packets:
            JpegImage(packet, width, height).rgb()
        return len(packets)

    def jpeg_grey() -> int:
        for packet in packets:
            JpegImage(packet, width, height).grey(160)
        return len(packets)

    rgb = [JpegImage(p, width, height).rgb() for p in packets[:50]]

    def grey_from_rgb() -> int:
        for image in rgb:
            grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            cv2.resize(grey, (160, round(height * 160 / width)), interpolation=cv2.INTER_AREA)
        return len(rgb)

    rows = [
        ("FFmpeg decode + BGR to RGB", _cpu_ms(ffmpeg)),
        ("JPEG decode to RGB", _cpu_ms(jpeg_rgb)),
        ("JPEG decode, grey at 1/4 scale", _cpu_ms(jpeg_grey)),
        ("grey 160 px from an RGB frame (cvtColor + INTER_AREA)", _cpu_ms(grey_from_rgb)),
    ]
    size_kb = statistics.mean(p.size for p in packets) / 1024.0
    print(f"{args.clip.name}: {width}x{height}, {len(packets)} frames, {size_kb:.1f} KiB per frame")
    print("| decode | CPU ms per frame |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
