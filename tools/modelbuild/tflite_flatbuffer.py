"""Read and write .tflite flatbuffers as the TFLite schema's mutable object tree (ModelT).

Shared by the build-time edits (tflite_edit: fold, densify, signatures) and pruning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgepose.errors import ModelError


def tflite_schema() -> Any:
    """The TFLite schema module (flatbuffer object API) that ai-edge-litert ships."""
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def read_model(data: bytes) -> Any:
    """Parse a .tflite flatbuffer into the schema's mutable object tree (ModelT)."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError("not a TFLite flatbuffer (no TFL3 identifier)")
    model = tflite_schema().ModelT.InitFromPackedBuf(bytearray(data), 0)
    # Some writers (ai-edge-quantizer) keep buffer data after the flatbuffer, addressed by
    # offset/size; pull it inline so that re-serialising the object tree keeps it.
    for buffer in model.buffers or []:
        offset, size = int(buffer.offset or 0), int(buffer.size or 0)
        if offset > 1:
            if offset + size > len(data):
                raise ModelError(f"buffer data at {offset}+{size} lies outside the {len(data)}-byte file")
            buffer.data = np.frombuffer(data, dtype=np.uint8, count=size, offset=offset).copy()
            buffer.offset = 0
            buffer.size = 0
    return model


def write_model(model: Any) -> bytes:
    """Serialise a ModelT back into .tflite bytes."""
    import flatbuffers  # type: ignore[import-untyped]

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def builtin_code(model: Any, op: Any) -> int:
    """The builtin operator code of an operator (new and deprecated fields reconciled)."""
    code = model.operatorCodes[op.opcodeIndex]
    return int(max(code.builtinCode, code.deprecatedBuiltinCode))
