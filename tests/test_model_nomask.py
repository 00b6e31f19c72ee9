"""Landmark models without the mask head: built reproducibly by scripts/build_models.py, picked at runtime."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import cv2
import pytest

from edgepose.errors import ModelError
from edgepose.inference.models import ModelRole, float_models_dir, model_path, read_manifest
from edgepose.inference.runtime import make_interpreter
from edgepose.paths import bundled_models_dir
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.pose.model_io import InterpreterLike
from edgepose.types import FULL_BODY_VARIANTS, ImageArray, ModelVariant, Precision
from tools.modelbuild.pruning import without_segmentation, write_without_segmentation

VARIANTS = [v.value for v in FULL_BODY_VARIANTS]


@pytest.fixture(scope="module")
def messi(media: Path) -> ImageArray:
    image: ImageArray = cv2.cvtColor(cv2.imread(str(media / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    return image


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under folder with its size and mtime."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_pruning_a_float_model_again_gives_the_pinned_bytes(variant: str) -> None:
    pinned = read_manifest()["float_nomask"][f"pose_landmark_{variant}_nomask.tflite"]
    data = without_segmentation((float_models_dir() / f"pose_landmark_{variant}.tflite").read_bytes())
    assert data is not None
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (pinned["sha256"], pinned["bytes"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_pruning_the_int8_model_again_gives_the_committed_bytes(variant: str) -> None:
    entry = read_manifest()["int8"][f"pose_landmark_{variant}_int8.tflite"]
    source = bundled_models_dir() / entry["source"]
    if not source.is_file():
        pytest.skip(f"{source.name} (with its mask head) is not shipped; a local int8 build writes it")
    assert hashlib.sha256(source.read_bytes()).hexdigest() == entry["source_sha256"]
    data = without_segmentation(source.read_bytes())
    assert data is not None and hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_a_rebuild_leaves_an_identical_file_untouched(tmp_path: Path) -> None:
    source = float_models_dir() / "pose_landmark_lite.tflite"
    target = tmp_path / "pose_landmark_lite_nomask.tflite"
    first = write_without_segmentation(source, target)
    stamp = target.stat().st_mtime_ns
    os.utime(target, ns=(stamp - 10**9, stamp - 10**9))
    assert write_without_segmentation(source, target) == first
    assert target.stat().st_mtime_ns == stamp - 10**9 and target.read_bytes() == first
    assert without_segmentation(first) is None  # nothing left to drop
    assert list(tmp_path.iterdir()) == [target]  # no partial file left behind


def test_pruning_a_non_model_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "not_a_model.tflite"
    bogus.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
        write_without_segmentation(bogus, tmp_path / "out.tflite")


@pytest.mark.parametrize("precision", [Precision.INT8, Precision.FLOAT])
def test_the_runtime_writes_no_model(
    precision: Precision, messi: ImageArray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Detecting reads the file built without the mask head and writes nothing into the caches or models/."""
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    shutil.copytree(float_models_dir(), cache / "models" / "float")
    monkeypatch.setenv("EDGEPOSE_CACHE_DIR", str(cache))
    before_cache, before_models = _tree(cache), _tree(bundled_models_dir())
    opened: list[str] = []

    def factory(path: Path) -> InterpreterLike:
        opened.append(path.name)
        interpreter: InterpreterLike = make_interpreter(path, num_threads=1)
        return interpreter

    options = PoseLandmarkerOptions(precision=precision, model=ModelVariant.LITE, interpreter_factory=factory)
    with PoseLandmarker(options) as landmarker:
        assert len(landmarker.detect(messi).poses) == 1
    suffix = "_int8.tflite" if precision is Precision.INT8 else "_nomask.tflite"
    assert opened[1] == f"pose_landmark_lite{suffix}"
    assert _tree(cache) == before_cache
    assert _tree(bundled_models_dir()) == before_models


def test_float_without_a_built_nomask_copy_uses_the_whole_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "models" / "float"
    folder.mkdir(parents=True)
    shutil.copy(float_models_dir() / "pose_landmark_lite.tflite", folder)
    monkeypatch.setenv("EDGEPOSE_CACHE_DIR", str(tmp_path))
    path = model_path(ModelRole.LANDMARK, ModelVariant.LITE, Precision.FLOAT, fetch=False)
    assert path == folder / "pose_landmark_lite.tflite"


def test_int8_masks_without_the_mask_model_name_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(bundled_models_dir() / "manifest.json", tmp_path)
    shutil.copy(bundled_models_dir() / "pose_landmark_lite_int8.tflite", tmp_path)
    monkeypatch.setenv("EDGEPOSE_MODEL_DIR", str(tmp_path))
    assert model_path(ModelRole.LANDMARK, ModelVariant.LITE, Precision.INT8).parent == tmp_path
    with pytest.raises(ModelError, match=r"segmentation masks need .* use precision float"):
        model_path(ModelRole.LANDMARK, ModelVariant.LITE, Precision.INT8, masks=True)
