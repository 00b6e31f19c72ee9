"""Per-channel equalization of a float model's linear bottleneck tensors before int8 quantization.

TFLite int8 gives every activation tensor one scale and zero point. In the BlazePose landmark
models the linear bottlenecks (1x1 convs without activation and the residual ADDs joining them)
have channels that live far apart: on lite's 64x64 stream one channel spans 127..157 while
another spans -21..5, so the per-tensor step (about 1.8) leaves the small channels a handful of
levels. Such a tensor x can be rewritten exactly as x = s * x' + c per channel: the producers'
weights and biases absorb 1/s and -c, the consumers' weights absorb s and their biases W @ c. The
ADDs that join a residual stream need the same s on both inputs, and their output's offset is the
sum of the inputs' offsets, so a whole stream is transformed together (Nagel et al., 2019,
"Data-free quantization through weight equalization and bias correction", cross-layer
equalization and high-bias absorption, here driven by calibration ranges).

Offsets are only used where they are exact: a tensor read by a padded depthwise conv keeps c = 0
(the zeros the conv pads with would otherwise stand for c); scaling is exact everywhere here.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tools.modelbuild import tflite_edit as te
from tools.modelbuild.weight_rounding import invoked_on

Float64Array = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]

_NONE = 0  # tflite ActivationFunctionType.NONE
_VALID = 1  # tflite Padding.VALID
MIN_SCALE = 0.05  # a nearly dead channel is not blown up past 20x


@dataclass(frozen=True)
class EqualizeReport:
    """What an equalization pass changed."""

    streams: int
    tensors: int
    width_before: float  # mean over the tensors of (tensor range / mean channel range)
    width_after: float


@dataclass
class _Stream:
    """Linear tensors joined by residual ADDs: one per-channel scale for all of them."""

    tensors: list[int] = field(default_factory=list)
    producers: list[int] = field(default_factory=list)  # convs writing a stream tensor
    adds: list[int] = field(default_factory=list)
    consumers: list[tuple[int, int]] = field(default_factory=list)  # (op, tensor read)


def _activation(op: Any) -> int | None:
    options = op.builtinOptions
    value = getattr(options, "fusedActivationFunction", None)
    return None if value is None else int(value)


def linear_streams(model: Any) -> list[_Stream]:
    """The streams whose every reader is a conv or one of the stream's own ADDs."""
    graph = model.subgraphs[0]
    names = te.operator_names(model)
    outputs = {int(i) for i in graph.outputs}
    producer: dict[int, int] = {}
    readers: dict[int, list[int]] = {}
    for index, op in enumerate(graph.operators):
        producer[int(op.outputs[0])] = index
        for t in op.inputs:
            if int(t) >= 0:
                readers.setdefault(int(t), []).append(index)

    def linear_conv(index: int) -> bool:
        op = graph.operators[index]
        return names[index] in ("CONV_2D", "DEPTHWISE_CONV_2D") and _activation(op) == _NONE

    def linear(tensor: int) -> bool:
        index = producer.get(tensor)
        if index is None or tensor in outputs:
            return False
        if linear_conv(index):
            return True
        op = graph.operators[index]
        return names[index] == "ADD" and _activation(op) == _NONE and all(linear(int(t)) for t in op.inputs)

    # Union the linear tensors that meet at a linear ADD.
    parent: dict[int, int] = {}

    def find(t: int) -> int:
        while parent.setdefault(t, t) != t:
            t = parent[t]
        return t

    candidates = sorted(t for t in producer if linear(t))
    for t in candidates:
        find(t)
        index = producer[t]
        if names[index] == "ADD":
            for source in graph.operators[index].inputs:
                parent[find(int(source))] = find(t)
    groups: dict[int, _Stream] = {}
    for t in candidates:
        stream = groups.setdefault(find(t), _Stream())
        stream.tensors.append(t)
        index = producer[t]
        (stream.adds if names[index] == "ADD" else stream.producers).append(index)
    streams = []
    for stream in groups.values():
        members = set(stream.tensors)
        ok = True
        for t in stream.tensors:
            for reader in readers.get(t, []):
                if reader in stream.adds:
                    continue
                op = graph.operators[reader]
                if names[reader] not in ("CONV_2D", "DEPTHWISE_CONV_2D") or int(op.inputs[0]) != t:
                    ok = False
                    break
                stream.consumers.append((reader, t))
        if ok and members:
            streams.append(stream)
    return streams


def channel_ranges(
    data: bytes, samples: Sequence[Float32Array], tensors: Sequence[int]
) -> dict[int, Float64Array]:
    """Per-channel [min, max] (2 x C) of the given tensors over the samples, from the float model."""
    out: dict[int, Float64Array] = {}
    for interpreter in invoked_on(data, samples):
        for t in tensors:
            x = interpreter.get_tensor(t)
            flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
            now = np.stack([flat.min(axis=0), flat.max(axis=0)])
            old = out.get(t)
            out[t] = (
                now if old is None else np.stack([np.minimum(old[0], now[0]), np.maximum(old[1], now[1])])
            )
    return out


def _conv_needs_zero_offset(model: Any, index: int) -> bool:
    op = model.subgraphs[0].operators[index]
    shape = [int(d) for d in model.subgraphs[0].tensors[int(op.inputs[1])].shape]
    return (shape[1] > 1 or shape[2] > 1) and int(op.builtinOptions.padding) != _VALID


def _width(ranges: Float64Array) -> float:
    spans = ranges[1] - ranges[0]
    total = float(ranges[1].max() - ranges[0].min())
    return total / max(float(spans.mean()), 1e-12)


def equalize(
    data: bytes, samples: Sequence[Float32Array], *, strength: float = 1.0
) -> tuple[bytes, EqualizeReport]:
    """A float model computing the same function with its linear streams' channels equalized.

    `strength` in [0, 1] is the exponent on the scale (0: offsets only, 1: equal channel spans).
    """
    model = te.read_model(data)
    graph = model.subgraphs[0]
    names = te.operator_names(model)
    streams = linear_streams(model)
    ranges = channel_ranges(data, samples, [t for s in streams for t in s.tensors])
    widths_before: list[float] = []
    widths_after: list[float] = []
    for stream in streams:
        zero = {t for reader, t in stream.consumers if _conv_needs_zero_offset(model, reader)}
        offsets: dict[int, Float64Array] = {}
        producer_of = {int(graph.operators[i].outputs[0]): i for i in stream.producers + stream.adds}
        reader_adds = {
            t: [a for a in stream.adds if t in {int(x) for x in graph.operators[a].inputs}]
            for t in stream.tensors
        }
        # Topological order is the op order; a branch conv feeding an ADD whose other input is
        # known gets the offset that centres the ADD's output.
        for t in sorted(stream.tensors, key=lambda t: producer_of[t]):
            index = producer_of[t]
            if names[index] == "ADD":
                a, b = (int(x) for x in graph.operators[index].inputs)
                offsets[t] = offsets[a] + offsets[b]
                continue
            adds = reader_adds[t]
            if len(adds) == 1:
                add = graph.operators[adds[0]]
                other = [int(x) for x in add.inputs if int(x) != t]
                if other and other[0] in offsets:
                    out = int(add.outputs[0])
                    want = np.zeros_like(offsets[other[0]]) if out in zero else ranges[out].mean(axis=0)
                    offsets[t] = want - offsets[other[0]]
                    continue
            offsets[t] = np.zeros(ranges[t].shape[1]) if t in zero else ranges[t].mean(axis=0)
        if any(t in zero and np.any(offsets[t] != 0.0) for t in stream.tensors):
            # A forced sum landed on a tensor that must stay unshifted: shift nothing in this stream.
            offsets = {t: np.zeros(ranges[t].shape[1]) for t in stream.tensors}
        amplitude = np.max(
            [
                np.maximum(np.abs(ranges[t][0] - offsets[t]), np.abs(ranges[t][1] - offsets[t]))
                for t in stream.tensors
            ],
            axis=0,
        )
        scale = np.clip((amplitude / max(float(amplitude.max()), 1e-12)) ** strength, MIN_SCALE, 1.0)
        for t in stream.tensors:
            widths_before.append(_width(ranges[t]))
            widths_after.append(_width((ranges[t] - offsets[t]) / scale))
        _apply(model, stream, offsets, scale)
    te.compact(model)
    report = EqualizeReport(
        streams=len(streams),
        tensors=len(widths_before),
        width_before=float(np.mean(widths_before)) if widths_before else 0.0,
        width_after=float(np.mean(widths_after)) if widths_after else 0.0,
    )
    return te.write_model(model), report


def _own_input(model: Any, index: int, slot: int) -> Any:
    """The op's input tensor, first copied if other ops read it too (so an edit stays local)."""
    graph = model.subgraphs[0]
    op = graph.operators[index]
    tensor_index = int(op.inputs[slot])
    readers = sum(int(t) == tensor_index for other in graph.operators for t in other.inputs)
    if readers > 1:
        clone = copy.deepcopy(graph.tensors[tensor_index])
        # Tools key tensors by name (ai-edge-quantizer does), so the copy needs its own.
        clone.name = f"{te.tensor_name(clone)}/op{index}"
        graph.tensors.append(clone)
        inputs = [int(t) for t in op.inputs]
        inputs[slot] = len(graph.tensors) - 1
        op.inputs = inputs
        tensor_index = inputs[slot]
    return graph.tensors[tensor_index]


def _conv_arrays(model: Any, index: int) -> tuple[Any, Float64Array, Any, Float64Array]:
    op = model.subgraphs[0].operators[index]
    if len(op.inputs) < 3 or int(op.inputs[2]) < 0:
        raise ValueError(f"op {index}: a conv without a bias cannot be equalized")
    weight_tensor = _own_input(model, index, 1)
    weights = te.tensor_values(model, weight_tensor)
    if weights is None:
        raise ValueError(f"op {index}: weights are not constant")
    bias_tensor = _own_input(model, index, 2)
    bias = te.tensor_values(model, bias_tensor)
    if bias is None:
        raise ValueError(f"op {index}: bias is not constant")
    shaped = weights.astype(np.float64).reshape([int(d) for d in weight_tensor.shape])
    return weight_tensor, shaped, bias_tensor, bias.astype(np.float64).copy()


def _apply(model: Any, stream: _Stream, offsets: dict[int, Float64Array], scale: Float64Array) -> None:
    """Rewrite producers (out channels) and consumers (in channels) for x = scale * x' + offset."""
    graph = model.subgraphs[0]
    names = te.operator_names(model)
    edits: dict[int, tuple[Any, Float64Array, Any, Float64Array]] = {}

    def arrays(index: int) -> tuple[Any, Float64Array, Any, Float64Array]:
        if index not in edits:
            edits[index] = _conv_arrays(model, index)
        return edits[index]

    for index in stream.producers:
        out = int(graph.operators[index].outputs[0])
        _, weights, _, bias = arrays(index)
        if names[index] == "DEPTHWISE_CONV_2D":
            weights /= scale[None, None, None, :]
        else:
            weights /= scale[:, None, None, None]
        bias[:] = (bias - offsets[out]) / scale
    for index, tensor in stream.consumers:
        _, weights, _, bias = arrays(index)
        if names[index] == "DEPTHWISE_CONV_2D":
            bias += weights.sum(axis=(0, 1, 2)) * offsets[tensor]
            weights *= scale[None, None, None, :]
        else:
            bias += np.einsum("ohwi,i->o", weights, offsets[tensor])
            weights *= scale[None, None, None, :]
    for weight_tensor, weights, bias_tensor, bias in edits.values():
        te.set_constant(model, weight_tensor, weights.astype(np.float32))
        te.set_constant(model, bias_tensor, bias.astype(np.float32))
