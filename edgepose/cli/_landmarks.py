"""Reading `edgepose track` output files (JSON lines, optionally gzip-compressed) for the CLI."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from edgepose.errors import InputError, UsageError
from edgepose.types import PoseResult


def read_landmarks(path: Path) -> Iterator[PoseResult]:
    """PoseResults from a .jsonl or .jsonl.gz file; UsageError if missing, InputError if malformed."""
    from edgepose.activity.replay import parse_frame

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    with (
        gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as raw,
        io.TextIOWrapper(raw, encoding="utf-8") as text,
    ):
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                yield parse_frame(line)
            except (ValueError, UnicodeDecodeError, OSError) as exc:
                raise InputError(f"{path}:{number}: {exc}") from None
