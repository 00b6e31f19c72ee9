"""What a rule hands the engine: an event type and its attributes (the engine adds ids and times)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from edgepose.types import AttributeValue, EventType


@dataclass(frozen=True, slots=True)
class Emit:
    """An event a rule wants published for the current track and frame."""

    type: EventType
    attributes: dict[str, AttributeValue] = field(default_factory=dict)


def nanmean(*values: float) -> float:
    """Mean of the values that are not NaN (NaN if none)."""
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def nanmax(*values: float) -> float:
    """Largest value that is not NaN (NaN if none)."""
    finite = [v for v in values if not math.isnan(v)]
    return max(finite) if finite else math.nan


def nanmin(*values: float) -> float:
    """Smallest value that is not NaN (NaN if none)."""
    finite = [v for v in values if not math.isnan(v)]
    return min(finite) if finite else math.nan
