"""Replay backend: recorded landmarks (`edgepose track` JSON lines, optionally gzip) as a camera.

`replay:FILE.jsonl[.gz]` yields one `Frame` per recorded line, with the recorded poses in
`Frame.recorded` and a shared blank image of the recorded size (for the preview page). No camera
and no models: the service skips the pose estimator for these frames. The feed paces the frames
by their recorded timestamps (`[source] realtime`), and `loop` starts the file again with the
timestamps continuing, as a camera's clock would. A malformed line is logged and skipped.
"""

from __future__ import annotations

import functools
import gzip
import logging
from pathlib import Path
from typing import TextIO

import numpy as np

from edgepose.activity.replay import parse_frame
from edgepose.sources.base import SourceBase, SourceError, SourceSettings, StrictlyIncreasing
from edgepose.sources.uri import SourceKind, SourceUri
from edgepose.types import Frame, ImageArray, PoseResult

log = logging.getLogger(__name__)

_LOGGED_BAD_LINES = 5  # malformed lines logged one by one; later ones only counted


def open_landmarks(path: Path) -> TextIO:
    """A text reader of a .jsonl or .jsonl.gz file (OSError when it cannot be opened)."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


@functools.lru_cache(maxsize=4)
def blank_image(width: int, height: int) -> ImageArray:
    """One read-only black RGB image per size, shared by every replayed frame."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image.flags.writeable = False
    return image


class ReplaySource(SourceBase):
    """Frames carrying recorded poses, read line by line (the file is never held in memory)."""

    def __init__(self, uri: SourceUri, settings: SourceSettings) -> None:
        if uri.kind is not SourceKind.REPLAY:
            raise SourceError(f"{uri.text}: not a replay source")
        self._uri = uri
        self._path = Path(uri.location)
        self._loop = settings.loop
        self._default_gap_ms = max(1, round(1000.0 / settings.fps))
        self._text: TextIO | None = None
        self._line = 0
        self._pending: PoseResult | None = None  # the first frame, read by open() to check the file
        self._pass_frames = 0
        self._pass_first_ms: int | None = None
        self._offset_ms = 0  # where the current pass starts on the output clock
        self._last_ms: int | None = None  # the last timestamp given out
        self._gap_ms = self._default_gap_ms  # the file's last frame interval, for the seam of a loop
        self._index = 0
        self._bad_lines = 0
        self._monotonic = StrictlyIncreasing()

    @property
    def live(self) -> bool:
        """A recording delivers every frame, like a video file."""
        return False

    def open(self) -> None:
        """Open the file and read its first frame; SourceError when it is missing or not track output."""
        first = self._open_file()
        log.info("opened %s (recorded landmarks, %dx%d)", self._uri.text, first.width, first.height)

    def _open_file(self) -> PoseResult:
        """(Re)open the file, keep its first frame for `read`; the first frame."""
        self._close_text()
        if not self._path.is_file():
            raise SourceError(f"{self._uri.text}: no such file")
        try:
            self._text = open_landmarks(self._path)
        except OSError as exc:
            raise SourceError(f"{self._uri.text}: cannot open: {exc}") from exc
        self._line = 0
        self._pass_frames = 0
        self._pass_first_ms = None
        first = self._next_result(strict=True)
        if first is None:
            self._close_text()
            raise SourceError(f"{self._uri.text}: no recorded frames (empty file)")
        self._pending = first
        return first

    def read(self) -> Frame | None:
        """The next recorded frame; None at the end (unless looping); SourceError when the file is damaged."""
        if self._text is None:
            raise SourceError(f"{self._uri.text}: not open")
        result = self._pending if self._pending is not None else self._next_result(strict=False)
        self._pending = None
        if result is None:
            if not self._loop or self._pass_frames == 0:
                return None
            next_offset = (self._last_ms if self._last_ms is not None else 0) + self._gap_ms
            self._open_file()  # clears the pass counters; the output clock goes on from next_offset
            log.debug("%s: playing again from the start", self._uri.text)
            self._offset_ms = next_offset
            result, self._pending = self._pending, None
            if result is None:
                return None
        return self._frame(result)

    def _frame(self, result: PoseResult) -> Frame:
        if self._pass_first_ms is None:
            self._pass_first_ms = result.timestamp_ms
        raw_ms = self._offset_ms + result.timestamp_ms - self._pass_first_ms
        if self._pass_frames > 0 and self._last_ms is not None and raw_ms > self._last_ms:
            self._gap_ms = raw_ms - self._last_ms
        timestamp_ms = self._monotonic(raw_ms)
        self._last_ms = timestamp_ms
        self._pass_frames += 1
        recorded = PoseResult(
            timestamp_ms=timestamp_ms,
            frame_index=self._index,
            width=result.width,
            height=result.height,
            poses=result.poses,
        )
        frame = Frame(
            pixels=blank_image(result.width, result.height),
            timestamp_ms=timestamp_ms,
            index=self._index,
            recorded=recorded,
        )
        self._index += 1
        return frame

    def _next_result(self, *, strict: bool) -> PoseResult | None:
        """The next well-formed line; `strict` (the first line) raises on a malformed one instead."""
        assert self._text is not None
        while True:
            try:
                line = self._text.readline()
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                raise SourceError(f"{self._uri.text}: damaged at line {self._line + 1}: {exc}") from exc
            if not line:
                return None
            self._line += 1
            if not line.strip():
                continue
            try:
                result = parse_frame(line)
                if result.width < 1 or result.height < 1:
                    raise ValueError("width and height must be positive")
            except ValueError as exc:
                where = f"{self._path}:{self._line}"
                if strict:
                    raise SourceError(f"{where}: not `edgepose track` output: {exc}") from None
                self._bad_lines += 1
                if self._bad_lines <= _LOGGED_BAD_LINES:
                    log.warning("%s: skipping a malformed line: %s", where, exc)
                continue
            return result

    def _close_text(self) -> None:
        if self._text is not None:
            self._text.close()
            self._text = None

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._close_text()
