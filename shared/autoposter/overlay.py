"""Debug pictures: what the method saw and decided, so people can trust or tune it.

Left panel, the source frame: saliency heat (tinted), face boxes and landmarks
(green), people's bodies (blue), the merged face group (yellow), the salient region
(magenta), the crop window (cyan; a fit window is shown whole, the frame padded grey
around it). Right panel, the poster: each free layer's placement region
(blue), the candidates tried (grey), the merged face/salient region (red
outline) and the chosen spot (thick orange); fixed layers in white.
"""
from __future__ import annotations

import cv2
import numpy as np

from .saliency import saliency_map

GREEN, YELLOW, MAGENTA, CYAN = (80, 220, 80), (0, 230, 255), (255, 0, 255), (255, 255, 0)
BLUE, GREY, RED, ORANGE, WHITE = (255, 120, 0), (150, 150, 150), (40, 40, 255), (0, 140, 255), (255, 255, 255)


def _rect(img, b, colour, t=2):
    if b is None:
        return
    cv2.rectangle(img, (int(b.x), int(b.y)), (int(b.x2), int(b.y2)), colour, t, cv2.LINE_AA)


def _label(img, text, org, colour):
    """Labels are drawn on the panels after they are scaled to the overlay's height."""
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, 1, cv2.LINE_AA)


def debug_overlay(frame, fr, cand, poster, placements, mapped, settings, height: int = 720) -> np.ndarray:
    src = frame.copy()
    sal = saliency_map(frame, settings.saliency).full(frame.shape[1], frame.shape[0])
    heat = cv2.applyColorMap((sal * 255).astype(np.uint8), cv2.COLORMAP_JET)
    src = cv2.addWeighted(src, 0.65, heat, 0.35, 0)
    t = max(2, frame.shape[1] // 400)
    for f in fr.faces:
        _rect(src, f.box, GREEN, t)
        for x, y in f.landmarks:
            cv2.circle(src, (int(x), int(y)), t + 1, GREEN, -1, cv2.LINE_AA)
    for b in cand.bodies:
        _rect(src, b, BLUE, max(1, t // 2))
    _rect(src, cand.group, YELLOW, t)
    _rect(src, fr.salient, MAGENTA, t)
    crop = cand.crop
    if cand.mode == "fit":                       # the window reaches past the picture: show all of it
        H, W = src.shape[:2]
        l, tp = max(0, int(-crop.x) + t * 2), max(0, int(-crop.y) + t * 2)
        r, b = max(0, int(crop.x2 - W) + t * 2), max(0, int(crop.y2 - H) + t * 2)
        src = cv2.copyMakeBorder(src, tp, b, l, r, cv2.BORDER_CONSTANT, value=(60, 60, 60))
        crop = crop.shift(l, tp)
    _rect(src, crop, CYAN, t * 2)
    mode = f" fit {cand.backdrop:.0%} backdrop" if cand.mode == "fit" else ""
    src_labels = [(f"t={cand.frame_time:.1f}s {cand.scenario} total={cand.total:.2f}{mode}", (10, 24), WHITE)]
    for i, (name, colour) in enumerate((("faces", GREEN), ("bodies", BLUE), ("group", YELLOW), ("salient", MAGENTA),
                                        ("crop", CYAN))):
        src_labels.append((name, (10 + 85 * i, 48), colour))

    dst = poster.copy()
    dst_labels = []
    pt = max(2, poster.shape[1] // 300)
    for b in mapped["faces"]:
        _rect(dst, b, GREEN, pt)
    for p in placements:
        if p.kind == "free":
            for c in p.candidates[:: max(1, len(p.candidates) // 150)]:
                _rect(dst, c, GREY, 1)
            for m in p.merged:
                _rect(dst, m, RED, pt)
            _rect(dst, p.region, BLUE, pt)
            _rect(dst, p.box, ORANGE, pt * 2)
            dst_labels.append((f"{p.name}: overlap={p.overlap:.0f}px var={p.variance:.0f}",
                               (p.box.x, p.box.y, p.box.y2), ORANGE))
        else:
            _rect(dst, p.box, WHITE, pt)

    def fit(img):
        k = height / img.shape[0]
        return cv2.resize(img, (max(1, round(img.shape[1] * k)), height), interpolation=cv2.INTER_AREA), k

    left, _ = fit(src)
    right, k = fit(dst)
    for text, org, colour in src_labels:
        _label(left, text, org, colour)
    for text, (x, y1, y2), colour in dst_labels:
        y = y1 * k - 8 if y1 * k > 24 else y2 * k + 20
        _label(right, text, (int(x * k) + 4, int(y)), colour)
    return np.hstack([left, np.full((height, 8, 3), 40, np.uint8), right])
