"""M4–M7: where to cut, and at which size.

All geometry is pure and integer-exact so the property tests can pin it:
``crop_window`` (M4), ``crop_center`` (M5), ``group_faces`` (M6), ``Scenario`` (M7).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .geometry import Box


@dataclass(frozen=True)
class Scenario:
    """An application scenario: a name and the output size it implies (M7)."""

    name: str
    width: int
    height: int

    @property
    def aspect(self) -> float:
        return self.width / self.height


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("story", 1080, 1920),      # 9:16
    Scenario("feed", 1080, 1080),       # 1:1
    Scenario("portrait", 1080, 1350),   # 4:5
    Scenario("landscape", 1920, 1080),  # 16:9
    Scenario("cover", 1000, 1500),      # 2:3
)}


@dataclass(frozen=True)
class CropSettings:
    alpha: float = 0.7       # M5 weight of the face centre when it lies inside the salient region
    dilation: float = 1.5    # M6 face-box dilation coefficient before grouping
    keep_group: bool = True  # shift (never shrink) the window to hold the face group when it fits


def group_faces(boxes: list[Box], dilation: float) -> list[Box]:
    """M6: merge faces whose dilated boxes intersect, transitively; largest group first.

    A group box is the union of the (undilated) face boxes in it.
    """
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    dil = [b.dilate(dilation) for b in boxes]
    for i in range(n):
        for j in range(i + 1, n):
            if dil[i].intersects(dil[j]):
                parent[find(i)] = find(j)
    groups: dict[int, Box] = {}
    for i, b in enumerate(boxes):
        r = find(i)
        groups[r] = groups[r].union(b) if r in groups else b
    return sorted(groups.values(), key=lambda g: (-g.area, g.x, g.y))


def crop_center(width: int, height: int, faces: list[Box], salient: Box | None,
                s: CropSettings | None = None) -> tuple[float, float]:
    """M5: the crop centre from the face group (c1) and the salient region (c2)."""
    s = s or CropSettings()
    if not faces:
        return salient.center if salient is not None else (width / 2.0, height / 2.0)
    c1 = group_faces(faces, s.dilation)[0].center
    if salient is None or not salient.contains_point(c1):
        return c1
    c2 = salient.center
    return (s.alpha * c1[0] + (1 - s.alpha) * c2[0], s.alpha * c1[1] + (1 - s.alpha) * c2[1])


def _place(center: float, size: int, limit: int) -> int:
    """Start of a window of ``size`` centred on ``center``, shifted to lie in [0, limit]."""
    start = int(round(center - size / 2.0))
    return max(0, min(limit - size, start))


def _hold(start: int, size: int, limit: int, lo_edge, hi_edge) -> int:
    """Shift ``start`` the least so that [lo_edge, hi_edge] lies in the window, if it can."""
    if lo_edge is None:
        return start
    lo, hi = math.ceil(hi_edge) - size, math.floor(lo_edge)
    if lo <= hi:
        start = min(max(start, lo), hi)
    return max(0, min(limit - size, start))


def crop_window(width: int, height: int, aspect: float, center: tuple[float, float],
                keep: Box | None = None) -> Box:
    """M4: the largest window of ``aspect`` (w'/h') inside ``width × height`` about ``center``.

    Equal aspect within one pixel means no crop. The window is shifted, never
    shrunk, to stay inside the image; when ``keep`` (the face group) fits in it,
    the window is shifted the least amount needed to hold it.
    """
    if width <= 0 or height <= 0 or aspect <= 0:
        raise ValueError("crop_window needs a positive size and aspect")
    cw_full_h = int(round(height * aspect))
    ch_full_w = int(round(width / aspect))
    if abs(width - cw_full_h) <= 1 or abs(height - ch_full_w) <= 1:
        return Box(0, 0, width, height)
    if width / height > aspect:
        cw, ch = max(1, min(width, cw_full_h)), height
        x, y = _place(center[0], cw, width), 0
        x = _hold(x, cw, width, keep.x if keep else None, keep.x2 if keep else None)
    else:
        cw, ch = width, max(1, min(height, ch_full_w))
        x, y = 0, _place(center[1], ch, height)
        y = _hold(y, ch, height, keep.y if keep else None, keep.y2 if keep else None)
    return Box(x, y, cw, ch)


def plan_crop(width: int, height: int, scenario: Scenario, faces: list[Box], salient: Box | None,
              s: CropSettings | None = None) -> tuple[Box, Box | None, tuple[float, float]]:
    """Crop window, winning face group and centre for one frame and one scenario."""
    s = s or CropSettings()
    group = group_faces(faces, s.dilation)[0] if faces else None
    center = crop_center(width, height, faces, salient, s)
    window = crop_window(width, height, scenario.aspect, center, group if s.keep_group else None)
    return window, group, center
