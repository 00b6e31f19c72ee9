#!/usr/bin/env python3
"""What the HTTP preview costs the processing loop, with and without someone watching.

Runs the real pipeline over a clip to get the frame time, then replays the results into a
PreviewHub attached to a running PreviewServer (so the server's per-frame listener is in the
path, as in the daemon) and times `hub.update` with nobody connected. With a viewer, the work
moves to the encoder thread: the script times drawing plus JPEG encoding per frame.

    .venv/bin/python scripts/bench_preview.py [--clip PATH] [--variant full] [--frames 150]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from edgepose.config.http import HttpConfig
from edgepose.http.annotate import annotate, encode_jpeg
from edgepose.http.hub import PreviewHub, Snapshot
from edgepose.http.server import PreviewServer
from edgepose.paths import media_dir
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.types import (
    ActivityState,
    Frame,
    ModelVariant,
    PoseResult,
    Posture,
    Precision,
    RunningMode,
    ServiceStats,
    TrackState,
)


def read_frames(path: Path, limit: int) -> list[Frame]:
    """Up to `limit` RGB frames of a video."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames: list[Frame] = []
    while len(frames) < limit:
        ok, bgr = capture.read()
        if not ok:
            break
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        frames.append(Frame(rgb, round(len(frames) * 1000 / fps), len(frames)))
    capture.release()
    return frames


def main() -> int:
    """Print the frame time, the hub cost without viewers, and the encode cost with one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=media_dir() / "pan_zidane.avi")
    parser.add_argument("--variant", choices=[v.value for v in ModelVariant], default="full")
    parser.add_argument("--precision", choices=[p.value for p in Precision], default="float")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=20, help="replays of the results through the hub")
    args = parser.parse_args()

    frames = read_frames(args.clip, args.frames)
    options = PoseLandmarkerOptions(
        running_mode=RunningMode.VIDEO,
        num_poses=2,
        model=ModelVariant(args.variant),
        precision=Precision(args.precision),
    )
    results: list[PoseResult] = []
    frame_ms: list[float] = []
    with PoseLandmarker(options) as landmarker:
        for frame in frames:
            started = time.perf_counter()
            results.append(landmarker.detect_for_video(frame.image, frame.timestamp_ms))
            frame_ms.append((time.perf_counter() - started) * 1000.0)
    frame_ms = frame_ms[5:]  # warm-up

    hub = PreviewHub()
    update_us: list[float] = []
    with PreviewServer(HttpConfig(enabled=True, port=0), hub):
        for _ in range(args.repeat):
            for frame, result in zip(frames, results, strict=True):
                tracks = tuple(TrackState(p.track_id, Posture.STANDING) for p in result.poses)
                state = ActivityState(result.timestamp_ms, len(tracks), tracks)
                stats = ServiceStats(result.timestamp_ms, 15.0, frame.index, 0, 5.0, 7.0, "cpu", 0)
                started = time.perf_counter()
                hub.update(frame, result, (), state, stats)
                update_us.append((time.perf_counter() - started) * 1e6)
        encoded = hub.counters().encoded_frames

    config = HttpConfig()
    encode_ms: list[float] = []
    for frame, result in zip(frames, results, strict=True):
        snapshot = Snapshot(frame.index + 1, frame, result, None, None)
        started = time.perf_counter()
        image = annotate(snapshot, (), config.max_width_px)
        assert image is not None
        encode_jpeg(image, config.jpeg_quality)
        encode_ms.append((time.perf_counter() - started) * 1000.0)

    frame_mean = statistics.fmean(frame_ms)
    update_mean = statistics.fmean(update_us)
    update_p99 = float(np.percentile(update_us, 99))
    share = 100.0 * update_mean / 1000.0 / frame_mean
    encode_mean = statistics.fmean(encode_ms)
    core_share = encode_mean * config.stream_max_fps / 10.0
    size = f"{frames[0].width}x{frames[0].height}"
    print(f"clip {args.clip.name} ({len(frames)} frames, {size}), {args.variant} {args.precision}")
    print(f"pipeline frame time        {frame_mean:8.2f} ms (mean)")
    print(f"preview, nobody watching   {update_mean:8.2f} us per frame (p99 {update_p99:.2f} us)")
    print(f"                           = {share:.3f} % of the frame time; frames encoded: {encoded}")
    print(f"preview, one viewer        {encode_mean:8.2f} ms per encoded frame (draw + JPEG, encoder thread)")
    print(f"                           at {config.stream_max_fps:g} fps = {core_share:.1f} % of one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
