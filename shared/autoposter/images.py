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


def shrink(img: np.ndarray, width: int) -> np.ndarray:
    """``img`` at most ``width`` px wide, aspect kept, by exact halvings while the rest of the way is a
    ratio of 2 or more, then one INTER_AREA step: OpenCV's fast path is the ratio 2 (a 1080p frame to
    480 px: 0.6 ms, not 2.2 in one step). For the extraction's probes (thumbnails, histograms, bar
    profiles), not for measures of sharpness: unless the ratio is a power of 2, the halvings blur a
    little more than one step does (a crop measured at 512 px through a halving loses 0.02–0.07 of
    sharpness, depending on its size), which is why ``downscale`` stays a single step."""
    h, w = img.shape[:2]
    if w <= width:
        return img
    while w >= 4 * width and min(w, h) >= 4:
        img = img[:h - h % 2, :w - w % 2]                 # an odd last row or column would leave the fast path
        h, w = h // 2, w // 2
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if w == width:
        return img
    return cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
