"""Whether a zone polygon is a usable shape: a simple polygon with area inside the image.

A zone is tested with point-in-polygon on every frame; a polygon that crosses itself, folds back
on an edge or has no area gives answers nobody meant, so the config refuses it at its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Twice the area (in normalised image units squared) below which a polygon counts as flat: a
# 0.001 x 0.001 square, far smaller than any person's feet in a frame.
_MIN_DOUBLE_AREA = 2e-6
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class Corner:
    """One polygon corner in normalised image coordinates."""

    x: float
    y: float


def _cross(o: Corner, a: Corner, b: Corner) -> float:
    """z of (a - o) x (b - o): > 0 left turn, < 0 right turn, 0 collinear."""
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)


def _on_segment(p: Corner, a: Corner, b: Corner) -> bool:
    """Whether p, known collinear with a-b, lies within the segment's bounding box."""
    return (
        min(a.x, b.x) - _EPS <= p.x <= max(a.x, b.x) + _EPS
        and min(a.y, b.y) - _EPS <= p.y <= max(a.y, b.y) + _EPS
    )


def segments_touch(a: Corner, b: Corner, c: Corner, d: Corner) -> bool:
    """Whether segments a-b and c-d share any point (crossing, touching or overlapping)."""
    d1, d2 = _cross(c, d, a), _cross(c, d, b)
    d3, d4 = _cross(a, b, c), _cross(a, b, d)
    if ((d1 > _EPS and d2 < -_EPS) or (d1 < -_EPS and d2 > _EPS)) and (
        (d3 > _EPS and d4 < -_EPS) or (d3 < -_EPS and d4 > _EPS)
    ):
        return True
    return (
        (abs(d1) <= _EPS and _on_segment(a, c, d))
        or (abs(d2) <= _EPS and _on_segment(b, c, d))
        or (abs(d3) <= _EPS and _on_segment(c, a, b))
        or (abs(d4) <= _EPS and _on_segment(d, a, b))
    )


def shape_problem(points: Sequence[tuple[float, float]]) -> str | None:
    """What is wrong with a zone polygon (None when it is a simple polygon with area in 0..1)."""
    if len(points) < 3:
        return f"a zone polygon needs at least three corners (got {len(points)})"
    corners = [Corner(float(x), float(y)) for x, y in points]
    for index, c in enumerate(corners):
        if not (0.0 <= c.x <= 1.0 and 0.0 <= c.y <= 1.0):
            return (
                f"corner {index} [{c.x:g}, {c.y:g}] is outside the image "
                "(coordinates are fractions of the width and height, 0..1)"
            )
    n = len(corners)
    for index in range(n):
        if corners[index] == corners[(index + 1) % n]:
            return f"corners {index} and {(index + 1) % n} are the same point"
    if all(abs(_cross(corners[0], corners[1], c)) <= _EPS for c in corners[2:]):
        return "the corners lie on one line: the zone has no area"
    edges = [(corners[i], corners[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            adjacent = j == i + 1 or (i == 0 and j == n - 1)
            a, b = edges[i]
            c, d = edges[j]
            if adjacent:
                # Neighbours share one corner; they may only meet there, not run back along each other.
                shared, far_i, far_j = (b, a, d) if j == i + 1 else (a, b, c)
                if abs(_cross(shared, far_i, far_j)) <= _EPS and (
                    (far_i.x - shared.x) * (far_j.x - shared.x) + (far_i.y - shared.y) * (far_j.y - shared.y)
                    > 0
                ):
                    return f"edges {i} and {j} fold back over each other"
                continue
            if segments_touch(a, b, c, d):
                return f"edges {i} and {j} cross or touch: the polygon crosses itself (list corners in order)"
    # Shoelace formula; checked after the crossings, whose signed areas could cancel out.
    double_area = sum(a.x * b.y - b.x * a.y for a, b in edges)
    if abs(double_area) < _MIN_DOUBLE_AREA:
        return f"the zone has no usable area ({abs(double_area) / 2:.2g} of the image)"
    return None
