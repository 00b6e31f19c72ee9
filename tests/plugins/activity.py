"""Fixtures of the activity tests: recorded landmark streams and the kinematic generator's clips."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgepose.cli._landmarks import read_landmarks
from edgepose.types import PoseResult

DATA = Path(__file__).resolve().parent.parent / "data" / "activity"


@pytest.fixture(scope="session")
def activity_data() -> Path:
    """tests/data/activity: `edgepose track` output of real footage (see its README)."""
    return DATA


@pytest.fixture(scope="session")
def vtest_stream() -> list[PoseResult]:
    """vtest.avi (pedestrians) through the pipeline with tracking, 795 frames."""
    return list(read_landmarks(DATA / "vtest.track.jsonl.gz"))


@pytest.fixture(scope="session")
def pan_zidane_stream() -> list[PoseResult]:
    """pan_zidane.avi (two men, camera pan/zoom) through the pipeline with tracking, 150 frames."""
    return list(read_landmarks(DATA / "pan_zidane.track.jsonl.gz"))
