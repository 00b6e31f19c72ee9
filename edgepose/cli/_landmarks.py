"""Reading `edgepose track` output files (JSON lines, optionally gzip-compressed) for the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from edgepose.errors import InputError, UsageError
from edgepose.types import PoseResult


def read_landmarks(path: Path) -> Iterator[PoseResult]:
    """PoseResults from a .jsonl or .jsonl.gz file; UsageError if missing, InputError if malformed."""
    from edgepose.activity.replay import parse_frame
    from edgepose.sources.replay import open_landmarks

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    with open_landmarks(path) as text:
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                yield parse_frame(line)
            except (ValueError, UnicodeDecodeError, OSError) as exc:
                raise InputError(f"{path}:{number}: {exc}") from None
