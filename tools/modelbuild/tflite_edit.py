"""Small, exact edits of TFLite flatbuffers, used when building models (never at run time).

MediaPipe ships its BlazePose models with float16 weights behind DEQUANTIZE ops, and the detector
with sparse weights behind DENSIFY ops, and without a SignatureDef. Quantization tools want plain
float32 constants and a signature, so `fold_weights` turns every DENSIFY(const) and
DEQUANTIZE(const float16) into a float32 constant tensor, drops those ops and the tensors and
buffers nobody uses any more, and adds a `serving_default` signature. Only constants are folded:
the arithmetic of the graph is untouched, so the folded model computes the same function (up to
the float16 -> float32 rounding the runtime did anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edgepose.errors import ModelError
from tools.modelbuild.tflite_flatbuffer import builtin_code, read_model, tflite_schema, write_model

__all__ = [
    "SIGNATURE_KEY",
    "FoldReport",
    "add_signature",
    "builtin_code",
    "compact",
    "densify",
    "fold_weights",
    "operator_names",
    "read_model",
    "set_constant",
    "tensor_name",
    "tensor_values",
    "write_model",
]

log = logging.getLogger(__name__)

SIGNATURE_KEY = "serving_default"

# TensorType and BuiltinOperator values from the TFLite schema (schema.fbs); stable by design.
_FLOAT32 = 0
_FLOAT16 = 1
_DEQUANTIZE = 6
_DENSIFY = 124
_DIM_DENSE = 0
_METADATA_TO_DROP = ("reduced_precision_support",)

_NUMPY_OF_TYPE: dict[int, npt.DTypeLike] = {
    0: np.float32,
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    7: np.int16,
    9: np.int8,
}


@dataclass(frozen=True, slots=True)
class FoldReport:
    """What `fold_weights` changed."""

    dequantize_folded: int
    densify_folded: int
    tensors_removed: int
    operators_left: int


def operator_names(model: Any) -> list[str]:
    """The builtin op name of every operator of the first subgraph, in order."""
    names = {v: k for k, v in vars(tflite_schema().BuiltinOperator).items() if not k.startswith("_")}
    return [names.get(builtin_code(model, op), "CUSTOM") for op in model.subgraphs[0].operators]


def tensor_values(model: Any, tensor: Any) -> npt.NDArray[Any] | None:
    """The constant value of a tensor (flat, dense storage), or None if it has no data."""
    data = model.buffers[tensor.buffer].data if tensor.buffer else None
    if data is None or len(data) == 0:
        return None
    dtype = _NUMPY_OF_TYPE.get(int(tensor.type))
    if dtype is None:
        raise ModelError(f"unsupported constant type {tensor.type} in {tensor.name!r}")
    return np.frombuffer(np.asarray(data, dtype=np.uint8).tobytes(), dtype=dtype)


def _int_vector(vec: Any) -> npt.NDArray[np.int64]:
    """The values of a sparsity Int32/Uint16/Uint8 vector union member."""
    return np.asarray(vec.values, dtype=np.int64)


def densify(values: npt.NDArray[Any], shape: Iterable[int], sparsity: Any) -> npt.NDArray[Any]:
    """Expand a TFLite sparse tensor (DENSE / SPARSE_CSR dims, no block map) to a dense array."""
    if sparsity.blockMap is not None and len(sparsity.blockMap) > 0:
        raise ModelError("block-sparse tensors are not supported")
    dims = [int(d) for d in shape]
    order = [int(i) for i in sparsity.traversalOrder]
    metas = list(sparsity.dimMetadata)
    traversed_shape = [dims[i] for i in order]
    dense = np.zeros(traversed_shape, dtype=values.dtype)
    cursor = {"value": 0}

    def walk(level: int, prefix: tuple[int, ...], parent: int) -> None:
        meta = metas[level]
        if meta.format == _DIM_DENSE:
            size = int(meta.denseSize)
            for i in range(size):
                child = parent * size + i
                recurse(level, (*prefix, i), child)
        else:
            segments = _int_vector(meta.arraySegments)
            indices = _int_vector(meta.arrayIndices)
            for pos in range(int(segments[parent]), int(segments[parent + 1])):
                recurse(level, (*prefix, int(indices[pos])), pos)

    def recurse(level: int, prefix: tuple[int, ...], child: int) -> None:
        if level + 1 == len(metas):
            if cursor["value"] >= values.size:
                raise ModelError(f"sparse tensor needs more than its {values.size} values")
            dense[prefix] = values[cursor["value"]]
            cursor["value"] += 1
        else:
            walk(level + 1, prefix, child)

    walk(0, (), 0)
    if cursor["value"] != values.size:
        raise ModelError(f"sparse tensor used {cursor['value']} of {values.size} values")
    inverse = np.argsort(order)
    return np.transpose(dense, inverse)


def set_constant(model: Any, tensor: Any, value: npt.NDArray[np.float32]) -> None:
    """Give a tensor its own float32 buffer holding `value` (no sparsity, no quantization; see compact)."""
    schema = tflite_schema()
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.ascontiguousarray(value, dtype=np.float32).tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    tensor.buffer = len(model.buffers) - 1
    tensor.type = _FLOAT32
    tensor.sparsity = None
    tensor.quantization = None


def _fold_ops(model: Any) -> tuple[int, int]:
    """Evaluate DENSIFY and float16 DEQUANTIZE ops on constants; return the counts folded."""
    graph = model.subgraphs[0]
    consts: dict[int, npt.NDArray[Any]] = {}
    kept: list[Any] = []
    n_dq = n_ds = 0
    for op in graph.operators:
        code = builtin_code(model, op)
        src_index, dst_index = int(op.inputs[0]), int(op.outputs[0])
        src = graph.tensors[src_index]
        if code == _DENSIFY:
            values = tensor_values(model, src)
            if values is None:
                kept.append(op)
                continue
            shape = [int(d) for d in graph.tensors[dst_index].shape]
            consts[dst_index] = densify(values, shape, src.sparsity).reshape(shape)
            n_ds += 1
            continue
        if code == _DEQUANTIZE and int(src.type) == _FLOAT16:
            value = consts.get(src_index)
            if value is None:
                raw = tensor_values(model, src)
                if raw is None:
                    kept.append(op)
                    continue
                value = raw.reshape([int(d) for d in src.shape])
            dst = graph.tensors[dst_index]
            set_constant(model, dst, value.astype(np.float32))
            n_dq += 1
            continue
        kept.append(op)
    graph.operators = kept
    return n_dq, n_ds


def _drop_unused(model: Any) -> int:
    """Remove tensors no operator, input or output refers to; renumber; clear orphan buffers."""
    graph = model.subgraphs[0]
    used: set[int] = {int(i) for i in graph.inputs} | {int(i) for i in graph.outputs}
    for op in graph.operators:
        used.update(int(i) for i in op.inputs if i >= 0)
        used.update(int(i) for i in op.outputs if i >= 0)
        if op.intermediates is not None:
            used.update(int(i) for i in op.intermediates)
    order = sorted(used)
    remap = {old: new for new, old in enumerate(order)}
    removed = len(graph.tensors) - len(order)
    graph.tensors = [graph.tensors[i] for i in order]

    def mapped(indices: Iterable[int]) -> list[int]:
        return [remap[int(i)] if i >= 0 else -1 for i in indices]

    for op in graph.operators:
        op.inputs = mapped(op.inputs)
        op.outputs = mapped(op.outputs)
        if op.intermediates is not None:
            op.intermediates = mapped(op.intermediates)
    graph.inputs = mapped(graph.inputs)
    graph.outputs = mapped(graph.outputs)
    live_buffers = {int(t.buffer) for t in graph.tensors}
    live_buffers.update(int(md.buffer) for md in model.metadata or [])
    for index, buffer in enumerate(model.buffers):
        if index not in live_buffers:
            buffer.data = None
    return removed


def compact(model: Any) -> None:
    """Drop buffers no tensor refers to (keeping the mandatory empty buffer 0) and renumber references."""
    live: set[int] = {0}
    for graph in model.subgraphs:
        live.update(int(t.buffer) for t in graph.tensors)
    live.update(int(md.buffer) for md in model.metadata or [])
    order = sorted(live)
    remap = {old: new for new, old in enumerate(order)}
    model.buffers = [model.buffers[i] for i in order]
    for graph in model.subgraphs:
        for tensor in graph.tensors:
            tensor.buffer = remap[int(tensor.buffer)]
    for md in model.metadata or []:
        md.buffer = remap[int(md.buffer)]


def _drop_operator_codes(model: Any) -> None:
    """Remove operator codes no operator uses any more (DENSIFY, DEQUANTIZE) and renumber."""
    used = sorted({int(op.opcodeIndex) for g in model.subgraphs for op in g.operators})
    remap = {old: new for new, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for graph in model.subgraphs:
        for op in graph.operators:
            op.opcodeIndex = remap[int(op.opcodeIndex)]


_PLACEHOLDER_FOR_GREATER_OP_CODES = 127


def _reconcile_operator_codes(model: Any) -> None:
    """Write each operator code into `builtin_code` as well as the deprecated byte.

    Models converted before the field existed (the 2021 upper-body models) leave `builtin_code` 0
    (ADD) and keep the code in `deprecated_builtin_code`; the runtime takes the larger of the two,
    ai-edge-quantizer reads `builtin_code` alone and quantized every conv bias to int8 (which the
    runtime refuses). A no-op for models that set both.
    """
    for code in model.operatorCodes:
        value = int(max(code.builtinCode, code.deprecatedBuiltinCode))
        code.builtinCode = value
        code.deprecatedBuiltinCode = min(value, _PLACEHOLDER_FOR_GREATER_OP_CODES)


def tensor_name(tensor: Any) -> str:
    """A tensor's name as str."""
    name = tensor.name
    return name.decode() if isinstance(name, bytes) else str(name)


def add_signature(model: Any, key: str = SIGNATURE_KEY) -> None:
    """Replace the signatures with one naming every graph input and output by its tensor name."""
    schema = tflite_schema()
    graph = model.subgraphs[0]

    def tensor_map(index: int) -> Any:
        entry = schema.TensorMapT()
        entry.name = tensor_name(graph.tensors[index])
        entry.tensorIndex = int(index)
        return entry

    signature = schema.SignatureDefT()
    signature.signatureKey = key
    signature.subgraphIndex = 0
    signature.inputs = [tensor_map(int(i)) for i in graph.inputs]
    signature.outputs = [tensor_map(int(i)) for i in graph.outputs]
    model.signatureDefs = [signature]


def fold_weights(data: bytes) -> tuple[bytes, FoldReport]:
    """The float32, signature-carrying equivalent of a MediaPipe .tflite file."""
    model = read_model(data)
    if len(model.subgraphs) != 1:
        raise ModelError(f"expected one subgraph, found {len(model.subgraphs)}")
    n_dq, n_ds = _fold_ops(model)
    removed = _drop_unused(model)
    model.metadata = [
        md
        for md in model.metadata or []
        if (md.name.decode() if isinstance(md.name, bytes) else md.name) not in _METADATA_TO_DROP
    ]
    compact(model)
    _drop_operator_codes(model)
    _reconcile_operator_codes(model)
    add_signature(model)
    report = FoldReport(n_dq, n_ds, removed, len(model.subgraphs[0].operators))
    log.info(
        "folded %d DEQUANTIZE and %d DENSIFY ops, removed %d tensors",
        report.dequantize_folded,
        report.densify_folded,
        report.tensors_removed,
    )
    return write_model(model), report
