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
