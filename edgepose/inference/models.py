"""Which model file serves which role, variant, precision and accelerator, and where it lives.

Layout (the names are a contract with scripts/build_models.py):
- float models, fetched from the registries on first use, in `cache_dir()/models/float/`:
  `pose_detection.tflite`, `pose_landmark_{lite,full,heavy}.tflite`; for the legacy upper-body mode
  `pose_landmark_upper_body.tflite` and the detector of its release, `pose_detection_upper_body.tflite`.
- int8 models, committed, in `bundled_models_dir()`: `pose_detection_int8.tflite`,
  `pose_landmark_{variant}_int8.tflite`; EdgeTPU-compiled files add `_edgetpu` before `.tflite`.
  Full-integer builds (the edgetpu_compiler input) are `..._int8_full.tflite`.
- Landmark models without their segmentation output (identical landmarks, less work), written by
  scripts/build_models.py, are what runs unless masks are asked for; the runtime never edits a
  model. int8: the committed `pose_landmark_{variant}_int8.tflite` has no mask head; the one with it
  (`..._int8_masks.tflite`) is built locally, not committed (it would double models/). float: the
  fetched files keep their published names (with the head); the built copy adds `_nomask`.

`model_path` checks every file against its pinned sha256 (float: `model_fetch.FLOAT_SOURCES` and
the manifest's `float_nomask`; bundled: the `manifest.json` next to it) and fetches missing float
files on first use.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
from pathlib import Path
from typing import Any

from edgepose.errors import ModelError
from edgepose.inference.model_fetch import FLOAT_SOURCES, fetch_float, sha256_of
from edgepose.paths import bundled_models_dir, cache_dir
from edgepose.types import FULL_BODY_VARIANTS, ModelVariant, Precision

log = logging.getLogger(__name__)


class ModelRole(enum.StrEnum):
    """What a model file does in the pipeline."""

    DETECTOR = "detector"
    LANDMARK = "landmark"


def model_filename(
    role: ModelRole,
    variant: ModelVariant,
    precision: Precision,
    edgetpu: bool = False,
    masks: bool = False,
) -> str:
    """The file name for a role, variant and precision (the detector has no variant).

    Landmark models come without their segmentation head unless `masks`. EdgeTPU files are compiled
    from the full-integer build, which keeps the head.
    """
    stem = "pose_detection" if role is ModelRole.DETECTOR else f"pose_landmark_{variant.value}"
    if role is ModelRole.DETECTOR and variant is ModelVariant.UPPER_BODY:
        stem += "_upper_body"  # the detector that shipped with the upper-body model
    if precision is Precision.INT8:
        stem += "_int8"
    if edgetpu:
        stem += "_edgetpu"
    elif role is ModelRole.LANDMARK and precision is Precision.INT8 and masks:
        stem += MASKS  # built locally, not shipped
    elif (
        role is ModelRole.LANDMARK
        and precision is Precision.FLOAT
        and not masks
        and variant in FULL_BODY_VARIANTS
    ):
        stem += NOMASK  # the published files keep their names (the upper-body one has no 256x256 mask)
    return stem + ".tflite"


def float_models_dir() -> Path:
    """Where float models are cached after their first download."""
    return cache_dir() / "models" / "float"


NOMASK = "_nomask"
MASKS = "_masks"
MANIFEST_NAME = "manifest.json"
_FLOAT_SHA256 = {s.name: s.sha256 for s in FLOAT_SOURCES}


def read_manifest(folder: Path | None = None) -> dict[str, Any]:
    """The bundled models' manifest (sources, digests, recipes), or {} when there is none."""
    path = (folder or bundled_models_dir()) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def expected_sha256(path: Path) -> str | None:
    """The pinned digest of a model file: the float pins, or the manifest beside it; None if unpinned."""
    if path.parent == float_models_dir():
        if path.name in _FLOAT_SHA256:
            return _FLOAT_SHA256[path.name]
        entry = read_manifest().get("float_nomask", {}).get(path.name)
    else:
        entry = read_manifest(path.parent).get("int8", {}).get(path.name)
    if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    return None


@functools.cache
def _note_no_nomask(path: Path) -> None:
    """Say once per file that the whole float model serves until its `_nomask` copy is built."""
    log.info(
        "%s is not built yet: using the model with its segmentation head (same landmarks, slower); "
        "python scripts/build_models.py --precision float writes it",
        path.name,
    )


@functools.cache
def _warn_float_upper_body() -> None:
    """Say once per process that the upper-body model runs in float."""
    log.warning(
        "no int8 upper-body models are bundled (the int8 build does not hold the int8 accuracy rule, "
        "see docs/models.md): using the float ones"
    )


@functools.cache
def _verified(path: Path, size: int, mtime_ns: int) -> str:
    """The file's digest, hashed once per (path, size, mtime)."""
    del size, mtime_ns  # part of the cache key only
    return sha256_of(path)


def verify_model(path: Path) -> None:
    """Raise ModelError if a pinned model file does not have its pinned sha256."""
    expected = expected_sha256(path)
    if expected is None:
        return
    stat = path.stat()
    actual = _verified(path, stat.st_size, stat.st_mtime_ns)
    if actual != expected:
        raise ModelError(
            f"model {path} is corrupt or modified (sha256 {actual[:12]}..., expected {expected[:12]}...)"
            + (": delete it and run again to fetch it" if path.parent == float_models_dir() else "")
        )


def model_path(
    role: ModelRole,
    variant: ModelVariant,
    precision: Precision,
    *,
    edgetpu: bool = False,
    fetch: bool = True,
    masks: bool = False,
) -> Path:
    """The path of a verified model file; float files are fetched on first use when `fetch`.

    A landmark model without its segmentation head unless `masks`. Float models fetched at run
    time come whole: until scripts/build_models.py has written their `_nomask` copy, the whole one
    serves (same landmarks, slower). Raises ModelError saying how to get a file that is missing or
    has the wrong digest. The upper-body models have no bundled int8 build (it does not hold the int8
    accuracy rule): asked for int8, they run float (with a warning) unless one was built locally.
    """
    int8_file = bundled_models_dir() / model_filename(role, variant, precision, edgetpu, masks)
    if variant is ModelVariant.UPPER_BODY and precision is Precision.INT8 and not int8_file.is_file():
        _warn_float_upper_body()
        precision, edgetpu = Precision.FLOAT, False
    name = model_filename(role, variant, precision, edgetpu, masks)
    folder = float_models_dir() if precision is Precision.FLOAT else bundled_models_dir()
    path = folder / name
    if precision is Precision.FLOAT and NOMASK in name and not path.is_file():
        _note_no_nomask(path)
        name = model_filename(role, variant, precision, edgetpu, masks=True)
        path = folder / name
    if not path.is_file() and precision is Precision.FLOAT and fetch:
        log.warning("float model %s is not in %s yet: fetching it once (HTTPS, npm/PyPI)", name, folder)
        fetch_float(folder)
    if not path.is_file():
        if edgetpu:
            hint = "run scripts/compile_edgetpu.sh on a machine with edgetpu_compiler"
        elif masks and precision is Precision.INT8:
            # Shipping the mask heads would double models/; masks are an API option only.
            hint = (
                "segmentation masks need the int8 landmark model with its mask head, which is not "
                "shipped: use precision float, or build it with scripts/build_models.py --precision int8"
            )
        else:
            hint = f"run scripts/build_models.py --precision {precision}"
        raise ModelError(f"model {name} not found in {folder}: {hint}")
    verify_model(path)
    return path
