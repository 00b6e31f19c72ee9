"""[activity] config: thresholds of the activity rules (owned by the activity engine)."""

from __future__ import annotations

from edgepose.config.base import StrictModel


class ActivityConfig(StrictModel):
    """Activity rules and their thresholds."""
