"""Error-compensating (GPTQ) rounding of conv weights onto the int8 grid the quantizer will use.

ai-edge-quantizer rounds every weight to the nearest step of its output channel's symmetric int8
grid (step = max|w| / 127). Rounding each weight on its own ignores what the layer computes: on the
BlazePose landmark models that alone moved landmarks by about 2% of a person's size. GPTQ (Frantar
et al., 2022) rounds one input column at a time and shifts the not yet rounded weights of the row to
cancel the error on real activations, using the layer's input Hessian X^T X gathered from calibration
crops. The result is written back as float32 weights that already sit on that grid (the largest
weight of each row is rounded first and lands on +-127, so the quantizer computes the same step),
so the quantizer's own rounding is exact and the model it writes is an ordinary int8 model.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edgepose.inference.runtime import get_runtime
from tools.modelbuild import tflite_edit as te

Float64Array = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]

INT8_MAX = 127
_SAME = 0  # tflite Padding.SAME
CONV_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


@dataclass(frozen=True)
class RoundingReport:
    """What a rounding pass changed."""

    convs: int
    rows: int
    rows_kept_nearest: int


def round_rows(weights: Float64Array, hessians: Float64Array, damp: float = 0.01) -> tuple[Float64Array, int]:
    """GPTQ for a batch of rows: `weights` R x d, `hessians` one shared d x d or R x d x d.

    Returns the rows on their symmetric int8 grids (step max|w|/127 per row) and how many rows fell
    back to nearest rounding because their result would not keep +-127 as the largest level.
    """
    w = np.array(weights, dtype=np.float64)
    rows, dim = w.shape
    step = np.maximum(np.abs(w).max(axis=1), 1e-12) / INT8_MAX
    shared = hessians.ndim == 2
    h = np.array(hessians[None] if shared else hessians, dtype=np.float64)
    diag = np.einsum("rii->ri", h).copy()
    dead = diag <= 0.0
    eye = np.arange(dim)
    h[:, eye, eye] += np.where(dead, 1.0, 0.0) + (damp * np.where(dead, 1.0, diag).mean(axis=1))[:, None]
    # Columns by decreasing activation energy ("act order"), one order per Hessian.
    order = np.argsort(-np.where(dead, 0.0, diag), axis=1, kind="stable")
    batch = np.arange(h.shape[0])[:, None]
    hp = h[batch[:, :, None], order[:, :, None], order[:, None, :]]
    upper = np.linalg.cholesky(np.linalg.inv(hp)).transpose(0, 2, 1)
    perm = np.broadcast_to(order, (rows, dim)) if shared else order
    index = np.arange(rows)[:, None]
    wp = w[index, perm]
    # Each row's largest weight is already on the grid (+-127 steps): keep it there, so the
    # quantizer derives the same step from the rounded row.
    pinned = np.abs(wp) == np.abs(wp).max(axis=1, keepdims=True)
    pinned_values = wp[pinned]
    levels = np.zeros_like(wp)
    for col in range(dim):
        level = np.clip(np.rint(wp[:, col] / step), -INT8_MAX, INT8_MAX)
        levels[:, col] = level
        u = upper[0] if shared else upper[:, col]
        diag_u = u[col, col] if shared else u[:, col]
        tail = u[col, col + 1 :] if shared else u[:, col + 1 :]
        error = (wp[:, col] - level * step) / diag_u
        wp[:, col + 1 :] -= error[:, None] * (tail[None, :] if shared else tail)
        wp[pinned] = pinned_values
    out_levels = np.empty_like(levels)
    out_levels[index, perm] = levels
    nearest = np.clip(np.rint(w / step[:, None]), -INT8_MAX, INT8_MAX)
    off_grid = np.abs(out_levels).max(axis=1) != INT8_MAX
    out_levels[off_grid] = nearest[off_grid]
    result: Float64Array = out_levels * step[:, None]
    return result, int(off_grid.sum())


def weight_rows(weights: npt.NDArray[Any], *, depthwise: bool) -> Float64Array:
    """A conv's weights as one row per output channel: (out, kh*kw*in), or (channels, kh*kw)."""
    shaped = weights.reshape(-1, weights.shape[-1]).T if depthwise else weights.reshape(weights.shape[0], -1)
    rows: Float64Array = shaped.astype(np.float64)
    return rows


def conv_patches(
    activation: Float32Array,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    *,
    same_padding: bool,
    max_positions: int,
    rng: np.random.Generator,
) -> Float64Array:
    """The conv's input windows, P x kh x kw x C, at most `max_positions` of them (random, seeded)."""
    x = activation
    if same_padding:
        height, width = x.shape[:2]
        pad_h = max((-(-height // stride[0]) - 1) * stride[0] + kernel[0] - height, 0)
        pad_w = max((-(-width // stride[1]) - 1) * stride[1] + kernel[1] - width, 0)
        x = np.pad(x, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(0, 1))[:: stride[0], :: stride[1]]
    flat = windows.reshape(-1, *windows.shape[2:])  # P x C x kh x kw
    if flat.shape[0] > max_positions:
        flat = flat[np.sort(rng.choice(flat.shape[0], max_positions, replace=False))]
    return np.transpose(flat, (0, 2, 3, 1)).astype(np.float64)


@dataclass
class _Target:
    op_index: int
    depthwise: bool
    tensor: Any
    weights: Float32Array
    input_tensor: int
    stride: tuple[int, int]
    same_padding: bool
    hessian: Float64Array | None = None

    def accumulate(self, activation: Float32Array, max_positions: int, rng: np.random.Generator) -> None:
        kernel = (int(self.weights.shape[1]), int(self.weights.shape[2]))
        windows = conv_patches(
            activation,
            kernel,
            self.stride,
            same_padding=self.same_padding,
            max_positions=max_positions,
            rng=rng,
        )
        if self.depthwise:
            per_channel = windows.reshape(windows.shape[0], -1, windows.shape[-1])
            update = np.einsum("pic,pjc->cij", per_channel, per_channel)
        else:
            flat = windows.reshape(windows.shape[0], -1)
            update = flat.T @ flat
        self.hessian = update if self.hessian is None else self.hessian + update

    def rounded(self, damp: float) -> tuple[Float32Array, int, int]:
        """The weights on their grid, the number of rows and of rows left at nearest rounding."""
        if self.hessian is None:
            raise ValueError(f"op {self.op_index}: no calibration sample reached this conv")
        rows = weight_rows(self.weights, depthwise=self.depthwise)
        new, kept = round_rows(rows, self.hessian, damp)
        shaped = new.T.reshape(self.weights.shape) if self.depthwise else new.reshape(self.weights.shape)
        return shaped.astype(np.float32), int(rows.shape[0]), kept


def _targets(model: Any, ops: Iterable[int]) -> list[_Target]:
    graph = model.subgraphs[0]
    names = te.operator_names(model)
    out = []
    for index in ops:
        if names[index] not in CONV_OPS:
            continue
        op = graph.operators[index]
        tensor = graph.tensors[int(op.inputs[1])]
        values = te.tensor_values(model, tensor)
        if values is None or values.dtype != np.float32:
            continue
        options = op.builtinOptions
        out.append(
            _Target(
                op_index=index,
                depthwise=names[index] == "DEPTHWISE_CONV_2D",
                tensor=tensor,
                weights=values.reshape([int(d) for d in tensor.shape]).copy(),
                input_tensor=int(op.inputs[0]),
                stride=(int(options.strideH), int(options.strideW)),
                same_padding=int(options.padding) == _SAME,
            )
        )
    return out


def invoked_on(data: bytes, samples: Sequence[Float32Array]) -> Iterator[Any]:
    """An interpreter keeping every intermediate tensor, yielded after each sample's invoke."""
    with warnings.catch_warnings():
        # Keeping every intermediate tensor is the point here (the convs' inputs), not a debug slip.
        warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors.*")
        interpreter = get_runtime().module.Interpreter(
            model_content=bytes(data), num_threads=2, experimental_preserve_all_tensors=True
        )
    interpreter.allocate_tensors()
    input_index = int(interpreter.get_input_details()[0]["index"])
    for sample in samples:
        interpreter.set_tensor(input_index, sample)
        interpreter.invoke()
        yield interpreter


def round_conv_weights(
    data: bytes,
    samples: Sequence[Float32Array],
    ops: Iterable[int],
    *,
    max_positions: int = 512,
    seed: int = 0,
    damp: float = 0.01,
) -> tuple[bytes, RoundingReport]:
    """A copy of a float32 model whose conv weights in `ops` sit on their int8 grid (GPTQ-rounded).

    `samples` are model inputs (1 x H x W x C float32) from the calibration set.
    """
    model = te.read_model(data)
    targets = _targets(model, ops)
    rng = np.random.default_rng(seed)
    for interpreter in invoked_on(data, samples):
        for target in targets:
            target.accumulate(interpreter.get_tensor(target.input_tensor)[0], max_positions, rng)
    rows = kept = 0
    for target in targets:
        weights, count, nearest = target.rounded(damp)
        rows += count
        kept += nearest
        te.set_constant(model, target.tensor, weights)
    te.compact(model)
    return te.write_model(model), RoundingReport(convs=len(targets), rows=rows, rows_kept_nearest=kept)
