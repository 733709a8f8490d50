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


def _lines(frame_bgr: np.ndarray):
    """Grey copy WIDTH wide and the mask of text-line-shaped boxes whose strokes fill them."""
    h, w = frame_bgr.shape[:2]
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
    return g, mask


def text_cover(frame_bgr: np.ndarray, ground_std: float = 28.0) -> float:
    """Share of the frame under text lines on a plain ground: a title card, credits (0 for a picture)."""
    if min(frame_bgr.shape[:2]) < 16:
        return 0.0
    g, mask = _lines(frame_bgr)
    share = float(mask.mean())
    if share == 0.0:
        return 0.0
    ground = g[~mask]
    return share if ground.size and float(ground.std()) < ground_std else 0.0


def overlay_cover(frame_bgr: np.ndarray, width: int = 640, stroke: int = 3, contrast: float = 70.0) -> float:
    """Share of the frame under text drawn over the picture — burnt-in subtitles, tickers, captions,
    logos with words: thin strokes (narrower than ``2·stroke+1`` px at ``width``) that stand out from
    what surrounds them by ``contrast`` luma levels, joined into line-shaped runs of lettering density.
    A picture's own fine texture (fur, foliage) scores a little; lettering scores more (the score's
    penalty ramps, ``ScoreSettings.overlay_*``)."""
    h, w = frame_bgr.shape[:2]
    if min(h, w) < 16:
        return 0.0
    k = width / w
    g = cv2.cvtColor(cv2.resize(frame_bgr, (width, max(8, round(h * k))), interpolation=cv2.INTER_AREA),
                     cv2.COLOR_BGR2GRAY)
    H, W = g.shape
    se = cv2.getStructuringElement(cv2.MORPH_RECT, (stroke * 2 + 1, stroke * 2 + 1))
    strokes = ((cv2.morphologyEx(g, cv2.MORPH_TOPHAT, se) > contrast) |
               (cv2.morphologyEx(g, cv2.MORPH_BLACKHAT, se) > contrast)).astype(np.uint8)
    joined = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(5, W // 60), 1)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    mask = np.zeros((H, W), bool)
    for x, y, bw, bh, _ in stats[1:]:
        if 6 <= bh <= 0.12 * H and bw >= 3 * bh and bw >= W // 12 and 0.15 <= strokes[y:y + bh, x:x + bw].mean() <= 0.75:
            mask[y:y + bh, x:x + bw] = True
    return float(mask.mean())
