"""Q6: the active picture — letterbox, pillarbox and windowbox bars found per shot.

A film mastered 2.35:1 inside a 16:9 frame carries black bars top and bottom; a 4:3 clip
inside 16:9 carries them left and right; both at once is a windowbox. A poster must show none
of them, and no measure (faces, saliency, sharpness, aesthetics) may see them.

How: every probe frame of a shot (six a second) gives, per row and per column, whether it
looks like bar — dark and flat (``is_bar``). Over the shot, a row is bar only if it was bar
in *every* probe (``ShotExtent``: the union of what showed content). Bars are then accepted
only as bars are made: on both opposite sides, of about equal size (``decide``). A night
scene's dark sky is one-sided, not flat over time, or not mirrored by the ground, so it is
never taken for a bar; a shot too dark to judge borrows the film's consensus.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import Box


@dataclass(frozen=True)
class BarSettings:
    level: float = 40.0          # a bar row/column is darker than this luma (0–255) at its brightest decile...
    flat: float = 6.0            # ...and flatter than this luma standard deviation (compression noise passes)
    min_bar: float = 0.02        # bars thinner than this share of the side are ignored
    max_bar: float = 0.35        # a "bar" wider than this share of the side is a dark scene, not a bar
    symmetry: float = 0.03       # opposite bars differ by at most this share of the side
    dark_shot: float = 35.0      # a shot whose picture is darker than this mean luma borrows the film's bars
    margin: float = 0.004        # the active area is shrunk by this share of each side (soft bar edges),
                                 # and by at least one profiled row/column


WIDTH = 480                      # probes are profiled on a grey copy this wide (≈1 ms at 1080p)


def small_gray(img: np.ndarray) -> np.ndarray:
    g = gray(img)
    h, w = g.shape[:2]
    if w <= WIDTH:
        return g
    return cv2.resize(g, (WIDTH, max(8, round(h * WIDTH / w))), interpolation=cv2.INTER_AREA)


def profile(g: np.ndarray, s: BarSettings) -> tuple[np.ndarray, np.ndarray, float]:
    """Rows and columns that look like bar in one probe (a grey copy ``small_gray`` made), and the
    mean luma of the rest: bar = dark on average and flat (its standard deviation small)."""
    f = g.astype(np.float32)
    rmean, rstd = f.mean(axis=1), f.std(axis=1)
    cmean, cstd = f.mean(axis=0), f.std(axis=0)
    rows = (rmean < s.level) & (rstd < s.flat)
    cols = (cmean < s.level) & (cstd < s.flat)
    inner = f[~rows][:, ~cols]
    return rows, cols, float(inner.mean()) if inner.size else float(f.mean())


class ShotExtent:
    """What showed content over the probes of one shot (rows/columns that were ever not bar)."""

    def __init__(self):
        self.rows = None
        self.cols = None
        self.probes = 0
        self.luma = 0.0

    def add(self, small: np.ndarray, s: BarSettings) -> None:
        """One probe, as ``small_gray`` made it."""
        rows, cols, luma = profile(small, s)
        if self.rows is None or self.rows.shape != rows.shape or self.cols.shape != cols.shape:
            self.rows, self.cols = ~rows, ~cols
        else:
            self.rows |= ~rows
            self.cols |= ~cols
        self.probes += 1
        self.luma += luma

    def to_dict(self) -> dict | None:
        """Bars as shares of each side (top, bottom, left, right) and the mean luma; None without probes."""
        if not self.probes:
            return None

        def run(mask) -> tuple[float, float]:
            idx = np.flatnonzero(mask)
            if idx.size == 0:
                return 0.5, 0.5
            return float(idx[0]) / mask.size, float(mask.size - 1 - idx[-1]) / mask.size

        top, bottom = run(self.rows)
        left, right = run(self.cols)
        return {"bars": [round(top, 4), round(bottom, 4), round(left, 4), round(right, 4)],
                "luma": round(self.luma / self.probes, 2), "probes": self.probes}


def merge(parts: list[dict]) -> dict | None:
    """One shot seen by several workers: the least bar on each side (content anywhere wins)."""
    parts = [p for p in parts if p]
    if not parts:
        return None
    n = sum(p["probes"] for p in parts)
    return {"bars": [min(p["bars"][i] for p in parts) for i in range(4)],
            "luma": round(sum(p["luma"] * p["probes"] for p in parts) / n, 2), "probes": n}


def _pair(a: float, b: float, s: BarSettings) -> tuple[float, float]:
    """Opposite bars as made: both present, about equal, not the whole picture; else none."""
    if a < s.min_bar or b < s.min_bar or a > s.max_bar or b > s.max_bar or abs(a - b) > s.symmetry:
        return 0.0, 0.0
    return a, b


def bars_of(ext: dict | None, s: BarSettings) -> tuple[float, float, float, float]:
    if not ext:
        return (0.0, 0.0, 0.0, 0.0)
    t, b, le, r = ext["bars"]
    t, b = _pair(t, b, s)
    le, r = _pair(le, r, s)
    return (t, b, le, r)


def decide(extents: list[dict | None], s: BarSettings) -> list[tuple[float, float, float, float]]:
    """Bars per shot (shares of each side). Shots too dark to judge take the bars most bright shots
    have (the film's consensus); with no bright shot at all, none."""
    own = [bars_of(e, s) for e in extents]
    bright = [b for b, e in zip(own, extents) if e and e["luma"] >= s.dark_shot]
    consensus = Counter(tuple(round(v, 2) for v in b) for b in bright).most_common(1)
    film = None
    if consensus:
        key = consensus[0][0]
        film = next(b for b in bright if tuple(round(v, 2) for v in b) == key)
    out = []
    for b, e in zip(own, extents):
        if e is None or e["luma"] < s.dark_shot:
            out.append(film or (0.0, 0.0, 0.0, 0.0))
        else:
            out.append(b)
    return out


def active_box(bars: tuple, width: int, height: int, s: BarSettings) -> Box:
    """The active picture in frame pixels (integers), inside the bars with a small margin."""
    t, b, le, r = bars
    step = max(1.0, max(width, height) / WIDTH)                  # one profiled row/column in frame pixels
    mx = int(np.ceil(max(s.margin * width, step))) if (le or r) else 0
    my = int(np.ceil(max(s.margin * height, step))) if (t or b) else 0
    x0 = int(np.ceil(le * width)) + mx
    y0 = int(np.ceil(t * height)) + my
    x1 = width - int(np.ceil(r * width)) - mx
    y1 = height - int(np.ceil(b * height)) - my
    if x1 - x0 < width // 2 or y1 - y0 < height // 2:
        return Box(0, 0, width, height)
    return Box(x0, y0, x1 - x0, y1 - y0)


def gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
