"""Run generated scenarios through the activity engine and compare with their truth."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from edgepose.activity.engine import ActivityEngine
from edgepose.config.activity import ActivityConfig
from edgepose.types import Event, EventType, PoseResult

from .body import Actor, Body, Camera, Noise, render
from .scenarios import Scenario


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the engine reported on one scenario."""

    scenario: Scenario
    events: list[Event]
    postures: dict[float, str]  # check time -> stable posture then

    def reps(self) -> Counter[str]:
        """Rep events per exercise."""
        return Counter(str(e.attributes["exercise"]) for e in self.events if e.type is EventType.REP)

    def falls(self) -> int:
        """Number of fall events."""
        return sum(1 for e in self.events if e.type is EventType.FALL_DETECTED)

    def gestures(self) -> Counter[str]:
        """Gesture events per gesture."""
        return Counter(str(e.attributes["gesture"]) for e in self.events if e.type is EventType.GESTURE)


def frames_for(
    scenario: Scenario,
    seed: int = 0,
    world: bool = True,
    body: Body | None = None,
    camera: Camera | None = None,
) -> list[PoseResult]:
    """The scenario rendered with noise and dropped landmarks."""
    actor = Actor(1, body or Body(), scenario.pose_at)
    return render([actor], scenario.duration_s, camera=camera, noise=Noise(seed=seed), world=world)


def run(
    scenario: Scenario,
    config: ActivityConfig | None = None,
    seed: int = 0,
    world: bool = True,
    body: Body | None = None,
    camera: Camera | None = None,
) -> Outcome:
    """Feed a scenario to a fresh engine."""
    engine = ActivityEngine(config or ActivityConfig.model_validate({}))
    events: list[Event] = []
    postures: dict[float, str] = {}
    checks = sorted(t for t, _ in scenario.posture_checks)
    for result in frames_for(scenario, seed, world, body, camera):
        new, state = engine.update(result)
        events += new
        while checks and result.timestamp_ms >= checks[0] * 1000.0:
            postures[checks.pop(0)] = state.tracks[0].posture.value if state.tracks else "absent"
    return Outcome(scenario, events, postures)


def track_lines(results: list[PoseResult]) -> str:
    """Frames in the `edgepose track` JSON-lines format."""
    import json

    lines = []
    for r in results:
        poses = [
            {
                "track_id": p.track_id,
                "score": p.score,
                "landmarks": [[round(float(v), 5) for v in row] for row in p.landmarks],
                "world_landmarks": None
                if p.world_landmarks is None
                else [[round(float(v), 5) for v in row] for row in p.world_landmarks],
            }
            for p in r.poses
        ]
        lines.append(
            json.dumps(
                {
                    "frame": r.frame_index,
                    "timestamp_ms": r.timestamp_ms,
                    "width": r.width,
                    "height": r.height,
                    "poses": poses,
                }
            )
        )
    return "\n".join(lines) + "\n"
