"""How much of a compiled model runs on the EdgeTPU: read the op list straight from the .tflite flatbuffer.

`edgetpu_compiler` replaces every run of supported ops with one custom op named `edgetpu-custom-op`;
whatever it could not map stays as ordinary TFLite ops that the CPU runs. A small reader of the
flatbuffer layout (no schema package needed, so it works with either runtime) counts both.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from edgepose.errors import ModelError

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"
_BUILTIN_CUSTOM = 32
# A few names for readable reports; other builtins print as BUILTIN_<code>.
_BUILTIN_NAMES = {
    0: "ADD",
    1: "AVERAGE_POOL_2D",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE",
    6: "DEQUANTIZE",
    9: "FULLY_CONNECTED",
    14: "LOGISTIC",
    17: "MAX_POOL_2D",
    18: "MUL",
    19: "RELU",
    22: "RESHAPE",
    23: "RESIZE_BILINEAR",
    25: "SOFTMAX",
    34: "PAD",
    39: "TRANSPOSE",
    40: "MEAN",
    41: "SUB",
    53: "CAST",
    54: "PRELU",
    114: "QUANTIZE",
    117: "HARD_SWISH",
    124: "DENSIFY",
}


@dataclass(frozen=True, slots=True)
class OpSplit:
    """The ops of a model's main graph, split into EdgeTPU custom ops and CPU ops."""

    edgetpu_ops: int
    cpu_ops: tuple[str, ...]

    @property
    def fully_mapped(self) -> bool:
        """True when every op runs on the EdgeTPU."""
        return self.edgetpu_ops > 0 and not self.cpu_ops

    @property
    def compiled(self) -> bool:
        """True when the EdgeTPU compiler has touched the model at all."""
        return self.edgetpu_ops > 0

    def describe(self) -> str:
        """E.g. '1 op on EdgeTPU, 3 on CPU (CAST, MEAN, MUL)'."""
        text = f"{self.edgetpu_ops} op{'s' if self.edgetpu_ops != 1 else ''} on EdgeTPU, "
        text += f"{len(self.cpu_ops)} on CPU"
        if self.cpu_ops:
            text += " (" + ", ".join(sorted(set(self.cpu_ops))) + ")"
        return text


class _Reader:
    """Just enough of the flatbuffers wire format to walk tables, vectors and strings."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def u32(self, pos: int) -> int:
        return int(struct.unpack_from("<I", self.data, pos)[0])

    def field(self, table: int, index: int) -> int | None:
        """Absolute position of a table's field, or None when it is absent."""
        vtable = table - int(struct.unpack_from("<i", self.data, table)[0])
        vtable_size = int(struct.unpack_from("<H", self.data, vtable)[0])
        slot = 4 + 2 * index
        if slot >= vtable_size:
            return None
        offset = int(struct.unpack_from("<H", self.data, vtable + slot)[0])
        return table + offset if offset else None

    def deref(self, pos: int) -> int:
        return pos + self.u32(pos)

    def tables(self, table: int, index: int) -> list[int]:
        """The tables of a vector-of-tables field (empty when absent)."""
        pos = self.field(table, index)
        if pos is None:
            return []
        vec = self.deref(pos)
        return [self.deref(vec + 4 + 4 * i) for i in range(self.u32(vec))]

    def string(self, table: int, index: int) -> str | None:
        pos = self.field(table, index)
        if pos is None:
            return None
        start = self.deref(pos)
        return self.data[start + 4 : start + 4 + self.u32(start)].decode("utf-8", "replace")

    def scalar(self, table: int, index: int, fmt: str, default: int) -> int:
        pos = self.field(table, index)
        return default if pos is None else int(struct.unpack_from(fmt, self.data, pos)[0])


def _op_name(reader: _Reader, opcode: int) -> str:
    custom = reader.string(opcode, 1)
    # The builtin code moved from an int8 field (0) to an int32 one (3); writers fill the larger.
    code = max(reader.scalar(opcode, 0, "<b", 0), reader.scalar(opcode, 3, "<i", 0))
    if code == _BUILTIN_CUSTOM or custom is not None:
        return custom or "CUSTOM"
    return _BUILTIN_NAMES.get(code, f"BUILTIN_{code}")


def op_split_from_bytes(data: bytes) -> OpSplit:
    """The EdgeTPU/CPU op split of a model's main subgraph, or a ModelError for a non-TFLite file."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError("not a TFLite model (no TFL3 identifier)")
    try:
        reader = _Reader(data)
        model = reader.u32(0)
        names = [_op_name(reader, code) for code in reader.tables(model, 1)]
        subgraphs = reader.tables(model, 2)
        if not subgraphs:
            raise ModelError("TFLite model has no subgraph")
        ops = [names[reader.scalar(op, 0, "<I", 0)] for op in reader.tables(subgraphs[0], 3)]
    except (struct.error, IndexError) as exc:
        raise ModelError(f"corrupt TFLite model: {exc}") from exc
    return OpSplit(
        edgetpu_ops=sum(1 for name in ops if name == EDGETPU_CUSTOM_OP),
        cpu_ops=tuple(name for name in ops if name != EDGETPU_CUSTOM_OP),
    )


def op_split(model_path: Path) -> OpSplit:
    """The op split of a model file."""
    try:
        data = model_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model {model_path}: {exc}") from exc
    try:
        return op_split_from_bytes(data)
    except ModelError as exc:
        raise ModelError(f"{model_path}: {exc}") from exc
