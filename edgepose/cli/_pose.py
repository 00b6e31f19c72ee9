"""Arguments, options and JSON output shared by the `detect`, `track` and `bench` subcommands."""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from edgepose.cli._image_header import OPENCV_LIMIT_VARIABLE, declared_size, pixel_limit
from edgepose.errors import InputError, OutputError, UsageError
from edgepose.types import ImageArray, ModelVariant, Pose, Precision, RunningMode

log = logging.getLogger(__name__)

JSON_DECIMALS = 6


def add_pose_arguments(parser: argparse.ArgumentParser) -> None:
    """The model and pipeline options every pose subcommand takes (validated in `pose_options`)."""
    from edgepose.pose.landmarker import DEFAULT_PRECISION, DEFAULT_TRACK_GRACE_FRAMES, DEFAULT_VARIANT

    parser.add_argument(
        "--model",
        default=DEFAULT_VARIANT.value,
        help="lite, full, heavy or upper_body (default: %(default)s)",
    )
    parser.add_argument(
        "--precision", default=DEFAULT_PRECISION.value, help="int8 or float (default: %(default)s)"
    )
    parser.add_argument("--num-poses", default="1", help="most people to find (default: %(default)s)")
    parser.add_argument("--threads", default="2", help="interpreter threads (default: %(default)s)")
    parser.add_argument("--min-detection-confidence", default="0.5", help="detector score threshold")
    parser.add_argument("--min-presence-confidence", default="0.5", help="landmark presence threshold")
    parser.add_argument("--min-tracking-confidence", default="0.5", help="below this, re-detect")
    parser.add_argument(
        "--track-grace-frames",
        default=str(DEFAULT_TRACK_GRACE_FRAMES),
        help="frames a track may stay below --min-tracking-confidence before it ends (default: %(default)s)",
    )
    parser.add_argument(
        "--detector-model", type=Path, help="explicit detector .tflite (overrides --precision)"
    )
    parser.add_argument("--landmark-model", type=Path, help="explicit landmark .tflite (overrides --model)")
    parser.add_argument(
        "--search",
        default="full_frame",
        help="full_frame (the detector sees the whole frame) or zoom (also zoomed regions, for people "
        "down to 15%% of the frame's height; the daemon's default) (default: %(default)s)",
    )
    parser.add_argument(
        "--motion-gate",
        action="store_true",
        help="video: run the detector only where something moved, plus a slow sweep (as the daemon does)",
    )


def _enum(kind: type[ModelVariant] | type[Precision], value: str, flag: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise UsageError(f"{flag} must be one of {allowed}, not {value!r}") from None


def parse_number(value: str, flag: str, cast: type[int] | type[float], low: float, high: float) -> Any:
    try:
        number = cast(value)
    except ValueError:
        raise UsageError(f"{flag} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise UsageError(f"{flag} must be within [{low:g}, {high:g}], not {value}")
    return number


def pose_options(args: argparse.Namespace, mode: RunningMode, threads: int | None = None) -> Any:
    """PoseLandmarkerOptions from the parsed arguments, or a UsageError naming the bad one."""
    from edgepose.pose.landmarker import PoseLandmarkerOptions
    from edgepose.pose.search import SearchSettings

    for path in (args.detector_model, args.landmark_model):
        if path is not None and not path.is_file():
            raise UsageError(f"model file not found: {path}")
    return PoseLandmarkerOptions(
        running_mode=mode,
        num_poses=parse_number(args.num_poses, "--num-poses", int, 1, 64),
        min_pose_detection_confidence=parse_number(
            args.min_detection_confidence, "--min-detection-confidence", float, 0, 1
        ),
        min_pose_presence_confidence=parse_number(
            args.min_presence_confidence, "--min-presence-confidence", float, 0, 1
        ),
        min_tracking_confidence=parse_number(
            args.min_tracking_confidence, "--min-tracking-confidence", float, 0, 1
        ),
        track_grace_frames=parse_number(args.track_grace_frames, "--track-grace-frames", int, 0, 1000),
        model=_enum(ModelVariant, args.model, "--model"),
        precision=_enum(Precision, args.precision, "--precision"),
        threads=threads if threads is not None else parse_number(args.threads, "--threads", int, 1, 64),
        detector_model_path=args.detector_model,
        landmark_model_path=args.landmark_model,
        search=SearchSettings(mode=_search_mode(args.search), motion_gate=args.motion_gate),
    )


def _search_mode(value: str) -> Any:
    from edgepose.pose.search import SearchMode

    try:
        return SearchMode(value)
    except ValueError:
        raise UsageError(f"--search must be full_frame or zoom, not {value!r}") from None


def pose_json(pose: Pose, with_track: bool) -> dict[str, Any]:
    """One pose in the CLI's JSON contract: the publisher's pose JSON at 6 decimals."""
    from edgepose.publish.payloads import pose_json as build

    return build(pose, JSON_DECIMALS, JSON_DECIMALS, track_id=with_track)


def read_image(path: Path) -> ImageArray:
    """An RGB image from a file, or a UsageError (missing) / InputError (not an image, too large).

    The size the header declares is checked before decoding: a small file can declare a huge image.
    """
    import cv2
    import numpy as np

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    size = declared_size(data[:65536].tobytes())
    limit = pixel_limit()
    if size is not None and size.pixels > limit:
        raise InputError(
            f"{path}: {size.width_px}x{size.height_px} is {size.pixels / 1e6:.0f} megapixels, over the limit "
            f"of {limit / 1e6:.0f} (${OPENCV_LIMIT_VARIABLE} sets it)"
        )
    # OpenCV would print its own lines about a file it refuses; the one line below says it all.
    # Its logging API exists only in some builds (not in opencv-python-headless 4.11, Pi OS's).
    cv_logging: Any = getattr(getattr(cv2, "utils", None), "logging", None)
    level = cv_logging.getLogLevel() if cv_logging is not None else None
    if cv_logging is not None:
        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_SILENT)
    try:
        bgr = cast(ImageArray | None, cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None)
    except cv2.error:  # OpenCV 5 raises where 4.x returned None (e.g. over its own pixel limit)
        bgr = None
    finally:
        if cv_logging is not None:
            cv_logging.setLogLevel(level)
    if bgr is None:
        raise InputError(f"not an image: {path} (or one over ${OPENCV_LIMIT_VARIABLE} pixels)")
    return cast(ImageArray, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def annotate_folder(path: Path) -> Path:
    """The `--annotate` folder, made and proven writable now (before models load); else OutputError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".edgepose-probe-"):
            pass
    except OSError as exc:
        raise OutputError(f"--annotate {path}: {exc.strerror or exc}") from None
    return path


def write_annotated(target: Path, image_rgb: ImageArray) -> None:
    """Write one annotated image; OutputError when it cannot be written (disk full, folder gone)."""
    import cv2

    try:
        written = bool(cv2.imwrite(str(target), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)))
    except cv2.error as exc:
        raise OutputError(f"--annotate: cannot write {target}: {exc}") from None
    if not written:
        raise OutputError(f"--annotate: cannot write {target}")


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame with its index and a strictly increasing timestamp."""

    index: int
    timestamp_ms: int
    image: ImageArray


_SKIP_TRIES = 8  # reads tried past a frame that fails to decode before the file counts as ended


def read_video(path: Path, max_frames: int = 0) -> Iterator[VideoFrame]:
    """RGB frames of a video file (timestamps from its frame rate), or UsageError/InputError.

    A damaged or truncated file is read as far as it goes, with one warning at the end saying how
    many of the frames its container declares were decoded.
    """
    import cv2

    if not path.is_file() and "%" not in path.name:
        raise UsageError(f"no such file: {path}")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InputError(f"not a video: {path}")
        width, height = (
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        if width * height > pixel_limit():
            raise InputError(f"{path}: {width}x{height} frames are over the pixel limit of {pixel_limit()}")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        frame_ms = 1000.0 / fps if 0.0 < fps <= 1000.0 else 1000.0 / 30.0
        index = failed = 0
        while max_frames <= 0 or index < max_frames:
            ok, bgr = capture.read()
            tries = 0
            while not ok and index + failed < declared and tries < _SKIP_TRIES:
                failed, tries = failed + 1, tries + 1  # a frame that does not decode: try the next
                ok, bgr = capture.read()
            if not ok:
                break
            rgb = cast(ImageArray, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            yield VideoFrame(index, round(index * frame_ms), rgb)
            index += 1
        if index == 0:
            raise InputError(f"no frames could be decoded from {path}")
        complete = max_frames > 0 and index >= max_frames
        if not complete and (failed or 0 < index < declared):
            log.warning(
                "%s: decoded %d of the %d frames the file declares: it is damaged or truncated",
                path,
                index,
                declared,
            )
    finally:
        capture.release()
