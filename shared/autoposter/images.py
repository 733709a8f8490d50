"""Small image helpers shared by decoding, detection and scoring."""
from __future__ import annotations

import cv2
import numpy as np


def downscale(img: np.ndarray, max_side: int) -> np.ndarray:
    """A copy no larger than ``max_side`` (INTER_AREA), or ``img`` itself when it already is."""
    h, w = img.shape[:2]
    if max(h, w) <= max_side:
        return img
    k = max_side / max(h, w)
    return cv2.resize(img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)


class Pyramid:
    """A frame and its halvings (2×2 area averages, OpenCV's fast path), made when first asked for.

    Level n pixel (i, j) averages frame pixels 2ⁿi … 2ⁿ(i+1) − 1: frame point p is level-n point
    (p + ½) / 2ⁿ − ½. The person detector's letterbox and every ROI of one frame share it; ``shrink``
    reads from it too.
    """

    def __init__(self, image: np.ndarray):
        self.levels = [image]

    def level(self, n: int) -> tuple[np.ndarray, int]:
        """Level ``n`` (or the deepest one with sides ≥ 2) and its number."""
        while len(self.levels) <= n and min(self.levels[-1].shape[:2]) >= 4:
            img = self.levels[-1]
            h, w = img.shape[:2]
            self.levels.append(cv2.resize(img[: h - h % 2, : w - w % 2], (w // 2, h // 2),
                                          interpolation=cv2.INTER_AREA))
        n = min(n, len(self.levels) - 1)
        return self.levels[n], n

    def for_shrink(self, factor: float, limit: float) -> tuple[np.ndarray, int]:
        """The level from which a step shrinks by ``factor`` / 2ⁿ < ``limit``."""
        n = 0
        while factor / 2 ** n >= limit:
            n += 1
        return self.level(n)


def shrink(img: np.ndarray, width: int) -> np.ndarray:
    """``img`` at most ``width`` px wide, aspect kept: the ``Pyramid`` level that leaves a ratio of 2 or
    more, then one INTER_AREA step. OpenCV's fast path is the ratio 2 (a 1080p frame to 480 px: 0.6 ms,
    not 2.2 in one step). For the extraction's probes (thumbnails, histograms, bar profiles), not for
    measures of sharpness: unless the ratio is a power of 2, the halvings blur a little more than one
    step does (a crop measured at 512 px through a halving loses 0.02–0.07 of sharpness, depending on
    its size), which is why ``downscale`` stays a single step."""
    w = img.shape[1]
    if w <= width:
        return img
    img, _ = Pyramid(img).for_shrink(w / width, 4.0)      # halvings while the ratio stays ≥ 2
    h, w = img.shape[:2]
    if w == width:
        return img
    return cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
