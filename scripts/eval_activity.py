"""Measure the activity rules: generated clips (with truth) and recorded pipeline output of real footage.

Prints Markdown tables (docs/activity.md's tables are this output):
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgepose.activity.engine import ActivityEngine  # noqa: E402
from edgepose.activity.features import compute_features  # noqa: E402
from edgepose.activity.posture import classify_posture  # noqa: E402
from edgepose.cli._landmarks import read_landmarks  # noqa: E402
from edgepose.config.activity import ActivityConfig  # noqa: E402
from edgepose.types import EventType, Posture  # noqa: E402
from tools.evaluation.activity_sim import scenarios as sim  # noqa: E402
from tools.evaluation.activity_sim.body import Body, Camera, Noise, project  # noqa: E402
from tools.evaluation.activity_sim.evaluate import frames_for, run  # noqa: E402

DATA = REPO / "tests" / "data" / "activity"


def reps_table(seeds: int) -> None:
    """Rep counts per exercise clip, summed over noise seeds; with world landmarks and 2D only."""
    print(f"\n### Repetitions (generated, {seeds} noise seeds each)\n")
    print("| clip | expected | counted | missed | extra (any exercise) | counted, 2D only |")
    print("|---|---:|---:|---:|---:|---:|")
    for sc in sim.exercise_scenarios():
        (exercise, want) = next(iter(sc.reps.items()))
        got = extra = flat = 0
        for seed in range(seeds):
            counts = run(sc, seed=seed).reps()
            got += counts.get(exercise, 0)
            extra += sum(v for k, v in counts.items() if k != exercise) + max(
                0, counts.get(exercise, 0) - want
            )
            flat += run(sc, seed=seed, world=False).reps().get(exercise, 0)
        expected = want * seeds
        print(f"| {sc.name} | {expected} | {got} | {max(0, expected - got)} | {extra} | {flat} |")


def falls_table(seeds: int) -> None:
    """Falls found and false falls, with and without world landmarks."""
    print(f"\n### Falls (generated, {seeds} noise seeds each)\n")
    print("| clip | fall? | events, world landmarks | events, 2D only |")
    print("|---|---|---:|---:|")
    for sc in sim.fall_scenarios() + sim.non_fall_scenarios():
        w = sum(run(sc, seed=s).falls() for s in range(seeds))
        d = sum(run(sc, seed=s, world=False).falls() for s in range(seeds))
        want = seeds if sc.fall else 0
        print(f"| {sc.name} | {'yes' if sc.fall else 'no'} | {w}/{want} | {d}/{want} |")


def gestures_table(seeds: int) -> None:
    """Gestures fired on gesture clips, and false gestures on everything else."""
    print(f"\n### Gestures (generated, {seeds} noise seeds each)\n")
    print("| clip | expected | fired (expected gesture) | other gestures |")
    print("|---|---|---:|---:|")
    for sc in sim.gesture_scenarios():
        (name,) = sc.gestures
        got: Counter[str] = Counter()
        for s in range(seeds):
            got += run(sc, seed=s).gestures()
        print(f"| {sc.name} | {name} | {got[name]}/{seeds} | {sum(v for k, v in got.items() if k != name)} |")
    false = 0
    clips = sim.exercise_scenarios() + sim.non_fall_scenarios()
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
    samples = sim.posture_samples(rng_seed, per_class)
    tables: dict[str, dict[Posture, Counter[str]]] = {"tilt": {}, "untilted": {}, "2d": {}}
    for i, (bp, truth, height) in enumerate(samples):
        cam = Camera(
            y=float(rng.uniform(0.8, 2.2)),
            z=-float(rng.uniform(3.0, 6.0)),
            tilt_deg=float(rng.uniform(0, 20)),
        )
        pose = project(Body(height), bp, cam, Noise(), np.random.default_rng(i), 1)
        if pose is None:
            continue
        flat = type(pose)(pose.landmarks, None, pose.score, pose.track_id)
        for key, p, tilt in (("tilt", pose, cam.tilt_deg), ("untilted", pose, 0.0), ("2d", flat, 0.0)):
            f = compute_features(p, 0, cam.width, cam.height, camera_tilt_deg=tilt)
            tables[key].setdefault(truth, Counter())[classify_posture(f, cfg).value] += 1
    print("Camera 0.8-2.2 m high, 3-6 m away, looking down 0-20 degrees; `camera_tilt_deg` set to the true")
    print("tilt, left at 0, and with no world landmarks (2D only, COCO-17-like).\n")
    print("| truth | n | correct / unknown / wrong (tilt set) | (tilt 0) | (2D only) |")
    print("|---|---:|---|---|---|")
    for truth in (Posture.STANDING, Posture.SITTING, Posture.SQUATTING, Posture.LYING):
        cells = []
        for key in ("tilt", "untilted", "2d"):
            c = tables[key][truth]
            n = sum(c.values())
            cells.append(f"{c[truth.value]} / {c['unknown']} / {n - c[truth.value] - c['unknown']}")
        n = sum(tables["tilt"][truth].values())
        print(f"| {truth.value} | {n} | {' | '.join(cells)} |")


def recorded_table() -> None:
    """Events on the recorded real-footage landmark streams."""
    print("\n### Recorded pipeline output of real footage (tests/data/activity)\n")
    print(
        "| stream | frames | tracks | entered | left | standing (person-frames) | falls | reps | gestures |"
    )
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
            f"{events[EventType.PERSON_LEFT]} | {standing}/{person_frames} | "
            f"{events[EventType.FALL_DETECTED]} | {events[EventType.REP]} | {events[EventType.GESTURE]} |"
        )


def timing() -> None:
    """Engine cost per frame per person (wall clock, this machine)."""
    print("\n### Cost\n")
    results = list(read_landmarks(DATA / "vtest.track.jsonl.gz"))
    generated = frames_for(sim.squats(5, 90.0, 2.0)) + frames_for(sim.jumping_jacks(8, 1.0))
    rules_only = ActivityConfig.model_validate({"pose_model": {"enabled": False}})
    for name, frames in (("vtest replay", results), ("generated squats + jumping jacks", generated)):
        for setup, config in (("pose model", ActivityConfig()), ("rules only", rules_only)):
            engine = ActivityEngine(config)
            people = sum(len(r.poses) for r in frames)
            start = time.perf_counter()
            for r in frames:
                engine.update(r)
            elapsed_ms = (time.perf_counter() - start) * 1000.0
            print(
                f"- {name}, {setup}: {len(frames)} frames, {people} person-frames, "
                f"{elapsed_ms / max(1, people):.3f} ms per person-frame"
            )


def real_people_tables(figure: Path, people: int) -> None:
    """Block-wise cross-validated posture and gesture confusion on real people, a PNG, motions."""
    from edgepose.activity.pose_model import decide
    from tools.evaluation import datasets
    from tools.evaluation import real_poses as rp

    cfg = ActivityConfig()
    samples = datasets.load_all()
    data = {c: rp.features_of(s) for c, s in samples.items()}
    splits = {c: list(rp.block_folds(len(cf.features), rp.FOLDS, rp.GAP)) for c, cf in data.items()}
    postures: dict[str, Counter[str]] = {c: Counter() for c in data}
    gestures: dict[str, Counter[str]] = {c: Counter() for c in data}
    right_arm: dict[int, bool] = {}  # Stand_RightArmRaised sample -> read as right_arm_raised
    for k in range(rp.FOLDS):
        model = rp.train_on(data, {c: splits[c][k][0] for c in data})
        for c, cf in data.items():
            for i in splits[c][k][1]:
                posture, gesture = decide(cf.features[i], model, cfg)
                postures[c][posture.value] += 1
                gestures[c][gesture or "none"] += 1
                if c == "Stand_RightArmRaised":
                    right_arm[int(i)] = gesture == "right_arm_raised"
    print(f"\n### Real people, block-wise {rp.FOLDS}-fold cross-validation (development part)\n")
    p_cols = ["standing", "sitting", "squatting", "lying", "unknown"]
    g_cols = ["left_arm_raised", "right_arm_raised", "t_pose", "both_hands_up", "none"]
    print(
        "| class | n | truth posture | "
        + " | ".join(p_cols)
        + " | truth gesture | "
        + " | ".join(g_cols)
        + " |"
    )
    print("|---|---:|---|" + "---:|" * len(p_cols) + "---|" + "---:|" * len(g_cols))
    for c in data:
        n = sum(postures[c].values())
        pc = " | ".join(str(postures[c][x]) for x in p_cols)
        gc = " | ".join(str(gestures[c][x]) for x in g_cols)
        print(f"| {c} | {n} | {rp.POSTURE_TRUTH.get(c, '-')} | {pc} | {rp.GESTURE_TRUTH[c]} | {gc} |")
    print("\nPer truth class (correct / n):\n")
    for truth in p_cols[:4]:
        members = [c for c in data if rp.POSTURE_TRUTH.get(c) == truth]
        ok = sum(postures[c][truth] for c in members)
        n = sum(sum(postures[c].values()) for c in members)
        print(f"- posture {truth}: {ok}/{n} = {ok / n:.1%}")
    for truth in g_cols[:4]:
        members = [c for c in data if rp.GESTURE_TRUTH[c] == truth]
        ok = sum(gestures[c][truth] for c in members)
        n = sum(sum(gestures[c].values()) for c in members)
        print(f"- gesture {truth}: {ok}/{n} = {ok / n:.1%}")
    others = [c for c in data if rp.GESTURE_TRUTH[c] == "none"]
    false = sum(sum(gestures[c].values()) - gestures[c]["none"] for c in others)
    n = sum(sum(gestures[c].values()) for c in others)
    print(f"- false gestures on the {len(others)} other classes: {false}/{n} = {false / n:.2%}")
    _front_stop_box(data, right_arm, gestures["Traffic_FrontStop"])
    _figure(figure, data=data, postures=postures, gestures=gestures, p_cols=p_cols, g_cols=g_cols)
    print(f"\nFigure: {figure.relative_to(REPO)}")

    print(f"\n### Falls and squats between real poses ({people} people each)\n")
    print("| clip | truth | falls | squat reps | other reps | postures |")
    print("|---|---|---:|---:|---:|---|")
    for m in rp.motions(samples, people):
        engine = ActivityEngine(ActivityConfig(), id_prefix="eval")
        events = []
        for result in rp.motion_results(m, m.keys[-1][0] + 4.0):
            events += engine.update(result)[0]
        reps = Counter(str(e.attributes["exercise"]) for e in events if e.type is EventType.REP)
        falls = sum(1 for e in events if e.type is EventType.FALL_DETECTED)
        seq = [str(e.attributes["posture"]) for e in events if e.type is EventType.POSTURE_CHANGED]
        truth = "fall" if m.fall else (f"{m.squats} squat{'s' * (m.squats > 1)}" if m.squats else "no fall")
        other = sum(v for k, v in reps.items() if k != "squat")
        print(f"| {m.name} | {truth} | {falls} | {reps['squat']} | {other} | {' > '.join(seq)} |")


def _front_stop_box(data: dict[str, Any], right_arm: dict[int, bool], front_stop: Counter[str]) -> None:
    """right_arm_raised outside Traffic_FrontStop's box (95th percentiles of its wrist height and elbow)."""
    from tools.evaluation.real_poses import front_stop_box

    box = front_stop_box(data)
    outside = [ok for i, ok in right_arm.items() if i not in box.inside]
    false = sum(front_stop.values()) - front_stop["none"]
    print(
        f"- Traffic_FrontStop's box (wrist at most {box.wrist_max:.2f} torso lengths above the shoulder, "
        f"elbow at most {box.elbow_max_deg:.0f} degrees) holds {len(box.inside)} of {box.samples} "
        f"Stand_RightArmRaised samples; "
        f"right_arm_raised outside it: {sum(outside)}/{len(outside)} = {sum(outside) / len(outside):.1%}; "
        f"Traffic_FrontStop read as a gesture: {false}/{sum(front_stop.values())} = "
        f"{false / sum(front_stop.values()):.1%}"
    )


def _figure(
    path: Path,
    *,
    data: dict[str, object],
    postures: dict[str, Counter[str]],
    gestures: dict[str, Counter[str]],
    p_cols: list[str],
    g_cols: list[str],
) -> None:
    """Both confusion matrices (rows: dataset classes, share of the row) as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = list(data)
    fig, axes = plt.subplots(1, 2, figsize=(13, 8))
    for ax, counts, cols, title in (
        (axes[0], postures, p_cols, "posture"),
        (axes[1], gestures, g_cols, "static gesture"),
    ):
        m = np.array([[counts[r][c] / max(1, sum(counts[r].values())) for c in cols] for r in rows])
        ax.imshow(m, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
        ax.set_yticks(range(len(rows)), rows if ax is axes[0] else [""] * len(rows))
        for i in range(len(rows)):
            for j in range(len(cols)):
                if m[i, j] >= 0.005:
                    ax.text(
                        j,
                        i,
                        f"{m[i, j]:.0%}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if m[i, j] > 0.6 else "black",
                    )
        ax.set_title(f"{title} (block-wise CV, share of each class)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)


def main() -> None:
    """Print every table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds per generated clip")
    parser.add_argument("--posture-samples", type=int, default=100, help="held-out samples per posture")
    parser.add_argument("--real-only", action="store_true", help="only the real-people tables")
    parser.add_argument("--people", type=int, default=6, help="people per real-pose motion")
    parser.add_argument("--figure", type=Path, default=REPO / "docs" / "activity_confusion.png")
    args = parser.parse_args()
    real_people_tables(args.figure, args.people)
    if args.real_only:
        return
    reps_table(args.seeds)
    falls_table(args.seeds)
    gestures_table(args.seeds)
    posture_table(args.posture_samples)
    recorded_table()
    timing()


if __name__ == "__main__":
    main()
