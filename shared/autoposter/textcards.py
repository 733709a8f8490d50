"""Q3: how much of a frame is overlaid text — title cards, credits, end cards.

Text lines are found the classic way: a morphological gradient, Otsu's threshold, a horizontal
closing that joins letters into lines, then the line-shaped boxes whose strokes fill them. A
card is text on a plain ground, so lines count only where the rest of the frame is flat.
The result is the share of the frame under text lines (0 for photographs with a subject).
"""
from __future__ import annotations

import cv2
import numpy as np

WIDTH = 480                     # measured on a copy this wide


def text_cover(frame_bgr: np.ndarray, ground_std: float = 28.0) -> float:
    h, w = frame_bgr.shape[:2]
    if min(h, w) < 16:
        return 0.0
    k = WIDTH / w
    g = cv2.cvtColor(cv2.resize(frame_bgr, (WIDTH, max(8, round(h * k))), interpolation=cv2.INTER_AREA),
                     cv2.COLOR_BGR2GRAY)
    H, W = g.shape
    grad = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    lines = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, W // 40), 1)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    mask = np.zeros_like(g, dtype=bool)
    for x, y, bw_, bh, area in stats[1:]:
        if 4 <= bh <= 0.2 * H and bw_ >= 2.5 * bh and area >= 0.45 * bw_ * bh:
            mask[y:y + bh, x:x + bw_] = True
    share = float(mask.mean())
    if share == 0.0:
        return 0.0
    ground = g[~mask]
    return share if ground.size and float(ground.std()) < ground_std else 0.0
