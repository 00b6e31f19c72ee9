#!/usr/bin/env python3
"""Run MediaPipe 0.10.21's legacy `mp.solutions.pose` and print JSON lines (the reference for tests).

Runs inside the MediaPipe reference virtualenv (scripts/setup_reference.sh), not edgepose's.

  reference_pose.py --complexity 1 IMAGE...             static_image_mode=True, one line per image
  reference_pose.py --complexity 1 --video CLIP [--max-frames N]
                                                         tracking mode, one line per frame
  reference_pose.py --complexity 1 --video CLIP --time   also the wall time of each process() call
  reference_pose.py --complexity 1 --video CLIP --no-smooth
                                                         raw landmarks (smooth_landmarks=False)
  reference_pose.py --complexity 1 --serve CLIP          decode CLIP, print "ready", then process one
                                                         frame per stdin line, answering {"process_ms"}
                                                         (lets a benchmark alternate frame by frame)
  reference_pose.py --complexity 1 --play CLIP --rate 15 [--seconds S]
                                                         decode and process CLIP in real time at RATE
                                                         fps; one line with the process's CPU time
                                                         (getrusage, all threads) from the 2nd frame on

Each line: {"image"|"frame", "width", "height", "landmarks": [[x, y, z, visibility, presence] x 33]
or null, "world_landmarks": [[x, y, z] x 33] or null, "process_ms"?}.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import cv2
import mediapipe as mp


def _pose_json(results) -> tuple[list[list[float]] | None, list[list[float]] | None]:
    if results.pose_landmarks is None:
        return None, None
    lms = [[p.x, p.y, p.z, p.visibility, p.presence] for p in results.pose_landmarks.landmark]
    world = None
    if results.pose_world_landmarks is not None:
        world = [[p.x, p.y, p.z] for p in results.pose_world_landmarks.landmark]
    return lms, world


def run_images(paths: list[str], complexity: int) -> int:
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
        for path in paths:
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                print(f"reference_pose: cannot read {path}", file=sys.stderr)
                return 66
            results = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            lms, world = _pose_json(results)
            height, width = bgr.shape[:2]
            line = {
                "image": path,
                "width": width,
                "height": height,
                "landmarks": lms,
                "world_landmarks": world,
            }
            print(json.dumps(line), flush=True)
    return 0


def run_video(path: str, complexity: int, max_frames: int, timed: bool, smooth: bool = True) -> int:
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        print(f"reference_pose: cannot open {path}", file=sys.stderr)
        return 66
    try:
        with mp.solutions.pose.Pose(
            static_image_mode=False, model_complexity=complexity, smooth_landmarks=smooth
        ) as pose:
            index = 0
            while max_frames <= 0 or index < max_frames:
                ok, bgr = capture.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                start = time.perf_counter()
                results = pose.process(rgb)
                elapsed_ms = (time.perf_counter() - start) * 1000.0
                lms, world = _pose_json(results)
                height, width = bgr.shape[:2]
                line = {
                    "frame": index,
                    "width": width,
                    "height": height,
                    "landmarks": lms,
                    "world_landmarks": world,
                }
                if timed:
                    line["process_ms"] = elapsed_ms
                print(json.dumps(line), flush=True)
                index += 1
    finally:
        capture.release()
    return 0


def serve(path: str, complexity: int) -> int:
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    if not frames:
        print(f"reference_pose: cannot open {path}", file=sys.stderr)
        return 66
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity) as pose:
        print(json.dumps({"ready": len(frames)}), flush=True)
        for index, _ in enumerate(sys.stdin):
            if index >= len(frames):
                break
            frame = frames[index].copy()  # freshly written, as a camera frame would be
            start = time.perf_counter()
            results = pose.process(frame)
            elapsed_ms = (time.perf_counter() - start) * 1000.0
            found = results.pose_landmarks is not None
            print(json.dumps({"frame": index, "process_ms": elapsed_ms, "found": found}), flush=True)
    return 0


def play(path: str, complexity: int, rate: float, seconds: float) -> int:
    """Real time at `rate`: decode, convert to RGB and process each frame when it is due."""
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        print(f"reference_pose: cannot open {path}", file=sys.stderr)
        return 66
    limit = round(seconds * rate) if seconds > 0 else 0
    frames = found = 0
    process_ms = []
    start = None
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity) as pose:
        origin = time.monotonic()
        index = 0
        while True:
            due = origin + index / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            ok, bgr = capture.read()
            if not ok:
                break
            began = time.perf_counter()
            results = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            elapsed_ms = (time.perf_counter() - began) * 1000.0
            index += 1
            if start is None:  # the first frame warms up; figures start after it
                start = (time.monotonic(), resource.getrusage(resource.RUSAGE_SELF))
                origin = start[0] - 1.0 / rate
                index = 1
                continue
            frames += 1
            found += results.pose_landmarks is not None
            process_ms.append(elapsed_ms)
            if limit and frames >= limit:
                break
    capture.release()
    end = (time.monotonic(), resource.getrusage(resource.RUSAGE_SELF))
    if start is None or not frames:
        print(f"reference_pose: no frames in {path}", file=sys.stderr)
        return 66
    user_s = end[1].ru_utime - start[1].ru_utime
    system_s = end[1].ru_stime - start[1].ru_stime
    video_s = frames / rate
    process_ms.sort()
    line = {
        "frames": frames,
        "video_s": video_s,
        "wall_s": end[0] - start[0],
        "user_s": user_s,
        "system_s": system_s,
        "cpu_per_video_s": (user_s + system_s) / video_s,
        "cpu_ms_per_frame": (user_s + system_s) * 1000.0 / frames,
        "process_ms_median": process_ms[len(process_ms) // 2],
        "frames_with_pose": found,
    }
    print(json.dumps(line), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complexity", type=int, choices=(0, 1, 2), default=1)
    parser.add_argument("--video")
    parser.add_argument("--serve", metavar="CLIP", help="frame-by-frame mode driven over stdin")
    parser.add_argument("--play", metavar="CLIP", help="real-time playback at --rate, CPU accounted")
    parser.add_argument("--rate", type=float, default=15.0, help="--play: frames per second")
    parser.add_argument("--seconds", type=float, default=0.0, help="--play: stop after S s of video")
    parser.add_argument("--max-frames", type=int, default=0)
    parser.add_argument("--time", action="store_true", help="add process_ms to each video line")
    parser.add_argument("--no-smooth", action="store_true", help="--video: landmarks without smoothing")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.complexity)
    if args.play:
        return play(args.play, args.complexity, args.rate, args.seconds)
    if args.video:
        return run_video(args.video, args.complexity, args.max_frames, args.time, not args.no_smooth)
    return run_images(args.images, args.complexity)


if __name__ == "__main__":
    sys.exit(main())
