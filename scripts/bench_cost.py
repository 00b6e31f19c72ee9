#!/usr/bin/env python3
"""What it costs to watch a room: edgepose and MediaPipe side by side, CPU per second of video.

Each case plays one of the watched-room clips (tools/evaluation/room_clips.py, made by
scripts/fetch_media.py) in real time at `--rate` through `edgepose bench --rate` (the daemon's
capture, pose and activity stages with its config) and, at the same moment, through MediaPipe
0.10.21's legacy Pose (`scripts/reference_pose.py --play`, in its own virtualenv, made by
scripts/setup_reference.sh). Both are child processes that account for their own CPU time with
getrusage (every thread, from the second frame on), so the figures hold on a shared machine,
though other load still slows both (more cache misses, spinning threads waiting longer). Each
case runs `--repeats` times; the table gives medians.

  python scripts/bench_cost.py [--rate 15] [--threads 1,2,4] [--repeats 2] [--cases empty,walk_in,...]
      [--seconds S] [--no-mediapipe] [--json FILE]

Cases: empty (empty_room.avi, nobody), walk_in (walk_in.avi: someone steps in; the delay to
person_entered is counted from the moment half of them is in view), one (one_person.avi, num_poses
1), one2 (the same clip with the daemon's default num_poses 2), three (three_people.avi, num_poses 3).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgepose.paths import cache_dir, media_dir
from tools.evaluation.room_clips import WALK_IN, make_room_clips

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Case:
    """One clip and the daemon settings it runs with."""

    name: str
    clip: str
    num_poses: int | None  # None: the config's default
    entered_at_s: float | None = None


CASES = {
    "empty": Case("empty room", "empty_room.avi", None),
    "walk_in": Case("walking in", "walk_in.avi", None, WALK_IN.stepped_in_s),
    "one": Case("one person", "one_person.avi", 1),
    "one2": Case("one person, num_poses 2", "one_person.avi", None),
    "three": Case("three people", "three_people.avi", 3),
}


def edgepose_command(case: Case, clip: Path, rate: float, threads: int, seconds: float) -> list[str]:
    """`edgepose bench --rate` for one case."""
    command = [sys.executable, "-m", "edgepose", "bench", "--rate", str(rate), "--threads", str(threads)]
    if case.num_poses is not None:
        command += ["--num-poses", str(case.num_poses)]
    if case.entered_at_s is not None:
        command += ["--entered-at", f"{case.entered_at_s:.4f}"]
    if seconds > 0:
        command += ["--seconds", str(seconds)]
    return [*command, str(clip)]


def mediapipe_command(python: Path, clip: Path, rate: float, seconds: float) -> list[str]:
    """MediaPipe's legacy Pose (complexity 1, the full model) playing the clip at the rate."""
    script = REPO / "scripts" / "reference_pose.py"
    command = [str(python), str(script), "--complexity", "1", "--play", str(clip), "--rate", str(rate)]
    return [*command, "--seconds", str(seconds)] if seconds > 0 else command


def run_children(commands: list[list[str]]) -> list[dict[str, Any]]:
    """Start the commands together; each one's last JSON line plus its whole-life CPU (wait4)."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    rows = []
    with contextlib.ExitStack() as stack:
        procs = []
        for command in commands:
            out = stack.enter_context(tempfile.TemporaryFile(mode="w+"))
            procs.append((subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env), out))
        for proc, out in procs:
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            lines = [line for line in out.read().splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise SystemExit(f"bench_cost: {' '.join(proc.args)} failed (exit {proc.returncode})")
            row = json.loads(lines[-1])
            row["process_cpu_s"] = usage.ru_utime + usage.ru_stime  # includes start-up and model loading
            rows.append(row)
    return rows


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, spec)


def table(results: list[dict[str, Any]]) -> str:
    """The markdown table of medians, one line per case and thread count."""
    lines = [
        "| case | threads | edgepose CPU % of a core | user / sys s | CPU ms/frame | capture ms/frame "
        "| landmark invoke CPU ms | CPU/invoke | det/s | lmk/s | person_entered after step-in s | wall/video "
        "| MediaPipe CPU % | MediaPipe ms/frame |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        ours: list[dict[str, Any]] = result["edgepose"]
        theirs: list[dict[str, Any]] = result["mediapipe"]
        user, system = _median(ours, "user_s"), _median(ours, "system_s")
        behind = _median([{"x": r["wall_s"] / r["video_s"]} for r in ours], "x")
        share = _fmt(_median(ours, "cpu_per_video_s"), ".1f", 100)
        lines.append(
            f"| {result['case']} | {result['threads']} | {share} "
            f"| {_fmt(user, '.2f')} / {_fmt(system, '.2f')} "
            f"| {_fmt(_median(ours, 'cpu_ms_per_frame'), '.1f')} "
            f"| {_fmt(_median(ours, 'capture_cpu_ms_per_frame'), '.2f')} "
            f"| {_fmt(_median(ours, 'landmark_invoke_cpu_ms_median'), '.1f')} "
            f"| {_fmt(_median(ours, 'cpu_per_frame_over_landmark_invoke'), '.2f')} "
            f"| {_fmt(_median(ours, 'detector_runs_per_s'), '.1f')} "
            f"| {_fmt(_median(ours, 'landmark_runs_per_s'), '.1f')} "
            f"| {_fmt(_median(ours, 'enter_latency_s'), '.2f')} | {_fmt(behind, '.2f')} "
            f"| {_fmt(_median(theirs, 'cpu_per_video_s'), '.1f', 100)} "
            f"| {_fmt(_median(theirs, 'cpu_ms_per_frame'), '.1f')} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Run the cases and print each run's JSON, then the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=15.0, help="camera frame rate (fps)")
    parser.add_argument("--threads", default="2", help="edgepose interpreter threads, e.g. 1,2,4")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cases", default=",".join(CASES), help=f"some of {', '.join(CASES)}")
    parser.add_argument("--seconds", type=float, default=0.0, help="play at most S s of each clip")
    parser.add_argument("--no-mediapipe", action="store_true", help="edgepose alone")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    media = media_dir()
    make_room_clips(media)
    python = cache_dir() / "mediapipe-ref" / "bin" / "python"
    with_mediapipe = not args.no_mediapipe
    if with_mediapipe and not python.is_file():
        subprocess.run(["bash", str(REPO / "scripts" / "setup_reference.sh")], check=True)
    results = []
    for key in args.cases.split(","):
        case = CASES[key]
        clip = media / case.clip
        counts = [int(t) for t in args.threads.split(",")]
        for threads in counts:
            # MediaPipe (no thread setting) runs alongside the first thread count only.
            beside = with_mediapipe and threads == counts[0]
            result: dict[str, Any] = {"case": case.name, "threads": threads, "edgepose": [], "mediapipe": []}
            for _ in range(args.repeats):
                commands = [edgepose_command(case, clip, args.rate, threads, args.seconds)]
                if beside:
                    commands.append(mediapipe_command(python, clip, args.rate, args.seconds))
                rows = run_children(commands)
                result["edgepose"].append(rows[0])
                if beside:
                    result["mediapipe"].append(rows[1])
                print(json.dumps({"case": key, "threads": threads, "runs": rows}), flush=True)
            results.append(result)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
