"""Drop landmark-model outputs nobody asked for, with the operators that only feed them.

The BlazePose landmark models compute a 256x256 segmentation mask (the upper-body model a 128x128
one, which the pipeline never reads) on every invocation; its decoder
is a large share of the work. Without that output (and the operators only it needs) the model
gives bit-identical landmarks, heatmap, presence and world landmarks in much less time.
scripts/build_models.py writes these `_nomask` copies next to the full models; the runtime only
picks a file (edgepose.inference.models), it never edits one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from edgepose.errors import ModelError
from tools.modelbuild.tflite_flatbuffer import builtin_code, read_model, write_model

_CUSTOM = 32  # BuiltinOperator.CUSTOM: opaque ops (e.g. edgetpu-custom-op) are left alone
SEGMENTATION_SHAPE = (1, 256, 256, 1)
UPPER_BODY_SEGMENTATION_SHAPE = (1, 128, 128, 1)  # the legacy upper-body model's (never read)


def prune_outputs(data: bytes, drop: Callable[[tuple[int, ...]], bool]) -> bytes | None:
    """The model without the outputs whose shape `drop` selects; None if nothing can be dropped.

    Deterministic: the same input bytes (and flatbuffers/schema versions) give the same output bytes.
    """
    model = read_model(data)
    graph = model.subgraphs[0]
    shapes = [tuple(int(v) for v in t.shape) for t in graph.tensors]
    keep = [o for o in graph.outputs if not drop(shapes[o])]
    if len(keep) == len(graph.outputs) or not keep:
        return None
    if any(builtin_code(model, op) == _CUSTOM for op in graph.operators):
        return None
    producer = {out: index for index, op in enumerate(graph.operators) for out in op.outputs}
    needed: set[int] = set()
    stack = list(keep)
    while stack:
        index = producer.get(stack.pop())
        if index is None or index in needed:
            continue
        needed.add(index)
        stack.extend(t for t in graph.operators[index].inputs if t >= 0)
    graph.operators = [op for index, op in enumerate(graph.operators) if index in needed]
    graph.outputs = keep
    # Signatures (if any) would still name the dropped output; the pipeline does not use them.
    model.signatureDefs = None
    return write_model(model)


def without_segmentation(data: bytes) -> bytes | None:
    """A landmark model without its segmentation output; None if it has none to drop."""
    return prune_outputs(data, lambda shape: shape in (SEGMENTATION_SHAPE, UPPER_BODY_SEGMENTATION_SHAPE))


def write_without_segmentation(source: Path, target: Path) -> bytes:
    """Write `source` without its segmentation output to `target` (atomically); return the bytes.

    Leaves an identical `target` untouched, so a rebuild changes no file (and no mtime).
    """
    data = without_segmentation(source.read_bytes())
    if data is None:
        raise ModelError(f"{source.name} has no segmentation output to drop")
    if target.is_file() and target.read_bytes() == data:
        return data
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)
    return data
