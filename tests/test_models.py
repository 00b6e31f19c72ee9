"""Model files: folding MediaPipe's fp16/sparse weights, digests, the manifest, the committed int8 files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgepose.errors import ModelError
from edgepose.inference.model_fetch import FLOAT_SOURCES, missing_float, sha256_of
from edgepose.inference.models import (
    ModelRole,
    float_models_dir,
    model_filename,
    model_path,
    read_manifest,
    verify_model,
)
from edgepose.paths import bundled_models_dir
from edgepose.types import FULL_BODY_VARIANTS, ModelVariant, Precision
from tools.modelbuild import tflite_edit

FLOAT_NAMES = [s.name for s in FLOAT_SOURCES]
VARIANTS = [v.value for v in FULL_BODY_VARIANTS]
INT8_CPU = ["pose_detection_int8.tflite"] + [f"pose_landmark_{v}_int8.tflite" for v in VARIANTS]
INT8_FULL = ["pose_detection_int8_full.tflite"] + [f"pose_landmark_{v}_int8_full.tflite" for v in VARIANTS]


def interpreter(data: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=data, num_threads=1)
    interp.allocate_tensors()
    return interp


def invoke(interp: Any, x: np.ndarray) -> list[np.ndarray]:
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def int8_mac_share(model: Any) -> float:
    """The share of convolution multiply-accumulates whose input is int8."""
    graph = model.subgraphs[0]
    total = quantized = 0
    for op, name in zip(graph.operators, tflite_edit.operator_names(model), strict=True):
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        out, weights = graph.tensors[int(op.outputs[0])], graph.tensors[int(op.inputs[1])]
        kernel = weights.shape[1:] if name == "CONV_2D" else weights.shape[1:3]
        macs = int(np.prod(out.shape)) * int(np.prod(kernel))
        total += macs
        quantized += macs if int(graph.tensors[int(op.inputs[0])].type) == 9 else 0
    return quantized / total


@pytest.fixture(scope="module")
def person_crop(media: Path) -> np.ndarray:
    """messi5.jpg around the player, as a 256x256 landmark-model input in [0, 1]."""
    image = cv2.cvtColor(cv2.imread(str(media / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    crop = cv2.resize(image[20:330, 120:430], (256, 256), interpolation=cv2.INTER_AREA)
    return (crop.astype(np.float32) / 255.0)[None]


@pytest.mark.parametrize("name", ["pose_detection.tflite", "pose_landmark_lite.tflite"])
def test_folding_keeps_the_function_and_drops_fp16_and_sparse_ops(name: str, media: Path) -> None:
    original = (float_models_dir() / name).read_bytes()
    folded, report = tflite_edit.fold_weights(original)
    assert report.dequantize_folded > 100
    if name == "pose_detection.tflite":
        assert report.densify_folded == 38  # the detector's sparse weights
    ops = tflite_edit.operator_names(tflite_edit.read_model(folded))
    assert "DEQUANTIZE" not in ops and "DENSIFY" not in ops
    assert len(ops) == report.operators_left
    a, b = interpreter(original), interpreter(folded)
    assert b.get_signature_list()["serving_default"]["inputs"] == ["input_1"]
    size = int(a.get_input_details()[0]["shape"][1])
    image = cv2.cvtColor(cv2.imread(str(media / "zidane.jpg")), cv2.COLOR_BGR2RGB)
    x = (cv2.resize(image, (size, size)).astype(np.float32) / 255.0)[None]
    for out_a, out_b in zip(invoke(a, x), invoke(b, x), strict=True):
        assert out_a.shape == out_b.shape
        assert np.abs(out_a - out_b).max() <= 1e-3 * max(1.0, float(np.abs(out_a).max()))


def test_densify_expands_a_csr_tensor() -> None:
    from ai_edge_litert import schema_py_generated as schema

    dense = np.array([[0, 2, 0, 0], [0, 0, 0, 0], [5, 0, 0, 7]], dtype=np.float32)
    sparsity = schema.SparsityParametersT()
    sparsity.traversalOrder = [0, 1]
    sparsity.blockMap = None
    rows = schema.DimensionMetadataT()
    rows.format, rows.denseSize = 0, 3
    cols = schema.DimensionMetadataT()
    cols.format = 1
    cols.arraySegments = schema.Int32VectorT()
    cols.arraySegments.values = [0, 1, 1, 3]
    cols.arrayIndices = schema.Int32VectorT()
    cols.arrayIndices.values = [1, 0, 3]
    sparsity.dimMetadata = [rows, cols]
    values = np.array([2, 5, 7], dtype=np.float32)
    np.testing.assert_array_equal(tflite_edit.densify(values, dense.shape, sparsity), dense)
    with pytest.raises(ModelError):
        tflite_edit.densify(values[:2], dense.shape, sparsity)


def test_float_cache_holds_the_pinned_files() -> None:
    assert missing_float(float_models_dir()) == []
    for source in FLOAT_SOURCES:
        assert sha256_of(float_models_dir() / source.name) == source.sha256


def test_build_models_float_is_quiet_when_everything_is_there(repo_root: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "build_models.py"), "--precision", "float"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_model_path_rejects_a_corrupt_float_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPOSE_CACHE_DIR", str(tmp_path))
    folder = float_models_dir()
    folder.mkdir(parents=True)
    real = Path.home() / ".cache" / "edgepose" / "models" / "float"
    for name in FLOAT_NAMES:
        shutil.copy(real / name, folder / name)
    path = model_path(ModelRole.DETECTOR, ModelVariant.FULL, Precision.FLOAT)
    assert path == folder / "pose_detection.tflite"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt or modified"):
        model_path(ModelRole.DETECTOR, ModelVariant.FULL, Precision.FLOAT)


def test_model_path_without_fetch_names_the_build_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEPOSE_CACHE_DIR", str(tmp_path))
    with pytest.raises(ModelError, match=r"build_models.py --precision float"):
        model_path(ModelRole.LANDMARK, ModelVariant.LITE, Precision.FLOAT, fetch=False)
    monkeypatch.setenv("EDGEPOSE_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match=r"compile_edgetpu\.sh"):
        model_path(ModelRole.LANDMARK, ModelVariant.LITE, Precision.INT8, edgetpu=True)


def test_file_names_follow_the_contract() -> None:
    assert model_filename(ModelRole.DETECTOR, ModelVariant.HEAVY, Precision.FLOAT) == "pose_detection.tflite"
    assert (
        model_filename(ModelRole.LANDMARK, ModelVariant.LITE, Precision.INT8)
        == "pose_landmark_lite_int8.tflite"
    )
    assert (
        model_filename(ModelRole.LANDMARK, ModelVariant.LITE, Precision.INT8, masks=True)
        == "pose_landmark_lite_int8_masks.tflite"
    )
    assert (
        model_filename(ModelRole.LANDMARK, ModelVariant.HEAVY, Precision.FLOAT, masks=True)
        == "pose_landmark_heavy.tflite"
    )
    assert (
        model_filename(ModelRole.LANDMARK, ModelVariant.HEAVY, Precision.FLOAT)
        == "pose_landmark_heavy_nomask.tflite"
    )
    detector = model_filename(ModelRole.DETECTOR, ModelVariant.LITE, Precision.INT8)
    assert detector == "pose_detection_int8.tflite"
    assert (
        model_filename(ModelRole.LANDMARK, ModelVariant.FULL, Precision.INT8, edgetpu=True)
        == "pose_landmark_full_int8_edgetpu.tflite"
    )


def test_manifest_pins_every_committed_int8_file() -> None:
    manifest = read_manifest()
    assert manifest["v"] == 1
    assert set(manifest["float"]) == set(FLOAT_NAMES)
    calibration = " ".join(manifest["build"]["calibration"]["media"])
    for held_out in ("messi5.jpg", "zidane.jpg", "basketball2.png", "pan_zidane.avi"):
        assert held_out not in calibration
    assert manifest["build"]["versions"]["ai-edge-quantizer"]
    for name in INT8_CPU + INT8_FULL:
        path = bundled_models_dir() / name
        assert path.is_file(), name
        entry = manifest["int8"][name]
        assert entry["sha256"] == sha256_of(path)
        assert entry["bytes"] == path.stat().st_size
        verify_model(path)
    # heavy has ~14 M weights: at one byte each it cannot be small; lite and full stay under 10 MB.
    limits = {ModelVariant.LITE: 10_000_000, ModelVariant.FULL: 10_000_000, ModelVariant.HEAVY: 30_000_000}
    for variant, limit in limits.items():
        assert model_path(ModelRole.LANDMARK, variant, Precision.INT8).stat().st_size < limit


def test_a_modified_int8_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = bundled_models_dir()
    shutil.copy(src / "manifest.json", tmp_path / "manifest.json")
    data = bytearray((src / "pose_landmark_lite_int8.tflite").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "pose_landmark_lite_int8.tflite").write_bytes(bytes(data))
    monkeypatch.setenv("EDGEPOSE_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match="corrupt or modified"):
        model_path(ModelRole.LANDMARK, ModelVariant.LITE, Precision.INT8)


@pytest.mark.parametrize("name", INT8_CPU)
def test_cpu_int8_models_take_and_give_float_and_run_int8_inside(name: str) -> None:
    data = (bundled_models_dir() / name).read_bytes()
    interp = interpreter(data)
    assert all(d["dtype"] == np.float32 for d in interp.get_input_details() + interp.get_output_details())
    share = int8_mac_share(tflite_edit.read_model(data))
    # float: the stems and heads (detector decoder, landmark regression, heatmap and mask convs);
    # int8 share measured: detector 65%, landmark models 68-87%
    assert share >= 0.6, f"{name}: {share:.0%} int8"
    entry = json.loads((bundled_models_dir() / "manifest.json").read_text())["int8"][name]
    assert entry["kind"] == "cpu-mixed"


@pytest.mark.parametrize("name", INT8_FULL)
def test_full_integer_models_quantize_every_op(name: str, person_crop: np.ndarray) -> None:
    data = (bundled_models_dir() / name).read_bytes()
    model = tflite_edit.read_model(data)
    graph = model.subgraphs[0]
    names = tflite_edit.operator_names(model)
    # ai-edge-quantizer has no int8 DEPTH_TO_SPACE: the detector keeps those three ops in float,
    # between DEQUANTIZE/QUANTIZE (the EdgeTPU does not support DEPTH_TO_SPACE either).
    island = {"DEPTH_TO_SPACE", "DEQUANTIZE", "QUANTIZE"}
    island_tensors = {
        int(i) for op, n in zip(graph.operators, names, strict=True) if n in island for i in op.inputs
    } | {int(i) for op, n in zip(graph.operators, names, strict=True) if n in island for i in op.outputs}
    allowed = {9, 2}  # INT8 activations/weights, INT32 biases
    float_tensors = [
        tflite_edit.tensor_name(t)
        for i, t in enumerate(graph.tensors)
        if int(t.type) not in allowed and i not in island_tensors
    ]
    assert float_tensors == []
    assert int8_mac_share(model) == 1.0
    if name.startswith("pose_landmark"):
        assert not set(names) & island
    interp = interpreter(data)
    detail = interp.get_input_details()[0]
    assert detail["dtype"] == np.int8
    if name.startswith("pose_landmark"):
        scale, zero = detail["quantization"]
        x = np.clip(np.round(person_crop / scale + zero), -128, 127).astype(np.int8)
        outs = invoke(interp, x)
        flag = next(
            o
            for o, d in zip(outs, interp.get_output_details(), strict=True)
            if d["shape"][-1] == 1 and o.size == 1
        )
        q = interp.get_output_details()[[o.size for o in outs].index(1)]["quantization"]
        presence = (float(flag.ravel()[0]) - q[1]) * q[0]
        assert presence > 0.5  # the full-integer model still sees the person


def _producer_names(model: Any) -> dict[int, str]:
    graph = model.subgraphs[0]
    names = tflite_edit.operator_names(model)
    return {int(op.outputs[0]): names[i] for i, op in enumerate(graph.operators)}


@pytest.mark.parametrize("name", INT8_CPU)
def test_cpu_int8_heads_write_float_outputs_without_an_int8_round_trip(name: str) -> None:
    """Landmarks, world landmarks, presence, boxes and scores come straight from float heads.

    A quantizer recipe that matched ops by their output names once missed the ops writing the
    graph outputs: each head output then went through int8 (a 1.3 px step on 256 px crops).
    """
    model = tflite_edit.read_model((bundled_models_dir() / name).read_bytes())
    graph = model.subgraphs[0]
    producers = _producer_names(model)
    # Heatmap and segmentation outputs come from int8 convs on purpose (large maps, cheap in int8).
    head_sizes = {195, 117, 1} if name.startswith("pose_landmark") else {2254 * 12, 2254}
    checked = 0
    for index in graph.outputs:
        tensor = graph.tensors[int(index)]
        if int(np.prod(tensor.shape)) in head_sizes:
            checked += 1
            assert producers[int(index)] != "DEQUANTIZE", tflite_edit.tensor_name(tensor)
    assert checked == len(head_sizes)
