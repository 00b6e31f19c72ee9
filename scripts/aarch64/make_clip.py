#!/usr/bin/env python3
"""Cut the first frames of a video into a small lossless (FFV1) clip for the aarch64 check.

Lossless on purpose: both architectures then decode bit-identical pixels, so any difference the
check reports comes from inference, not from two builds of a lossy video decoder.
`--perturb-fraction F` raises a random (seeded) fraction F of the pixels by one grey level: a clip
that differs from the plain one about as little as two float kernels do, to measure how much the
tracking loop itself amplifies tiny differences.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def perturb(image: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The image with a random `fraction` of its pixels one grey level brighter (saturating)."""
    chosen = rng.random(image.shape[:2]) < fraction
    out = image.copy()
    out[chosen] = np.minimum(out[chosen].astype(np.uint16) + 1, 255).astype(np.uint8)
    return out


def make_clip(source: Path, target: Path, frames: int, perturb_fraction: float = 0.0) -> int:
    """Write up to `frames` frames of `source` to `target`; return how many were written."""
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise SystemExit(f"make_clip: cannot open {source}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".partial" + target.suffix)
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"FFV1"), fps, (width, height))
    if not writer.isOpened():
        capture.release()
        raise SystemExit("make_clip: this OpenCV build has no FFV1 encoder")
    written = 0
    rng = np.random.default_rng(8)
    try:
        while written < frames:
            ok, image = capture.read()
            if not ok:
                break
            writer.write(perturb(image, perturb_fraction, rng) if perturb_fraction > 0 else image)
            written += 1
    finally:
        writer.release()
        capture.release()
    partial.replace(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: make_clip.py SOURCE TARGET [--frames N]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--perturb-fraction", type=float, default=0.0)
    args = parser.parse_args(argv)
    written = make_clip(args.source, args.target, args.frames, args.perturb_fraction)
    if written == 0:
        print(f"make_clip: no frames read from {args.source}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
