"""Measure the activity rules: generated clips (with truth) and recorded pipeline output of real footage.

Prints Markdown tables (the README's activity section is pasted from this output):
repetition counts, falls and fall look-alikes, gestures, held-out posture samples, events on the
recorded landmark streams in tests/data/activity/, and the engine's cost per frame per person.

    .venv/bin/python scripts/eval_activity.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgepose.activity.engine import ActivityEngine  # noqa: E402
from edgepose.activity.features import compute_features  # noqa: E402
from edgepose.activity.posture import classify_posture  # noqa: E402
from edgepose.cli._landmarks import read_landmarks  # noqa: E402
from edgepose.config.activity import ActivityConfig  # noqa: E402
from edgepose.types import EventType, Posture  # noqa: E402
from tests.activity_sim import scenarios as S  # noqa: E402
from tests.activity_sim.body import Body, Camera, Noise, project  # noqa: E402
from tests.activity_sim.evaluate import frames_for, run  # noqa: E402

DATA = REPO / "tests" / "data" / "activity"


def reps_table(seeds: int) -> None:
    """Rep counts per exercise clip, summed over noise seeds."""
    print("\n### Repetitions (generated, world landmarks, %d noise seeds each)\n" % seeds)
    print("| clip | expected | counted | missed | extra (any exercise) |")
    print("|---|---:|---:|---:|---:|")
    for sc in S.exercise_scenarios():
        (exercise, want) = next(iter(sc.reps.items()))
        got = extra = 0
        for seed in range(seeds):
            counts = run(sc, seed=seed).reps()
            got += counts.get(exercise, 0)
            extra += sum(v for k, v in counts.items() if k != exercise) + max(0, counts.get(exercise, 0) - want)
        expected = want * seeds
        print(f"| {sc.name} | {expected} | {got} | {max(0, expected - got)} | {extra} |")


def falls_table(seeds: int) -> None:
    """Falls found and false falls, with and without world landmarks."""
    print("\n### Falls (generated, %d noise seeds each)\n" % seeds)
    print("| clip | fall? | events, world landmarks | events, 2D only |")
    print("|---|---|---:|---:|")
    for sc in S.fall_scenarios() + S.non_fall_scenarios():
        w = sum(run(sc, seed=s).falls() for s in range(seeds))
        d = sum(run(sc, seed=s, world=False).falls() for s in range(seeds))
        print(f"| {sc.name} | {'yes' if sc.fall else 'no'} | {w}/{seeds if sc.fall else 0} | {d}/{seeds if sc.fall else 0} |")


def gestures_table(seeds: int) -> None:
    """Gestures fired on gesture clips, and false gestures on everything else."""
    print("\n### Gestures (generated, %d noise seeds each)\n" % seeds)
    print("| clip | expected | fired (expected gesture) | other gestures |")
    print("|---|---|---:|---:|")
    for sc in S.gesture_scenarios():
        (name,) = sc.gestures
        got: Counter[str] = Counter()
        for s in range(seeds):
            got += run(sc, seed=s).gestures()
        print(f"| {sc.name} | {name} | {got[name]}/{seeds} | {sum(v for k, v in got.items() if k != name)} |")
    false = 0
    clips = S.exercise_scenarios() + S.non_fall_scenarios()
    for sc in clips:
        false += sum(run(sc, seed=0).gestures().values())
    print(f"| {len(clips)} exercise and fall look-alike clips | none | - | {false} |")


def posture_table(per_class: int) -> None:
    """Held-out static samples (seed unseen while tuning): accuracy per class, world and 2D."""
    print(f"\n### Posture on held-out samples ({per_class} per class, random body, yaw, camera)\n")
    cfg = ActivityConfig().posture
    rng_seed = 1000
    import numpy as np

    rng = np.random.default_rng(rng_seed)
    samples = S.posture_samples(rng_seed, per_class)
    rows: dict[Posture, Counter[str]] = {}
    rows2d: dict[Posture, Counter[str]] = {}
    for i, (bp, truth, height) in enumerate(samples):
        cam = Camera(y=float(rng.uniform(0.8, 2.2)), z=-float(rng.uniform(3.0, 6.0)), tilt_deg=float(rng.uniform(0, 20)))
        pose = project(Body(height), bp, cam, Noise(), np.random.default_rng(i), 1)
        if pose is None:
            continue
        for world, table in ((True, rows), (False, rows2d)):
            p = pose if world else type(pose)(pose.landmarks, None, pose.score, pose.track_id)
            f = compute_features(p, 0, cam.width, cam.height, 0.5)
            table.setdefault(truth, Counter())[classify_posture(f, cfg).value] += 1
    print("| truth | n | correct (world) | unknown (world) | wrong (world) | correct (2D only) |")
    print("|---|---:|---:|---:|---:|---:|")
    for truth, c in rows.items():
        n = sum(c.values())
        wrong = n - c[truth.value] - c["unknown"]
        c2 = rows2d[truth]
        print(f"| {truth.value} | {n} | {c[truth.value]} | {c['unknown']} | {wrong} | {c2[truth.value]} |")


def recorded_table() -> None:
    """Events on the recorded real-footage landmark streams."""
    print("\n### Recorded pipeline output of real footage (tests/data/activity)\n")
    print("| stream | frames | tracks | entered | left | standing (person-frames) | falls | reps | gestures |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in sorted(DATA.glob("*.track.jsonl.gz")):
        engine = ActivityEngine(ActivityConfig())
        events: Counter[EventType] = Counter()
        frames = 0
        tracks: set[int] = set()
        standing = person_frames = 0
        for result in read_landmarks(path):
            frames += 1
            evs, state = engine.update(result)
            events.update(e.type for e in evs)
            tracks |= {p.track_id for p in result.poses}
            person_frames += len(state.tracks)
            standing += sum(1 for t in state.tracks if t.posture is Posture.STANDING)
        print(
            f"| {path.name.split('.')[0]} | {frames} | {len(tracks)} | {events[EventType.PERSON_ENTERED]} | "
            f"{events[EventType.PERSON_LEFT]} | {standing}/{person_frames} | {events[EventType.FALL_DETECTED]} | "
            f"{events[EventType.REP]} | {events[EventType.GESTURE]} |"
        )


def timing() -> None:
    """Engine cost per frame per person (wall clock, this machine)."""
    print("\n### Cost\n")
    results = list(read_landmarks(DATA / "vtest.track.jsonl.gz"))
    generated = frames_for(S.squats(5, 90.0, 2.0)) + frames_for(S.jumping_jacks(8, 1.0))
    for name, frames in (("vtest replay", results), ("generated squats + jumping jacks", generated)):
        engine = ActivityEngine(ActivityConfig())
        people = sum(len(r.poses) for r in frames)
        start = time.perf_counter()
        for r in frames:
            engine.update(r)
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        print(f"- {name}: {len(frames)} frames, {people} person-frames, {elapsed_ms / max(1, people):.3f} ms per person-frame")


def main() -> None:
    """Print every table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds per generated clip")
    parser.add_argument("--posture-samples", type=int, default=100, help="held-out samples per posture")
    args = parser.parse_args()
    reps_table(args.seeds)
    falls_table(args.seeds)
    gestures_table(args.seeds)
    posture_table(args.posture_samples)
    recorded_table()
    timing()


if __name__ == "__main__":
    main()
