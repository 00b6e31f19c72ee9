"""Fake of the `libcamera` Python bindings: just `Transform`, as picamera2 and edgepose use it."""

from __future__ import annotations


class Transform:
    """A 2D image transform made of flips and a transpose, as libcamera defines it."""

    def __init__(self, hflip: int | bool = 0, vflip: int | bool = 0, transpose: int | bool = 0) -> None:
        self.hflip = int(bool(hflip))
        self.vflip = int(bool(vflip))
        self.transpose = int(bool(transpose))

    def __repr__(self) -> str:
        return f"<libcamera.Transform '{self.hflip}{self.vflip}{self.transpose}'>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Transform):
            return NotImplemented
        return (self.hflip, self.vflip, self.transpose) == (other.hflip, other.vflip, other.transpose)

    def __hash__(self) -> int:
        return hash((self.hflip, self.vflip, self.transpose))
