#!/usr/bin/env python3
"""Compare the JSON lines of `edgepose detect`/`track` from two machines (x86 reference vs aarch64).

Each record (an image, or a frame of a video) must have the same people on both sides: the same
number of poses, paired by position, and in track output the same track ids. The figure of merit
is the distance between paired image landmarks that the reference marks visible (visibility >=
0.5): the largest one, in pixels of the input image and in percent of the person's height (the
vertical extent of the reference's 33 landmarks), and per pose the mean one, in percent of the
height (the measure the pipeline uses against MediaPipe). Any of them can be judged. Landmarks
the model places outside the picture or behind something are extrapolations whose position is not
stable under any tiny change of input; their largest difference is reported, not judged. World
landmarks (metres), pose scores and visibilities are reported too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Brute-force pairing is exact and cheap for the few people per image the check uses.
_MAX_BRUTE_FORCE_POSES = 6
# MediaPipe's own threshold for drawing a landmark as visible.
VISIBILITY_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class PoseRecord:
    """One pose as printed by the CLI: landmarks Nx5 (x, y normalised), world Nx3 or None."""

    score: float
    landmarks: FloatArray
    world: FloatArray | None
    track_id: int | None


@dataclass(frozen=True, slots=True)
class Record:
    """One image or frame and the poses found in it."""

    key: str
    width: int
    height: int
    poses: tuple[PoseRecord, ...]


@dataclass(frozen=True, slots=True)
class Worst:
    """Where the largest visible-landmark difference was seen."""

    landmark_px: float = 0.0
    record: str = ""
    pose: int = -1
    landmark: int = -1


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Limits on visible-landmark differences: `px` on the largest, in pixels; `max_height_pct` on the
    largest and `mean_height_pct` on each pose's mean, in percent of the person's height. None: not
    judged."""

    px: float | None = None
    max_height_pct: float | None = None
    mean_height_pct: float | None = None

    def text(self) -> str:
        """E.g. '0.5 px' or 'mean 1% of person height'."""
        parts = []
        if self.px is not None:
            parts.append(f"max {self.px:g} px")
        if self.max_height_pct is not None:
            parts.append(f"max {self.max_height_pct:g}% of person height")
        if self.mean_height_pct is not None:
            parts.append(f"mean {self.mean_height_pct:g}% of person height")
        return " and ".join(parts) or "none"


@dataclass(slots=True)
class Comparison:
    """The outcome of comparing two runs."""

    records: int = 0
    poses: int = 0
    worst: Worst = field(default_factory=Worst)
    max_height_pct: float = 0.0
    mean_height_pct: float = 0.0
    all_landmarks_px: float = 0.0
    world_m: float = 0.0
    score: float = 0.0
    visibility: float = 0.0
    mismatches: list[str] = field(default_factory=list)

    def passed(self, tolerance: Tolerance) -> bool:
        """True when the same people were found everywhere and visible landmarks are within tolerance."""
        if self.mismatches:
            return False
        if tolerance.px is not None and self.worst.landmark_px > tolerance.px:
            return False
        if tolerance.max_height_pct is not None and self.max_height_pct > tolerance.max_height_pct:
            return False
        return tolerance.mean_height_pct is None or self.mean_height_pct <= tolerance.mean_height_pct


def _pose_from_json(obj: dict[str, Any]) -> PoseRecord:
    landmarks = np.asarray(obj["landmarks"], dtype=np.float64)
    world_obj = obj.get("world_landmarks")
    world = np.asarray(world_obj, dtype=np.float64) if world_obj is not None else None
    track = obj.get("track_id")
    return PoseRecord(
        score=float(obj.get("score", 0.0)),
        landmarks=landmarks,
        world=world,
        track_id=int(track) if track is not None else None,
    )


def parse_records(lines: Iterable[str]) -> list[Record]:
    """Parse CLI JSON lines; records are keyed by image file name or frame index."""
    records: list[Record] = []
    for raw in lines:
        text = raw.strip()
        if not text:
            continue
        obj = json.loads(text)
        key = Path(obj["image"]).name if "image" in obj else f"frame {obj['frame']}"
        poses = tuple(_pose_from_json(p) for p in obj.get("poses", []))
        records.append(Record(key=key, width=int(obj["width"]), height=int(obj["height"]), poses=poses))
    return records


def landmark_distance_px(a: PoseRecord, b: PoseRecord, width: int, height: int) -> FloatArray:
    """Per-landmark distance in pixels between two poses' image landmarks."""
    scale = np.array([width, height], dtype=np.float64)
    delta = (a.landmarks[:, :2] - b.landmarks[:, :2]) * scale
    return np.asarray(np.hypot(delta[:, 0], delta[:, 1]), dtype=np.float64)


def visible_mask(pose: PoseRecord) -> npt.NDArray[np.bool_]:
    """Landmarks the pose marks visible (all of them when the output has no visibility column)."""
    if pose.landmarks.shape[1] < 4:
        return np.ones(pose.landmarks.shape[0], dtype=bool)
    return np.asarray(pose.landmarks[:, 3] >= VISIBILITY_THRESHOLD, dtype=bool)


def person_height_px(pose: PoseRecord, image_height: int) -> float:
    """The vertical extent of all landmarks in pixels (out-of-picture ones included: a whole body)."""
    ys = pose.landmarks[:, 1]
    return float(ys.max() - ys.min()) * image_height


def pair_poses(
    reference: Sequence[PoseRecord], other: Sequence[PoseRecord], width: int, height: int
) -> list[tuple[int, int]]:
    """Pair poses by smallest total mean landmark distance (exact for a few poses, greedy beyond)."""
    n = len(reference)
    if n == 0 or len(other) != n:
        return []
    cost = np.array(
        [[float(landmark_distance_px(r, o, width, height).mean()) for o in other] for r in reference]
    )
    if n <= _MAX_BRUTE_FORCE_POSES:
        best = min(itertools.permutations(range(n)), key=lambda p: sum(cost[i, p[i]] for i in range(n)))
        return [(i, best[i]) for i in range(n)]
    pairs: list[tuple[int, int]] = []
    used_r: set[int] = set()
    used_o: set[int] = set()
    for flat in np.argsort(cost, axis=None):
        i, j = divmod(int(flat), n)
        if i not in used_r and j not in used_o:
            pairs.append((i, j))
            used_r.add(i)
            used_o.add(j)
    return sorted(pairs)


def _compare_pose(result: Comparison, ref: Record, index: int, a: PoseRecord, b: PoseRecord) -> None:
    key = ref.key
    result.poses += 1
    if a.track_id != b.track_id:
        result.mismatches.append(f"{key}: track id {a.track_id} vs {b.track_id}")
    if a.landmarks.shape != b.landmarks.shape:
        result.mismatches.append(f"{key}: landmarks {a.landmarks.shape} vs {b.landmarks.shape}")
        return
    dist = landmark_distance_px(a, b, ref.width, ref.height)
    result.all_landmarks_px = max(result.all_landmarks_px, float(dist.max()))
    visible = visible_mask(a)
    if visible.any():
        k = int(np.argmax(np.where(visible, dist, -1.0)))
        if dist[k] > result.worst.landmark_px:
            result.worst = Worst(landmark_px=float(dist[k]), record=key, pose=index, landmark=k)
        height = person_height_px(a, ref.height)
        if height > 0:
            result.max_height_pct = max(result.max_height_pct, 100.0 * float(dist[k]) / height)
            result.mean_height_pct = max(result.mean_height_pct, 100.0 * float(dist[visible].mean()) / height)
    result.score = max(result.score, abs(a.score - b.score))
    if a.landmarks.shape[1] > 3:
        result.visibility = max(result.visibility, float(np.abs(a.landmarks[:, 3] - b.landmarks[:, 3]).max()))
    if a.world is not None and b.world is not None and a.world.shape == b.world.shape:
        result.world_m = max(result.world_m, float(np.linalg.norm(a.world - b.world, axis=1).max()))


def compare(reference: Sequence[Record], other: Sequence[Record]) -> Comparison:
    """Compare two runs record by record."""
    result = Comparison()
    if len(reference) != len(other):
        result.mismatches.append(f"{len(reference)} records vs {len(other)}")
    for ref, oth in zip(reference, other, strict=False):
        result.records += 1
        if ref.key != oth.key or (ref.width, ref.height) != (oth.width, oth.height):
            result.mismatches.append(f"record {ref.key} ({ref.width}x{ref.height}) vs {oth.key}")
            continue
        if len(ref.poses) != len(oth.poses):
            result.mismatches.append(f"{ref.key}: {len(ref.poses)} poses vs {len(oth.poses)}")
            continue
        for i, j in pair_poses(ref.poses, oth.poses, ref.width, ref.height):
            _compare_pose(result, ref, i, ref.poses[i], oth.poses[j])
    return result


def describe(label: str, result: Comparison, tolerance: Tolerance) -> str:
    """One line for the log: verdict, largest visible-landmark difference and where it was."""
    verdict = "ok" if result.passed(tolerance) else "FAIL"
    worst = result.worst
    where = f" at {worst.record} pose {worst.pose} landmark {worst.landmark}" if worst.pose >= 0 else ""
    line = (
        f"{label}: {verdict}: {result.records} records, {result.poses} poses, visible landmarks: "
        f"max diff {worst.landmark_px:.4f} px{where} (largest {result.max_height_pct:.3f}% of a person's "
        f"height), largest pose mean {result.mean_height_pct:.3f}% of height (tolerance {tolerance.text()}); "
        f"all landmarks max {result.all_landmarks_px:.4f} px, "
        f"world {result.world_m:.5f} m, score {result.score:.5f}, visibility {result.visibility:.5f}"
    )
    if result.mismatches:
        shown = "; ".join(result.mismatches[:5])
        more = f" (+{len(result.mismatches) - 5} more)" if len(result.mismatches) > 5 else ""
        line += f"; different people: {shown}{more}"
    return line


def figures(label: str, result: Comparison, tolerance: Tolerance) -> dict[str, Any]:
    """The comparison as one JSON-ready object (one line of the --json file)."""
    return {
        "label": label,
        "passed": result.passed(tolerance),
        "records": result.records,
        "poses": result.poses,
        "max_landmark_px": result.worst.landmark_px,
        "max_height_pct": result.max_height_pct,
        "max_mean_height_pct": result.mean_height_pct,
        "tolerance_px": tolerance.px,
        "tolerance_max_height_pct": tolerance.max_height_pct,
        "tolerance_mean_height_pct": tolerance.mean_height_pct,
        "all_landmarks_px": result.all_landmarks_px,
        "max_world_m": result.world_m,
        "max_score": result.score,
        "max_visibility": result.visibility,
        "mismatches": result.mismatches,
    }


def summarize(rows: Sequence[dict[str, Any]]) -> str:
    """The largest visible-landmark difference over several comparisons' figures."""
    if not rows:
        return "no comparisons"
    worst = max(rows, key=lambda r: float(r["max_landmark_px"]))
    failed = sum(1 for r in rows if not r["passed"])
    return (
        f"{worst['max_landmark_px']:.4f} px ({worst['label']}); largest pose mean "
        f"{max(float(r['max_mean_height_pct']) for r in rows):.3f}% of height; "
        f"{len(rows)} comparisons, {failed} failed"
    )


def main(argv: list[str] | None = None) -> int:
    """compare.py REF OTHER [--tolerance-px T] [--tolerance-max-height-pct P] [--tolerance-mean-height-pct P]
    [--label L] [--json F];
    compare.py --summary F prints the largest difference over the figures appended to F."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reference", type=Path, nargs="?", help="JSON lines from the x86 run")
    parser.add_argument("other", type=Path, nargs="?", help="JSON lines from the aarch64 run")
    parser.add_argument("--tolerance-px", type=float)
    parser.add_argument("--tolerance-max-height-pct", type=float)
    parser.add_argument("--tolerance-mean-height-pct", type=float)
    parser.add_argument("--label", default="compare")
    parser.add_argument("--json", type=Path, help="append the figures as one JSON line to this file")
    parser.add_argument("--summary", type=Path, help="print the largest difference over a --json file")
    args = parser.parse_args(argv)
    if args.summary is not None:
        rows = [json.loads(line) for line in args.summary.read_text().splitlines() if line.strip()]
        print(summarize(rows))
        return 0
    if args.reference is None or args.other is None:
        parser.error("REFERENCE and OTHER are required")
    tolerance = Tolerance(
        px=args.tolerance_px,
        max_height_pct=args.tolerance_max_height_pct,
        mean_height_pct=args.tolerance_mean_height_pct,
    )
    if tolerance == Tolerance():
        parser.error("give at least one --tolerance-* option")
    reference = parse_records(args.reference.read_text().splitlines())
    other = parse_records(args.other.read_text().splitlines())
    result = compare(reference, other)
    if not reference:
        result.mismatches.append(f"no records in {args.reference}")
    print(describe(args.label, result, tolerance))
    if args.json is not None:
        with args.json.open("a") as out:
            out.write(json.dumps(figures(args.label, result, tolerance)) + "\n")
    return 0 if result.passed(tolerance) else 1


if __name__ == "__main__":
    sys.exit(main())
