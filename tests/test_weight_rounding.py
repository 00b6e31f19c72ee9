"""GPTQ rounding of conv weights onto the quantizer's int8 grid (tools.modelbuild.weight_rounding)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edgepose.inference.models import float_models_dir
from tools.modelbuild import tflite_edit
from tools.modelbuild.weight_rounding import (
    INT8_MAX,
    conv_patches,
    round_conv_weights,
    round_rows,
    weight_rows,
)


def _correlated_inputs(rng: np.random.Generator, samples: int, dim: int) -> np.ndarray:
    """Activations whose channels move together, as a conv's inputs do."""
    return rng.normal(size=(samples, 6)) @ rng.normal(size=(6, dim)) + 0.05 * rng.normal(size=(samples, dim))


def _levels(rounded: np.ndarray, weights: np.ndarray) -> np.ndarray:
    step = np.abs(weights).max(axis=1, keepdims=True) / INT8_MAX
    return rounded / step


def test_rounded_rows_sit_on_the_quantizers_grid_and_keep_its_step() -> None:
    rng = np.random.default_rng(1)
    x = _correlated_inputs(rng, 4000, 24)
    w = rng.normal(size=(32, 24))
    rounded, kept = round_rows(w, x.T @ x)
    levels = _levels(rounded, w)
    assert kept == 0
    assert np.abs(levels - np.rint(levels)).max() < 1e-6
    # max|w'| equals max|w| row by row, so the quantizer derives the very same step from w'.
    np.testing.assert_allclose(np.abs(rounded).max(axis=1), np.abs(w).max(axis=1), rtol=1e-12)


def test_gptq_beats_nearest_rounding_on_the_layer_output() -> None:
    rng = np.random.default_rng(2)
    x = _correlated_inputs(rng, 4000, 24)
    w = rng.normal(size=(32, 24))
    rounded, _ = round_rows(w, x.T @ x)
    step = np.abs(w).max(axis=1, keepdims=True) / INT8_MAX
    nearest = np.rint(w / step) * step
    gptq_error = np.linalg.norm((rounded - w) @ x.T)
    nearest_error = np.linalg.norm((nearest - w) @ x.T)
    assert gptq_error < 0.6 * nearest_error, (gptq_error, nearest_error)


def test_shared_and_per_row_hessians_agree_and_dead_inputs_are_handled() -> None:
    rng = np.random.default_rng(3)
    x = _correlated_inputs(rng, 2000, 9)
    x[:, 4] = 0.0  # an input channel that never fires
    w = rng.normal(size=(5, 9))
    hessian = x.T @ x
    shared, _ = round_rows(w, hessian)
    per_row, _ = round_rows(w, np.broadcast_to(hessian, (5, 9, 9)).copy())
    np.testing.assert_allclose(shared, per_row, atol=1e-12)
    assert np.isfinite(shared).all()


@pytest.mark.parametrize(("stride", "same"), [((1, 1), True), ((2, 2), True), ((2, 2), False)])
def test_conv_patches_reproduce_a_convolution(stride: tuple[int, int], same: bool) -> None:
    rng = np.random.default_rng(4)
    activation = rng.normal(size=(9, 11, 3)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 3))
    patches = conv_patches(
        activation, (3, 3), stride, same_padding=same, max_positions=10_000, rng=np.random.default_rng(0)
    )
    out = patches.reshape(patches.shape[0], -1) @ kernel.reshape(-1)
    # TF SAME on these odd sizes pads one pixel each side, for stride 1 and 2 alike.
    padded = np.pad(activation, ((1, 1), (1, 1), (0, 0))) if same else activation
    rows = range(0, padded.shape[0] - 2, stride[0])
    cols = range(0, padded.shape[1] - 2, stride[1])
    direct = np.array([(padded[r : r + 3, c : c + 3] * kernel).sum() for r in rows for c in cols])
    assert patches.shape[1:] == (3, 3, 3)
    np.testing.assert_allclose(out, direct, rtol=1e-6, atol=1e-6)


def test_rounding_a_real_model_keeps_it_working(media: Path) -> None:
    """The first convs of the float lite landmark model, rounded on two real crops."""
    float_path = float_models_dir() / "pose_landmark_lite.tflite"
    folded, _ = tflite_edit.fold_weights(float_path.read_bytes())
    image = cv2.cvtColor(cv2.imread(str(media / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    crops = [
        (cv2.resize(image[y : y + 310, x : x + 310], (256, 256)).astype(np.float32) / 255.0)[None]
        for x, y in ((120, 20), (140, 30))
    ]
    ops = range(12)
    rounded, report = round_conv_weights(folded, crops, ops, max_positions=256)
    assert report.convs >= 6
    assert report.rows_kept_nearest == 0
    before, after = tflite_edit.read_model(folded), tflite_edit.read_model(rounded)
    names = tflite_edit.operator_names(after)
    for index in ops:
        if names[index] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        op = after.subgraphs[0].operators[index]
        tensor = after.subgraphs[0].tensors[int(op.inputs[1])]
        new = tflite_edit.tensor_values(after, tensor)
        assert new is not None
        old_tensor = before.subgraphs[0].tensors[int(before.subgraphs[0].operators[index].inputs[1])]
        old = tflite_edit.tensor_values(before, old_tensor)
        assert old is not None
        shape = [int(d) for d in tensor.shape]
        depthwise = names[index] == "DEPTHWISE_CONV_2D"
        rows_new = weight_rows(new.reshape(shape), depthwise=depthwise)
        levels = _levels(rows_new, weight_rows(old.reshape(shape), depthwise=depthwise))
        assert np.abs(levels - np.rint(levels)).max() < 1e-3
        assert not np.array_equal(new, old)
    assert len(rounded) < len(folded) * 1.05  # the replaced float buffers are dropped, not kept
    from ai_edge_litert.interpreter import Interpreter

    outputs = []
    for data in (folded, rounded):
        interp = Interpreter(model_content=data, num_threads=1)
        interp.allocate_tensors()
        interp.set_tensor(interp.get_input_details()[0]["index"], crops[0])
        interp.invoke()
        landmarks = next(d for d in interp.get_output_details() if int(np.prod(d["shape"])) == 195)
        outputs.append(interp.get_tensor(landmarks["index"]).reshape(-1, 5)[:33, :2].copy())
    moved_px = np.linalg.norm(outputs[0] - outputs[1], axis=1).mean()
    assert 0.0 < moved_px < 3.0, moved_px  # 256 px crop: int8-grid weights in 6 convs move little
