"""The activity engine: tracked poses in, events and the retained state out, per track.

Pure: time comes from `PoseResult.timestamp_ms`; nothing here reads clocks, files (except the
classifier file once, at construction) or sockets. Event ids are `{id_prefix}-{n}` with a counter
per engine; the prefix is random per engine unless given, so ids stay unique across restarts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from edgepose.activity.action_model import ActionModel, load_action_model
from edgepose.activity.actions import ActionTracker
from edgepose.activity.base import Emit
from edgepose.activity.classifier import (
    ClassRepetitionCounter,
    EmaSmoothing,
    KnnPoseClassifier,
    load_classifier,
    normalized_landmarks,
)
from edgepose.activity.falls import FallDetector
from edgepose.activity.features import PoseFeatures, compute_features
from edgepose.activity.gestures import GestureDetector
from edgepose.activity.inactivity import InactivityDetector
from edgepose.activity.motion import HipMotion
from edgepose.activity.pose_model import MODEL_FILE, PoseModel, decide, load_pose_model
from edgepose.activity.posture import PostureTracker, is_lying
from edgepose.activity.presence import Presence
from edgepose.activity.reps import RepCounter
from edgepose.config.activity import ActivityConfig
from edgepose.paths import bundled_models_dir
from edgepose.types import ActivityState, Event, EventType, PoseResult, Posture, TrackState

# A new tracker id whose hips are within this many torso lengths of a person lost moments ago
# (not yet `leave_ms`) continues that person.
HANDOVER_RADIUS = 1.0


@dataclass(slots=True)
class _Track:
    """Everything the engine remembers about one person."""

    presence: Presence
    posture: PostureTracker
    falls: FallDetector
    reps: RepCounter
    gestures: GestureDetector
    inactivity: InactivityDetector
    motion: HipMotion = field(default_factory=HipMotion)
    smoothing: EmaSmoothing | None = None
    class_counter: ClassRepetitionCounter | None = None
    actions: ActionTracker | None = None
    pose_class: str | None = None
    last_features: PoseFeatures | None = None
    extra_counts: dict[str, int] = field(default_factory=dict)


class ActivityEngine:
    """Turns PoseResults into events and an ActivityState; one instance per camera."""

    def __init__(
        self,
        config: ActivityConfig,
        id_prefix: str | None = None,
        classifier: KnnPoseClassifier | None = None,
        pose_model: PoseModel | None = None,
        action_model: ActionModel | None = None,
    ) -> None:
        """Build the engine; reads the classifier, pose model and action files unless they are given.

        Event ids are `{id_prefix}-{n}`; without a prefix a random one is drawn, so that ids stay
        unique across restarts (pass one for reproducible ids).
        """
        self.config = config
        self._id_prefix = id_prefix if id_prefix is not None else uuid.uuid4().hex[:12]
        self._seq = 0
        cc = config.classifier
        if classifier is None and cc.path is not None:
            classifier = load_classifier(cc.path, cc.top_n_by_max_distance, cc.top_n_by_mean_distance)
        self._classifier = classifier
        pm = config.pose_model
        if pose_model is None and pm.enabled:
            pose_model = load_pose_model(pm.path or bundled_models_dir() / MODEL_FILE)
        self._pose_model = pose_model if pm.enabled else None
        if action_model is None and config.actions.path is not None:
            action_model = load_action_model(config.actions.path)
        self._action_model = action_model
        self._tracks: dict[int, _Track] = {}
        self._aliases: dict[int, int] = {}  # tracker id -> engine track id after a hand-over
        self._last_ms = 0

    def reset(self) -> None:
        """Forget every track (e.g. when the source restarts); ids keep counting."""
        self._tracks.clear()
        self._aliases.clear()
        self._last_ms = 0

    def _new_track(self, t: int) -> _Track:
        c = self.config
        track = _Track(
            presence=Presence(c.presence, c.zones, first_seen_ms=t, last_seen_ms=t),
            posture=PostureTracker(c.posture, since_ms=t),
            falls=FallDetector(c.falls, c.posture.upright_max_deg),
            reps=RepCounter(c.reps, c.posture.lying_min_deg, c.posture.upright_max_deg),
            gestures=GestureDetector(c.gestures, c.posture.upright_max_deg),
            inactivity=InactivityDetector(c.inactivity),
        )
        if self._classifier is not None:
            track.smoothing = EmaSmoothing(c.classifier.ema_window, c.classifier.ema_alpha)
            if c.classifier.rep_class is not None:
                track.class_counter = ClassRepetitionCounter(
                    c.classifier.rep_class, c.classifier.enter_threshold, c.classifier.exit_threshold
                )
        if self._action_model is not None:
            track.actions = ActionTracker(self._action_model, c.actions)
        return track

    def _event(self, emit: Emit, t: int, track_id: int | None) -> Event:
        self._seq += 1
        return Event(
            id=f"{self._id_prefix}-{self._seq}",
            type=emit.type,
            timestamp_ms=t,
            track_id=track_id,
            attributes=emit.attributes,
        )

    def update(self, result: PoseResult) -> tuple[list[Event], ActivityState]:
        """Feed one frame's poses; the events it caused and the state after it."""
        t = result.timestamp_ms
        self._last_ms = t
        events: list[Event] = []
        seen: set[int] = set()
        # People in this frame under their known ids: never handed over to a newcomer.
        present = {self._aliases.get(p.track_id, p.track_id) for p in result.poses}
        for pose in result.poses:
            f = compute_features(
                pose,
                t,
                result.width,
                result.height,
                min_visibility=self.config.presence.min_visibility,
                camera_tilt_deg=self.config.posture.camera_tilt_deg,
            )
            track_id = self._resolve(pose.track_id, f, seen | present)
            if track_id in seen:
                continue  # one pose per person per frame
            seen.add(track_id)
            track = self._tracks.get(track_id)
            if track is None:
                track = self._tracks[track_id] = self._new_track(t)
            events += [self._event(e, t, track_id) for e in self._update_track(track, f, t)]
        for track_id in sorted(self._tracks):
            track = self._tracks[track_id]
            if track_id not in seen and track.presence.gone(t):
                ended = track.actions.end(t) if track.actions is not None else []
                events += [self._event(e, t, track_id) for e in ended + track.presence.leave()]
                del self._tracks[track_id]
                self._aliases = {k: v for k, v in self._aliases.items() if v != track_id}
        return events, self.state()

    def _resolve(self, tracker_id: int, f: PoseFeatures, taken: set[int]) -> int:
        """The engine's id for a tracker id: a new tracker id close to where a person was lost
        moments ago is that person (trackers re-number people after occlusions and camera moves)."""
        if tracker_id in self._aliases:
            return self._aliases[tracker_id]
        if tracker_id in self._tracks or np.isnan(f.hip_center_px[0]) or np.isnan(f.scale_px):
            return tracker_id
        best, best_distance = None, HANDOVER_RADIUS
        for track_id, track in self._tracks.items():
            last = track.last_features
            if track_id in taken or last is None or np.isnan(last.hip_center_px[0]):
                continue
            distance = float(np.linalg.norm(last.hip_center_px - f.hip_center_px)) / f.scale_px
            if distance < best_distance:
                best, best_distance = track_id, distance
        if best is None:
            return tracker_id
        self._aliases[tracker_id] = best
        return best

    def _update_track(self, track: _Track, f: PoseFeatures, t: int) -> list[Emit]:
        track.last_features = f
        out = track.presence.seen(f, t)
        instant, static = self._posture_and_gesture(f, track.motion.update(f, t))
        lying = is_lying(f, self.config.posture)
        squatting = Posture.SQUATTING in (instant, track.posture.current)
        if not track.presence.confirmed:
            track.posture.update(instant, t)  # warm up without events
            track.falls.update(f, lying, t, squatting=squatting)
            return out
        out += track.posture.update(instant, t)
        out += track.falls.update(f, lying, t, squatting=squatting)
        # This frame's squatting (the held posture would miss the bottom of a quick squat), or a
        # held seat-like posture (a shallow squat reads as sitting; one odd frame does not count).
        held = track.posture.current in (Posture.SQUATTING, Posture.SITTING)
        out += track.reps.update(f, t, squatting=instant is Posture.SQUATTING or held)
        out += track.gestures.update(f, t, static)
        out += track.inactivity.update(f, t)
        out += self._classify(track, f, t)
        if track.actions is not None:
            out += track.actions.update(f, t)
        return out

    def _posture_and_gesture(self, f: PoseFeatures, hip_speed: float) -> tuple[Posture, str | None]:
        """This frame's posture and static gesture (pose model and rules, see `decide`)."""
        return decide(f, self._pose_model, self.config, hip_speed)

    def _classify(self, track: _Track, f: PoseFeatures, t: int) -> list[Emit]:
        if self._classifier is None or track.smoothing is None:
            return []
        cc = self.config.classifier
        smoothed = track.smoothing(self._classifier.classify(normalized_landmarks(f)))
        out: list[Emit] = []
        best = max(smoothed.items(), key=lambda kv: kv[1], default=None)
        current = smoothed.get(track.pose_class, 0.0) if track.pose_class is not None else 0.0
        if track.pose_class is not None and current < cc.exit_threshold:
            track.pose_class = None
        if best is not None and best[1] > cc.enter_threshold and best[0] != track.pose_class:
            track.pose_class = best[0]
            confidence = best[1] / cc.top_n_by_mean_distance
            out.append(
                Emit(
                    EventType.POSE_CLASS_CHANGED, {"pose_class": best[0], "confidence": round(confidence, 2)}
                )
            )
        if track.class_counter is not None:
            duration = track.class_counter.update(smoothed, t)
            if duration is not None:
                name = cc.rep_name
                track.extra_counts[name] = track.class_counter.count
                out.append(
                    Emit(
                        EventType.REP,
                        {"exercise": name, "count": track.class_counter.count, "duration_ms": duration},
                    )
                )
        return out

    def state(self) -> ActivityState:
        """The retained summary: people present, per-track posture/zones/counts, per-zone counts."""
        tracks: list[TrackState] = []
        zone_counts = {z.name: 0 for z in self.config.zones}
        for track_id in sorted(self._tracks):
            track = self._tracks[track_id]
            if not track.presence.confirmed:
                continue
            zones = track.presence.in_zones()
            for z in zones:
                zone_counts[z] += 1
            counts = dict(track.reps.counts)
            counts.update(track.extra_counts)
            tracks.append(
                TrackState(
                    track_id=track_id,
                    posture=track.posture.current,
                    zones=zones,
                    rep_counts=counts,
                    pose_class=track.pose_class,
                    since_ms=track.posture.since_ms,
                    fallen=track.falls.fallen,
                    still_ms=track.inactivity.still_ms(self._last_ms),
                )
            )
        return ActivityState(
            timestamp_ms=self._last_ms, people=len(tracks), tracks=tuple(tracks), zone_counts=zone_counts
        )
