"""Thin typed access to a TFLite interpreter's tensors: float or quantized, found by shape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edgepose.errors import ModelError
from edgepose.types import FloatArray, ImageArray

log = logging.getLogger(__name__)


def quantize_image(
    image: ImageArray, value_range: tuple[float, float], quantization: tuple[float, int], dtype: np.dtype[Any]
) -> npt.NDArray[Any]:
    """Pixels mapped linearly to [low, high], then quantized: q = round(value / scale) + zero."""
    low, high = value_range
    scale, zero = quantization
    info = np.iinfo(dtype)
    step = (high - low) / 255.0
    values = image.astype(np.float32) * np.float32(step / scale) + np.float32(low / scale + zero)
    out: npt.NDArray[Any] = np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return out


def dequantize(raw: npt.NDArray[Any], scale: float, zero: int) -> FloatArray:
    """Quantized values back to float32: (q - zero) * scale."""
    return ((raw.astype(np.float32) - np.float32(zero)) * np.float32(scale)).astype(np.float32)


class NonFiniteGuard:
    """Tells whether model outputs are finite numbers, and warns (once per model) when they are not.

    A damaged or badly converted model can output NaN or inf; a pose made of those would crash the
    ROI geometry downstream and make JSON invalid, so it is dropped instead.
    """

    def __init__(self, model_name: str) -> None:
        self._model_name = model_name
        self.dropped = 0

    def finite(self, *values: npt.ArrayLike) -> bool:
        """True when every value is finite; else counts the drop and warns the first time."""
        if all(np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in values):
            return True
        self.dropped += 1
        if self.dropped == 1:
            log.warning("%s gave NaN or infinite outputs: dropping those poses", self._model_name)
        return False


class InterpreterLike(Protocol):
    """The part of the TFLite Interpreter API the pipeline uses."""

    def get_input_details(self) -> list[dict[str, Any]]: ...

    def get_output_details(self) -> list[dict[str, Any]]: ...

    def set_tensor(self, tensor_index: int, value: npt.NDArray[Any]) -> None: ...

    def get_tensor(self, tensor_index: int) -> npt.NDArray[Any]: ...

    def invoke(self) -> None: ...


class ModelIO:
    """One image input and shape-identified outputs of a model, with (de)quantization."""

    def __init__(self, interpreter: InterpreterLike, name: str) -> None:
        self.interpreter = interpreter
        self.name = name
        inputs = interpreter.get_input_details()
        if len(inputs) != 1 or len(inputs[0]["shape"]) != 4:
            raise ModelError(f"{name}: expected one NHWC image input, got {len(inputs)} inputs")
        detail = inputs[0]
        self.input_index = int(detail["index"])
        self.input_height = int(detail["shape"][1])
        self.input_width = int(detail["shape"][2])
        self.input_dtype = np.dtype(detail["dtype"])
        scale, zero = detail.get("quantization", (0.0, 0))
        self._in_scale, self._in_zero = float(scale), int(zero)
        self._input = np.zeros(tuple(int(v) for v in detail["shape"]), dtype=self.input_dtype)
        self._outputs = {int(o["index"]): o for o in interpreter.get_output_details()}
        self._views: dict[int, Callable[[], npt.NDArray[Any]] | None] = {}

    def find_output(self, size: int) -> int | None:
        """The index of the output whose element count is `size`, or None."""
        for index, detail in self._outputs.items():
            if int(np.prod(detail["shape"])) == size:
                return index
        return None

    def output_index(self, size: int, name: str) -> int:
        """The index of the output whose element count is `size`; ModelError if none."""
        index = self.find_output(size)
        if index is None:
            raise ModelError(f"{self.name}: no output {name} with {size} values")
        return index

    def set_image(self, image: ImageArray, low: float, high: float) -> None:
        """Set the input from an HxWx3 uint8 image mapped linearly to [low, high].

        Writes straight into the interpreter's input buffer when it offers `tensor()` (saves a copy
        per frame); the view is dropped before returning, as TFLite requires before `invoke()`.
        """
        view_fn = self._view_fn(self.input_index)
        if view_fn is not None:
            buffer = view_fn()
            self._fill(buffer[0], image, low, high)
            del buffer
        else:
            self._fill(self._input[0], image, low, high)
            self.interpreter.set_tensor(self.input_index, self._input)

    def _fill(self, target: npt.NDArray[Any], image: ImageArray, low: float, high: float) -> None:
        if self.input_dtype == np.float32:
            np.multiply(image, np.float32((high - low) / 255.0), out=target, casting="unsafe")
            if low != 0.0:
                np.add(target, np.float32(low), out=target)
        else:
            target[...] = quantize_image(
                image, (low, high), (self._in_scale, self._in_zero), self.input_dtype
            )

    def _view_fn(self, index: int) -> Callable[[], npt.NDArray[Any]] | None:
        if index not in self._views:
            tensor = getattr(self.interpreter, "tensor", None)
            self._views[index] = tensor(index) if callable(tensor) else None
        return self._views[index]

    def invoke(self) -> None:
        """Run the model."""
        self.interpreter.invoke()

    def output(self, index: int, copy: bool = True) -> FloatArray:
        """An output as float32 (dequantized when quantized), flattened.

        With `copy=False` a float output may be a view of the interpreter's buffer: use it and drop
        it before the next `invoke()`.
        """
        detail = self._outputs[index]
        view_fn = None if copy else self._view_fn(index)
        raw = (view_fn() if view_fn is not None else self.interpreter.get_tensor(index)).reshape(-1)
        if raw.dtype == np.float32:
            return raw
        scale, zero = detail.get("quantization", (1.0, 0))
        return dequantize(raw, float(scale), int(zero))
