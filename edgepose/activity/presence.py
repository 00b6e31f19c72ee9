"""Presence and zones: debounced person_entered/person_left and zone_entered/zone_left.

Zones are polygons in normalised image coordinates. A person is in a zone when their anchor
point (feet, hips or box centre, per config) is inside the polygon for `zone_dwell_ms`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edgepose.activity.base import Emit
from edgepose.activity.features import PoseFeatures
from edgepose.config.activity import PresenceConfig, ZoneAnchor, ZoneConfig
from edgepose.skeleton import PoseLandmark as L
from edgepose.types import EventType


def point_in_polygon(x: float, y: float, polygon: tuple[tuple[float, float], ...]) -> bool:
    """Ray casting: whether (x, y) is inside the polygon (boundary cases either way)."""
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_cross:
                inside = not inside
    return inside


def anchor_point(f: PoseFeatures, anchor: ZoneAnchor) -> tuple[float, float] | None:
    """The normalised point of a person tested against zones."""
    w, h = f.width, f.height
    if anchor is ZoneAnchor.HIPS:
        p = f.hip_center_px
    elif anchor is ZoneAnchor.FEET:
        ankles = f.points_px[[L.LEFT_ANKLE, L.RIGHT_ANKLE]]
        ok = ~np.isnan(ankles[:, 0])
        if np.any(ok):
            p = ankles[ok].mean(axis=0)
        elif f.box is not None:
            return ((f.box.xmin + f.box.xmax) / 2.0, f.box.ymax)
        else:
            return None
    else:
        if f.box is None:
            return None
        return ((f.box.xmin + f.box.xmax) / 2.0, (f.box.ymin + f.box.ymax) / 2.0)
    if math.isnan(float(p[0])):
        return None
    return (float(p[0]) / w, float(p[1]) / h)


@dataclass(slots=True)
class ZoneMembership:
    """Debounced inside/outside of one track for one zone."""

    inside: bool = False
    pending_since_ms: int | None = None


@dataclass(slots=True)
class Presence:
    """Presence and zone state of one track."""

    cfg: PresenceConfig
    zones: tuple[ZoneConfig, ...]
    first_seen_ms: int
    last_seen_ms: int
    confirmed: bool = False
    membership: dict[str, ZoneMembership] = field(default_factory=dict)

    def in_zones(self) -> tuple[str, ...]:
        """Zones the track is in (debounced)."""
        return tuple(z.name for z in self.zones if self.membership.get(z.name, ZoneMembership()).inside)

    def seen(self, f: PoseFeatures, t: int) -> list[Emit]:
        """The track is in this frame."""
        self.last_seen_ms = t
        out: list[Emit] = []
        if not self.confirmed:
            if t - self.first_seen_ms < self.cfg.enter_ms:
                return out
            self.confirmed = True
            out.append(Emit(EventType.PERSON_ENTERED, {}))
        if not self.zones:
            return out  # no zones: the anchor point would go unused
        point = anchor_point(f, self.cfg.zone_anchor)
        if point is None:
            return out
        for zone in self.zones:
            m = self.membership.setdefault(zone.name, ZoneMembership())
            now_inside = point_in_polygon(point[0], point[1], zone.polygon)
            if now_inside == m.inside:
                m.pending_since_ms = None
                continue
            if m.pending_since_ms is None:
                m.pending_since_ms = t
            if t - m.pending_since_ms >= self.cfg.zone_dwell_ms:
                m.inside = now_inside
                m.pending_since_ms = None
                kind = EventType.ZONE_ENTERED if now_inside else EventType.ZONE_LEFT
                out.append(Emit(kind, {"zone": zone.name}))
        return out

    def gone(self, t: int) -> bool:
        """Whether the track has been unseen long enough to be gone."""
        return t - self.last_seen_ms >= self.cfg.leave_ms

    def leave(self) -> list[Emit]:
        """Events when the track is gone: zone_left for its zones, then person_left."""
        if not self.confirmed:
            return []
        out = [Emit(EventType.ZONE_LEFT, {"zone": name}) for name in self.in_zones()]
        for m in self.membership.values():
            m.inside = False
        out.append(Emit(EventType.PERSON_LEFT, {"duration_ms": self.last_seen_ms - self.first_seen_ms}))
        return out
