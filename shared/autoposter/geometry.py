"""Axis-aligned boxes: the one shape every rule of the method talks about."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """A rectangle ``x, y, w, h`` in pixels (floats allowed; ``w, h >= 0``)."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_xyxy(cls, x1: float, y1: float, x2: float, y2: float) -> "Box":
        return cls(x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1))

    @classmethod
    def from_list(cls, v) -> "Box":
        x, y, w, h = (float(a) for a in v)
        return cls(x, y, w, h)

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    @property
    def area(self) -> float:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def contains_point(self, p: tuple[float, float]) -> bool:
        return self.x <= p[0] <= self.x2 and self.y <= p[1] <= self.y2

    def contains(self, other: "Box", tol: float = 0.0) -> bool:
        return (other.x >= self.x - tol and other.y >= self.y - tol
                and other.x2 <= self.x2 + tol and other.y2 <= self.y2 + tol)

    def intersection(self, other: "Box") -> "Box | None":
        x1, y1 = max(self.x, other.x), max(self.y, other.y)
        x2, y2 = min(self.x2, other.x2), min(self.y2, other.y2)
        if x2 <= x1 or y2 <= y1:
            return None
        return Box(x1, y1, x2 - x1, y2 - y1)

    def intersects(self, other: "Box") -> bool:
        return self.intersection(other) is not None

    def union(self, other: "Box") -> "Box":
        """Smallest box holding both (the 'merge' of M6)."""
        x1, y1 = min(self.x, other.x), min(self.y, other.y)
        x2, y2 = max(self.x2, other.x2), max(self.y2, other.y2)
        return Box(x1, y1, x2 - x1, y2 - y1)

    def dilate(self, coeff: float) -> "Box":
        """Scale about the centre by ``coeff`` (1.0 = unchanged, 1.5 = 50 % larger sides)."""
        cx, cy = self.center
        w, h = self.w * coeff, self.h * coeff
        return Box(cx - w / 2.0, cy - h / 2.0, w, h)

    def scale(self, s: float) -> "Box":
        """Map between image scales (multiply every coordinate)."""
        return Box(self.x * s, self.y * s, self.w * s, self.h * s)

    def shift(self, dx: float, dy: float) -> "Box":
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def clip(self, width: float, height: float) -> "Box | None":
        return self.intersection(Box(0, 0, width, height))

    def rounded(self) -> "Box":
        return Box(int(round(self.x)), int(round(self.y)), int(round(self.w)), int(round(self.h)))

    def to_list(self, ndigits: int | None = 1) -> list:
        vals = [self.x, self.y, self.w, self.h]
        if ndigits is None:
            return [int(round(v)) for v in vals]
        return [round(float(v), ndigits) for v in vals]
