"""The crops people use today, run on the same frames: a plain centre crop, OpenCV's face detector
with a centre-of-faces crop (what thumbor's smart crop does), and smartcrop.py (smartcrop.js's port)."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from autoposter.cropping import crop_window
from autoposter.geometry import Box


def centre_crop(img: np.ndarray, aspect: float, out_size=None) -> Box:
    h, w = img.shape[:2]
    return crop_window(w, h, aspect, (w / 2, h / 2))


class OpenCVFaces:
    """Haar cascade (OpenCV's bundled frontal-face model), crop centred on the faces' bounding box.

    Detection runs on a copy at most 640 px wide, the size autoposter's MTCNN works on.
    """

    def __init__(self, max_side: int = 640):
        self.max_side = max_side
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def faces(self, img: np.ndarray) -> list[Box]:
        h, w = img.shape[:2]
        k = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(img, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else img
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        found = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(20, 20))
        return [Box(x / k, y / k, bw / k, bh / k) for x, y, bw, bh in (found if len(found) else [])]

    def __call__(self, img: np.ndarray, aspect: float, out_size=None) -> Box:
        h, w = img.shape[:2]
        faces = self.faces(img)
        if not faces:
            return crop_window(w, h, aspect, (w / 2, h / 2))
        union = faces[0]
        for f in faces[1:]:
            union = union.union(f)
        return crop_window(w, h, aspect, union.center)


class SmartCropPy:
    """smartcrop.py: the best full-size window (min_scale = max_scale = 1) for the output size."""

    def __init__(self):
        import smartcrop
        self.sc = smartcrop.SmartCrop()

    def __call__(self, img: np.ndarray, aspect: float, out_size=(1080, 1080)) -> Box:
        pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        ow, oh = out_size
        r = self.sc.crop(pil, ow, oh, min_scale=1.0, max_scale=1.0, num_scale_steps=1)["top_crop"]
        return Box(r["x"], r["y"], r["width"], r["height"])
