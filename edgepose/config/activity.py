"""[activity] config: thresholds of the activity rules (owned by the activity engine).

Lengths are in torso lengths (hip centre to shoulder centre) so that nothing depends on the
distance to the camera or the image size; angles are in degrees; times in milliseconds.
"""

from __future__ import annotations

import enum

from pydantic import Field, field_validator, model_validator

from edgepose.config.base import Bool, ConfigPath, Float, Int, Str, StrictModel
from edgepose.config.zone_shape import shape_problem


class ZoneAnchor(enum.StrEnum):
    """Which point of a person decides whether they are inside a zone."""

    FEET = "feet"
    HIPS = "hips"
    CENTER = "center"


class ZoneConfig(StrictModel):
    """A named polygon in normalised image coordinates (x to the right, y down, both 0..1)."""

    name: Str = Field(min_length=1, description="Zone name, used in events and in the state.")
    polygon: tuple[tuple[Float, Float], ...] = Field(
        description="At least three [x, y] corners in normalised image coordinates (0..1), in order "
        "around the zone: a simple polygon with area, not crossing itself."
    )

    @field_validator("polygon")
    @classmethod
    def _a_simple_polygon(cls, value: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        problem = shape_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class PresenceConfig(StrictModel):
    """person_entered / person_left and zone membership debounce."""

    enter_ms: Int = Field(400, ge=0, description="A new track must be seen this long before person_entered.")
    leave_ms: Int = Field(
        2000, ge=0, description="A track unseen this long is gone: person_left (and zone_left)."
    )
    zone_dwell_ms: Int = Field(
        500, ge=0, description="Inside/outside a zone this long before zone_entered/zone_left fires."
    )
    zone_anchor: ZoneAnchor = Field(
        ZoneAnchor.FEET,
        description="Point tested against zones: feet (ankles, else lowest landmark), hips or body centre.",
    )
    min_visibility: Float = Field(
        0.5, ge=0.0, le=1.0, description="Landmarks with visibility below this are treated as missing."
    )


class PostureConfig(StrictModel):
    """Posture rules (standing, sitting, squatting, lying) and their hysteresis."""

    camera_tilt_deg: Float = Field(
        0.0,
        ge=-90.0,
        le=90.0,
        description="How far the camera looks down (degrees); world landmarks are camera-aligned, so "
        "the vertical they are measured against is tilted by this.",
    )
    upright_max_deg: Float = Field(
        35.0, description="Torso inclination from vertical up to which a body is upright."
    )
    lying_min_deg: Float = Field(
        60.0, description="Torso and hip-to-ankle inclination from vertical from which a body is lying."
    )
    standing_knee_min_deg: Float = Field(
        150.0, description="Knee angle above which a leg counts as straight."
    )
    standing_hip_min_deg: Float = Field(
        140.0, description="Hip angle above which the hips count as extended."
    )
    bent_knee_max_deg: Float = Field(
        130.0, description="Knee angle below which sitting/squatting is possible."
    )
    squat_shin_min_deg: Float = Field(
        22.0,
        description="Shin inclination from vertical from which a bent knee means a squat (knees over toes).",
    )
    squat_torso_min_deg: Float = Field(
        22.0, description="Torso lean from which a bent-knee pose is a squat rather than sitting."
    )
    deep_squat_knee_max_deg: Float = Field(
        50.0, description="Knee angle below which a bent-knee pose is a squat whatever the shins do."
    )
    hold_ms: Int = Field(400, ge=0, description="A new posture must hold this long before posture_changed.")
    min_landmark_fraction: Float = Field(
        0.6, ge=0.0, le=1.0, description="Below this fraction of visible body joints the posture is unknown."
    )


class FallConfig(StrictModel):
    """Fall rule: a fast transition from upright to lying, then staying down."""

    upright_lookback_ms: Int = Field(
        2500, ge=0, description="The body must have been upright within this long before it is lying."
    )
    max_transition_ms: Int = Field(
        1500, ge=0, description="Upright to lying must take at most this long (slow lying down is no fall)."
    )
    min_drop_speed: Float = Field(
        1.2, gt=0.0, description="Peak downward speed of the shoulders, torso lengths per second."
    )
    confirm_ms: Int = Field(2000, ge=0, description="The body must stay lying this long after the drop.")
    speed_window_ms: Int = Field(250, gt=0, description="Window over which the drop speed is measured.")
    rearm_ms: Int = Field(
        10000,
        ge=0,
        description="After a fall event, no new one for this track until upright again and this long.",
    )


class RepConfig(StrictModel):
    """Enter/exit thresholds (hysteresis) of the repetition counters."""

    squat_enter_knee_deg: Float = Field(
        115.0, description="Squat: knee angle below which the rep is entered."
    )
    squat_exit_knee_deg: Float = Field(160.0, description="Squat: knee angle above which the rep counts.")
    squat_exit_max_torso_deg: Float = Field(
        20.0,
        ge=0.0,
        le=90.0,
        description="Squat: the rep counts only once the torso is back within this angle of vertical "
        "(someone lowering themselves to the floor straightens the knees while leaning).",
    )
    pushup_enter_elbow_deg: Float = Field(
        100.0, description="Push-up: elbow angle below which the rep is entered."
    )
    pushup_exit_elbow_deg: Float = Field(
        150.0, description="Push-up: elbow angle above which the rep counts."
    )
    curl_enter_elbow_deg: Float = Field(
        70.0, description="Biceps curl: elbow angle below which the rep is entered."
    )
    curl_exit_elbow_deg: Float = Field(
        140.0, description="Biceps curl: elbow angle above which the rep counts."
    )
    curl_upper_arm_max_deg: Float = Field(
        40.0, description="Biceps curl: upper arm within this angle of the torso (hanging)."
    )
    jack_enter_arm_deg: Float = Field(
        130.0, description="Jumping jack: both arms raised (shoulder angle) above this to enter."
    )
    jack_exit_arm_deg: Float = Field(45.0, description="Jumping jack: both arms below this to count.")
    jack_min_feet_spread: Float = Field(
        1.3, description="Jumping jack: ankle spread over shoulder width at least this when entered."
    )
    lunge_enter_knee_deg: Float = Field(115.0, description="Lunge: both knees below this to enter.")
    lunge_exit_knee_deg: Float = Field(155.0, description="Lunge: both knees above this to count.")
    lunge_min_stride: Float = Field(
        1.2, description="Lunge: ankle distance in torso lengths at least this (a split stance)."
    )
    min_rep_ms: Int = Field(300, ge=0, description="Shorter repetitions are ignored as noise.")
    idle_reset_ms: Int = Field(
        60000, ge=0, description="Counters go back to 0 after this long without a rep."
    )


class GestureConfig(StrictModel):
    """Arm gestures: held for a time before firing, then a cooldown."""

    hold_ms: Int = Field(800, ge=0, description="A static gesture must hold this long before the event.")
    cooldown_ms: Int = Field(
        3000, ge=0, description="The same gesture of a track does not fire again for this long."
    )
    raised_min_elbow_deg: Float = Field(
        120.0, description="An arm counts as raised only if the elbow angle is above this (fairly straight)."
    )
    t_pose_tolerance_deg: Float = Field(
        25.0, description="T-pose: each arm within this of horizontal (shoulder angle 90) and straight."
    )
    wave_window_ms: Int = Field(
        2000, gt=0, description="Window in which the wave's hand reversals are counted."
    )
    wave_min_reversals: Int = Field(
        3, ge=1, description="Wave: at least this many left/right reversals in the window."
    )
    wave_min_amplitude: Float = Field(
        0.15, description="Wave: each swing at least this long, torso lengths (wrist relative to elbow)."
    )


class InactivityConfig(StrictModel):
    """No significant motion while present."""

    after_ms: Int = Field(300000, ge=1, description="Still this long while present fires inactivity.")
    motion_threshold: Float = Field(
        0.15,
        gt=0.0,
        description="Mean landmark shift from the last still pose that counts as motion (torso lengths).",
    )


# The k-NN vote's defaults, for the config and for a classifier built without one.
TOP_N_BY_MAX_DISTANCE = 30
TOP_N_BY_MEAN_DISTANCE = 10


class ClassifierConfig(StrictModel):
    """Custom poses: a k-NN classifier trained with `edgepose train`."""

    path: ConfigPath | None = Field(
        None, description="classifier.json from `edgepose train`; none disables it."
    )
    top_n_by_max_distance: Int = Field(
        TOP_N_BY_MAX_DISTANCE, ge=1, description="k-NN: candidates kept by maximum per-axis distance."
    )
    top_n_by_mean_distance: Int = Field(
        TOP_N_BY_MEAN_DISTANCE, ge=1, description="k-NN: neighbours voting, by mean distance."
    )
    ema_window: Int = Field(10, ge=1, description="EMA smoothing window of the class votes (frames).")
    ema_alpha: Float = Field(0.2, gt=0.0, le=1.0, description="EMA smoothing factor of the class votes.")
    enter_threshold: Float = Field(
        6.0, description="Smoothed votes (of top_n_by_mean_distance) needed to enter a class."
    )
    exit_threshold: Float = Field(4.0, description="Smoothed votes below which a class is left.")
    rep_class: Str | None = Field(
        None,
        description="Count a repetition each time this class is entered and then left (MediaPipe's counter).",
    )
    rep_name: Str = Field(
        "custom", min_length=1, description="Exercise name in rep events of the custom counter."
    )

    @model_validator(mode="after")
    def _hysteresis_order(self) -> ClassifierConfig:
        if self.exit_threshold > self.enter_threshold:
            raise ValueError("exit_threshold must not exceed enter_threshold")
        return self


class PoseModelConfig(StrictModel):
    """The bundled posture/gesture model (a small neural network over real people's 2D poses)."""

    enabled: Bool = Field(
        True,
        description="Decide posture and static arm gestures with the pose model; false: with the angle "
        "rules only. The rules decide whenever the model cannot (too few landmarks visible).",
    )
    path: ConfigPath | None = Field(
        None, description="A pose model file to use instead of the bundled models/activity_poses.json."
    )
    rules_for_lying: Bool = Field(
        True,
        description="Keep the angle rule's lying (world landmarks with camera_tilt_deg) when it says lying.",
    )
    sitting_max_hip_speed: Float = Field(
        0.5,
        ge=0.0,
        description="Hip speed (torso sizes per second, over the last half second) above which the model's "
        "sitting is not believed: a seated person's hips stay put, while walkers seen from above can "
        "look seated.",
    )


class ActionsConfig(StrictModel):
    """Actions from sequences of poses: a window classifier trained with `edgepose train`."""

    path: ConfigPath | None = Field(
        None,
        description="Action model (actions.json) from `edgepose train` on `edgepose record --sequence` "
        "windows; none disables actions. The window length is the model's.",
    )
    enter_confidence: Float = Field(
        0.8, gt=0.0, le=1.0, description="Probability at or above which an action may start."
    )
    exit_confidence: Float = Field(
        0.5, ge=0.0, le=1.0, description="Probability below which a running action may end."
    )
    min_duration_ms: Int = Field(
        600, ge=0, description="A label must stay above enter_confidence this long before action_started."
    )
    exit_ms: Int = Field(
        800, ge=0, description="A running action must stay below exit_confidence this long before it ends."
    )
    every_ms: Int = Field(
        200, ge=0, description="Classify each person's window at most this often (CPU on a Pi)."
    )
    min_window_fraction: Float = Field(
        0.8, gt=0.0, le=1.0, description="Classify only once the frames span this fraction of the window."
    )
    quiet_labels: tuple[Str, ...] = Field(
        (), description="Labels that never start an action (e.g. 'standing_still'); they still end one."
    )

    @model_validator(mode="after")
    def _hysteresis_order(self) -> ActionsConfig:
        if self.exit_confidence > self.enter_confidence:
            raise ValueError("exit_confidence must not exceed enter_confidence")
        return self


class ActivityConfig(StrictModel):
    """Activity rules and their thresholds."""

    enabled: Bool = Field(True, description="Run the activity engine at all.")
    zones: tuple[ZoneConfig, ...] = Field((), description="Named zones, as [[activity.zones]] tables.")
    presence: PresenceConfig = Field(
        default_factory=lambda: PresenceConfig.model_validate({}), description="Presence and zone debounce."
    )
    posture: PostureConfig = Field(
        default_factory=lambda: PostureConfig.model_validate({}), description="Posture rules."
    )
    falls: FallConfig = Field(
        default_factory=lambda: FallConfig.model_validate({}), description="Fall detection rule."
    )
    reps: RepConfig = Field(
        default_factory=lambda: RepConfig.model_validate({}), description="Repetition counters."
    )
    gestures: GestureConfig = Field(
        default_factory=lambda: GestureConfig.model_validate({}), description="Gestures."
    )
    inactivity: InactivityConfig = Field(
        default_factory=lambda: InactivityConfig.model_validate({}), description="Inactivity rule."
    )
    classifier: ClassifierConfig = Field(
        default_factory=lambda: ClassifierConfig.model_validate({}), description="Custom pose classifier."
    )
    pose_model: PoseModelConfig = Field(
        default_factory=lambda: PoseModelConfig.model_validate({}),
        description="Bundled posture/gesture model.",
    )
    actions: ActionsConfig = Field(
        default_factory=lambda: ActionsConfig.model_validate({}), description="Actions from pose sequences."
    )

    @field_validator("zones")
    @classmethod
    def _unique_zone_names(cls, value: tuple[ZoneConfig, ...]) -> tuple[ZoneConfig, ...]:
        names = [z.name for z in value]
        if len(set(names)) != len(names):
            raise ValueError("zone names must be unique")
        return value
