"""Drop model outputs nobody asked for, with the operators that only feed them.

The BlazePose landmark models compute a 256x256 segmentation mask on every invocation; its
decoder is a large share of the work. When masks are not wanted, a copy of the model without that
output (and the operators only it needs) gives bit-identical landmarks, heatmap, presence and
world landmarks in much less time. The copy is derived once and kept in the cache, keyed by the
source file's hash.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from edgepose.errors import ModelError
from edgepose.inference.tflite_flatbuffer import builtin_code, read_model, write_model
from edgepose.paths import cache_dir

log = logging.getLogger(__name__)

_CUSTOM = 32  # BuiltinOperator.CUSTOM: opaque ops (e.g. edgetpu-custom-op) are left alone
SEGMENTATION_SHAPE = (1, 256, 256, 1)


def prune_outputs(data: bytes, drop: Callable[[tuple[int, ...]], bool]) -> bytes | None:
    """The model without the outputs whose shape `drop` selects; None if nothing can be dropped."""
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


def without_segmentation(path: Path) -> Path:
    """A cached copy of a landmark model without its segmentation output, or `path` itself."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = cache_dir() / "models" / "derived" / f"{path.stem}.noseg.{digest}.tflite"
    if target.is_file():
        return target
    try:
        pruned = prune_outputs(data, lambda shape: shape == SEGMENTATION_SHAPE)
    except Exception as exc:  # an optimisation only: any failure falls back to the full model
        log.warning("cannot prune %s (%s); using the full model", path.name, exc)
        return path
    if pruned is None:
        return path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(pruned)
        partial.replace(target)
    except OSError as exc:
        log.warning("cannot cache the pruned model in %s (%s); using the full model", target.parent, exc)
        return path
    log.info("landmark model without segmentation: %s", target)
    return target
