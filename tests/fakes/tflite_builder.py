"""Build tiny .tflite models by hand (flatbuffer object API shipped with ai-edge-litert), for tests.

`movenet_standin` has MoveNet single-pose's exact signature: input [1, H, W, 3] uint8 or int32,
output [1, 1, 17, 3] float32 (y, x, score). Its keypoints are fixed (y, x) and every score is the mean
input pixel / 255, so a test can tell what the model was fed. With `edgetpu=True` the CAST op is
replaced by a custom op `edgetpu-custom-op`, as edgetpu_compiler does for the ops it maps; its
custom options carry the builtin code it stands for (where a real compiled model carries the
EdgeTPU program), which the fake delegate in fake_libedgetpu.py executes.
"""

from __future__ import annotations

import struct

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"


def _tensor(name: str, shape: list[int], dtype: int, buffer: int) -> schema.TensorT:
    t = schema.TensorT()
    t.name, t.shape, t.type, t.buffer = name, shape, dtype, buffer
    return t


def _buffer(data: bytes | None = None) -> schema.BufferT:
    b = schema.BufferT()
    b.data = list(data) if data else None
    return b


def _opcode(builtin: int, custom: str | None = None) -> schema.OperatorCodeT:
    c = schema.OperatorCodeT()
    c.builtinCode, c.deprecatedBuiltinCode, c.version = builtin, min(builtin, 127), 1
    c.customCode = custom
    return c


def _op(
    opcode: int, inputs: list[int], outputs: list[int], opt_type: int = 0, options: object = None
) -> schema.OperatorT:
    o = schema.OperatorT()
    o.opcodeIndex, o.inputs, o.outputs = opcode, inputs, outputs
    o.builtinOptionsType, o.builtinOptions = opt_type, options
    return o


def movenet_standin(
    height: int = 192,
    width: int = 192,
    input_dtype: type = np.uint8,
    keypoints_yx: np.ndarray | None = None,
    edgetpu: bool = False,
    score_scale: float = 1.0,
) -> bytes:
    """The model file's bytes; scores are `score_scale` x mean input pixel / 255."""
    if keypoints_yx is None:
        keypoints_yx = np.stack([np.linspace(0.2, 0.8, 17), np.linspace(0.3, 0.7, 17)], axis=1)
    base = np.zeros((1, 1, 17, 3), np.float32)
    base[0, 0, :, :2] = keypoints_yx
    mask = np.zeros((1, 1, 17, 3), np.float32)
    mask[0, 0, :, 2] = score_scale / 255.0
    axes = np.array([1, 2, 3], np.int32)
    in_type = schema.TensorType.UINT8 if input_dtype == np.uint8 else schema.TensorType.INT32
    f32 = schema.TensorType.FLOAT32

    g = schema.SubGraphT()
    g.name = "main"
    g.tensors = [
        _tensor("input", [1, height, width, 3], in_type, 0),
        _tensor("as_float", [1, height, width, 3], f32, 0),
        _tensor("axes", [3], schema.TensorType.INT32, 1),
        _tensor("mean", [1, 1, 1, 1], f32, 0),
        _tensor("score_mask", [1, 1, 17, 3], f32, 2),
        _tensor("scores", [1, 1, 17, 3], f32, 0),
        _tensor("keypoints_base", [1, 1, 17, 3], f32, 3),
        _tensor("output_0", [1, 1, 17, 3], f32, 0),
    ]
    g.inputs, g.outputs = [0], [7]
    cast_code = schema.BuiltinOperator.CAST
    codes = [
        _opcode(schema.BuiltinOperator.CUSTOM, EDGETPU_CUSTOM_OP) if edgetpu else _opcode(cast_code),
        _opcode(schema.BuiltinOperator.MEAN),
        _opcode(schema.BuiltinOperator.MUL),
        _opcode(schema.BuiltinOperator.ADD),
    ]
    reducer = schema.ReducerOptionsT()
    reducer.keepDims = True
    cast = _op(0, [0], [1])
    if edgetpu:
        cast.customOptions = list(struct.pack("<i", cast_code))
    g.operators = [
        cast,
        _op(1, [1, 2], [3], schema.BuiltinOptions.ReducerOptions, reducer),
        _op(2, [3, 4], [5], schema.BuiltinOptions.MulOptions, schema.MulOptionsT()),
        _op(3, [5, 6], [7], schema.BuiltinOptions.AddOptions, schema.AddOptionsT()),
    ]
    model = schema.ModelT()
    model.version = 3
    model.description = "movenet stand-in (edgepose tests)"
    model.operatorCodes = codes
    model.subgraphs = [g]
    model.buffers = [_buffer(), _buffer(axes.tobytes()), _buffer(mask.tobytes()), _buffer(base.tobytes())]
    return pack(model)


def pack(model: schema.ModelT) -> bytes:
    """Serialise a model object with the TFL3 file identifier."""
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def resolve_edgetpu_ops(data: bytes) -> bytes:
    """The model with each `edgetpu-custom-op` turned back into the builtin its options name."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            if custom != EDGETPU_CUSTOM_OP:
                continue
            builtin = struct.unpack("<i", bytes(op.customOptions))[0]
            model.operatorCodes.append(_opcode(builtin))
            op.opcodeIndex = len(model.operatorCodes) - 1
            op.customOptions = None
    return pack(model)
