"""Per-channel equalization of linear bottleneck tensors (tools.modelbuild.equalize)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgepose.inference.models import float_models_dir
from tools.modelbuild import tflite_edit
from tools.modelbuild.equalize import channel_ranges, equalize, linear_streams

MODELS = {
    "lite": ("pose_landmark_lite.tflite", 256, 0.0, 1.0),
    "detector": ("pose_detection.tflite", 224, -1.0, 1.0),
}


def _inputs(media: Path, size: int, low: float, high: float) -> list[np.ndarray]:
    """Real people at the model's input size and value range."""
    out = []
    for name, box in (
        ("messi5.jpg", (120, 20, 310)),
        ("zidane.jpg", (0, 0, 720)),
        ("basketball2.png", (0, 0, 400)),
    ):
        image = cv2.cvtColor(cv2.imread(str(media / name)), cv2.COLOR_BGR2RGB)
        x, y, side = box
        crop = cv2.resize(image[y : y + side, x : x + side], (size, size)).astype(np.float32) / 255.0
        out.append((low + crop * (high - low))[None])
    return out


def _outputs(data: bytes, sample: np.ndarray) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=data, num_threads=1)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], sample)
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def _width(ranges: np.ndarray) -> float:
    """A tensor's range over its mean channel span: how many channels' worth of range it wastes."""
    return float(ranges[1].max() - ranges[0].min()) / float((ranges[1] - ranges[0]).mean())


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request: pytest.FixtureRequest, media: Path) -> tuple[str, bytes, bytes, list[np.ndarray]]:
    name, size, low, high = MODELS[request.param]
    folded, _ = tflite_edit.fold_weights((float_models_dir() / name).read_bytes())
    samples = _inputs(media, size, low, high)
    equalized, report = equalize(folded, samples[:2], strength=0.5)
    assert report.streams >= 5 and report.tensors >= report.streams
    assert report.width_after < report.width_before
    return request.param, folded, equalized, samples


def test_the_equalized_model_computes_what_the_float_model_does(
    case: tuple[str, bytes, bytes, list[np.ndarray]],
) -> None:
    """Exact in float: every output matches, also on an input not used to choose the transform."""
    _, folded, equalized, samples = case
    for before, after in zip(_outputs(folded, samples[2]), _outputs(equalized, samples[2]), strict=True):
        # A wrong offset or scale moves outputs by their own size (a bug here gave 554 on 318);
        # float rounding in the rewritten sums stays far below 0.1% of the output's range.
        scale = max(float(np.abs(before).max()), 1.0)
        assert float(np.abs(after - before).max()) <= 1e-3 * scale, (before.shape, scale)


def test_equalized_bottlenecks_waste_less_of_their_int8_range(
    case: tuple[str, bytes, bytes, list[np.ndarray]],
) -> None:
    """Measured on the rewritten model itself: channel spans fill more of each tensor's range."""
    _, folded, equalized, samples = case
    tensors = [t for stream in linear_streams(tflite_edit.read_model(folded)) for t in stream.tensors]
    assert [t for s in linear_streams(tflite_edit.read_model(equalized)) for t in s.tensors] == tensors
    before = channel_ranges(folded, samples, tensors)
    after = channel_ranges(equalized, samples, tensors)
    widths_before = [_width(before[t]) for t in tensors]
    widths_after = [_width(after[t]) for t in tensors]
    assert np.mean(widths_after) < 0.75 * np.mean(widths_before), (widths_before, widths_after)


def test_constants_shared_between_ops_are_copied_before_an_edit(
    case: tuple[str, bytes, bytes, list[np.ndarray]],
) -> None:
    """An edited conv owns its weights and bias, and every tensor keeps a unique name."""
    equalized = case[2]
    model = tflite_edit.read_model(equalized)
    graph = model.subgraphs[0]
    readers = Counter(int(t) for op in graph.operators for t in op.inputs if int(t) >= 0)
    touched = {op for s in linear_streams(model) for op in s.producers} | {
        op for s in linear_streams(model) for op, _ in s.consumers
    }
    for index in touched:
        op = graph.operators[index]
        assert readers[int(op.inputs[1])] == 1 and readers[int(op.inputs[2])] == 1, index
    names = Counter(tflite_edit.tensor_name(t) for t in graph.tensors)
    assert max(names.values()) == 1, [n for n, c in names.items() if c > 1]


def test_streams_are_read_only_by_convs_that_can_absorb_the_transform() -> None:
    """lite: the five residual bottleneck streams, each read by convs through their data input."""
    model = tflite_edit.read_model(
        tflite_edit.fold_weights((float_models_dir() / "pose_landmark_lite.tflite").read_bytes())[0]
    )
    graph = model.subgraphs[0]
    names = tflite_edit.operator_names(model)
    streams = linear_streams(model)
    assert len(streams) == 5
    assert sum(len(s.adds) for s in streams) == 9  # 1 + 1 + 2 + 2 + 3 linear residual ADDs
    for stream in streams:
        for op, tensor in stream.consumers:
            assert names[op] in ("CONV_2D", "DEPTHWISE_CONV_2D")
            assert int(graph.operators[op].inputs[0]) == tensor
