"""M2: faces with the MTCNN cascade (P-Net, R-Net, O-Net) run by onnxruntime.

The cascade logic follows facenet-pytorch 2.6.0's ``detect_face`` (MIT), ported to
numpy/OpenCV so no torch is needed at run time. The three networks are reached
through a small runner interface, so the conversion script can run the very same
cascade with the PyTorch networks and compare (the parity test).

Detection runs on a copy of the frame whose longer side is at most
``max_side`` pixels; boxes and landmarks are mapped back to frame pixels. A 1080p
frame then costs the pyramid of a 640 px image.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from . import models
from .geometry import Box
from .images import downscale


@dataclass(frozen=True)
class Face:
    """One detected face: box and five landmarks (eyes, nose, mouth corners) in frame pixels."""

    box: Box
    confidence: float
    landmarks: tuple = field(default_factory=tuple)  # ((x, y), ...) x5

    def to_dict(self) -> dict:
        return {"box": self.box.to_list(), "confidence": round(float(self.confidence), 4),
                "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks]}

    @classmethod
    def from_dict(cls, d: dict) -> "Face":
        return cls(Box.from_list(d["box"]), float(d["confidence"]),
                   tuple((float(x), float(y)) for x, y in d.get("landmarks", [])))


class OnnxNets:
    """The three MTCNN stages as onnxruntime sessions."""

    def __init__(self, threads: int | None = None):
        self._p = models.session("pnet", threads)
        self._r = models.session("rnet", threads)
        self._o = models.session("onet", threads)

    def pnet(self, x: np.ndarray):
        reg, prob = self._p.run(None, {"input": x})
        return reg, prob

    def rnet(self, x: np.ndarray):
        reg, prob = self._r.run(None, {"input": x})
        return reg, prob

    def onet(self, x: np.ndarray):
        reg, lmk, prob = self._o.run(None, {"input": x})
        return reg, lmk, prob


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression; ``method='min'`` divides by the smaller area."""
    if len(boxes) == 0:
        return np.zeros((0,), dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        if method == "min":
            denom = np.minimum(area[i], area[rest])
        else:
            denom = area[i] + area[rest] - inter
        overlap = np.where(denom > 0, inter / np.maximum(denom, 1e-9), 0.0)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    interp = cv2.INTER_AREA if (w < img.shape[1] or h < img.shape[0]) else cv2.INTER_LINEAR
    return cv2.resize(img, (w, h), interpolation=interp)


def _normalise(batch: np.ndarray) -> np.ndarray:
    """HWC uint8/float RGB batch -> NCHW float32 in [-1, 1] (MTCNN's convention)."""
    return ((batch.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 3, 1, 2).copy()


def _square(b: np.ndarray) -> np.ndarray:
    """``rerec``: grow each box to a square about its centre."""
    b = b.copy()
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    side = np.maximum(w, h)
    b[:, 0] = b[:, 0] + w * 0.5 - side * 0.5
    b[:, 1] = b[:, 1] + h * 0.5 - side * 0.5
    b[:, 2] = b[:, 0] + side
    b[:, 3] = b[:, 1] + side
    return b


def _regress(b: np.ndarray, reg: np.ndarray) -> np.ndarray:
    b = b.copy()
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    b[:, 0] += reg[:, 0] * w
    b[:, 1] += reg[:, 1] * h
    b[:, 2] += reg[:, 2] * w
    b[:, 3] += reg[:, 3] * h
    return b


def _crops(img: np.ndarray, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut each box (clipped to the image, as facenet-pytorch's ``pad``) and resize to size²."""
    h, w = img.shape[:2]
    out, ok = [], []
    for k, b in enumerate(np.trunc(boxes[:, :4]).astype(np.int64)):
        x, y, ex, ey = max(1, b[0]), max(1, b[1]), min(w, b[2]), min(h, b[3])
        if ey > y - 1 and ex > x - 1 and ex - (x - 1) > 0 and ey - (y - 1) > 0:
            out.append(_resize(img[y - 1:ey, x - 1:ex], size, size))
            ok.append(k)
    if not out:
        return np.zeros((0, size, size, 3), np.float32), np.zeros((0,), np.int64)
    return np.stack(out), np.asarray(ok, dtype=np.int64)


def _batched(fn, x: np.ndarray, batch: int = 256):
    outs = [fn(x[i:i + batch]) for i in range(0, len(x), batch)]
    return tuple(np.concatenate(parts, axis=0) for parts in zip(*outs))


def mtcnn(img_rgb: np.ndarray, nets, min_size: float = 20.0,
          thresholds: tuple = (0.6, 0.7, 0.7), factor: float = 0.709):
    """Run the cascade on one RGB image. Returns ``(boxes[n,5] x1,y1,x2,y2,score, points[n,5,2])``."""
    img = img_rgb.astype(np.float32)
    h, w = img.shape[:2]
    empty = (np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32))
    m = 12.0 / min_size
    minl = min(h, w) * m
    scales, s = [], m
    while minl >= 12:
        scales.append(s)
        s *= factor
        minl *= factor

    # Stage 1: P-Net over the pyramid.
    found = []
    for scale in scales:
        hs, ws = int(h * scale + 1), int(w * scale + 1)
        reg, prob = nets.pnet(_normalise(_resize(img, ws, hs)[None]))
        p = prob[0, 1]
        rows, cols = np.nonzero(p >= thresholds[0])
        if rows.size == 0:
            continue
        bb = np.stack([cols, rows], axis=1).astype(np.float32)
        q1 = np.floor((2 * bb + 1) / scale)
        q2 = np.floor((2 * bb + 12) / scale)
        r = reg[0][:, rows, cols].T
        cand = np.concatenate([q1, q2, p[rows, cols][:, None], r], axis=1)
        found.append(cand[nms(cand[:, :4], cand[:, 4], 0.5)])
    if not found:
        return empty
    boxes = np.concatenate(found, axis=0)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = np.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                      boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh,
                      boxes[:, 4]], axis=1)
    boxes = _square(boxes)

    # Stage 2: R-Net refines.
    data, ok = _crops(img, boxes, 24)
    if len(ok) == 0:
        return empty
    boxes = boxes[ok]
    reg, prob = _batched(nets.rnet, _normalise(data))
    score = prob[:, 1]
    keep = score > thresholds[1]
    boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
    reg = reg[keep]
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes = _square(_regress(boxes[pick], reg[pick]))
    if len(boxes) == 0:
        return empty

    # Stage 3: O-Net gives final boxes and landmarks.
    data, ok = _crops(img, boxes, 48)
    if len(ok) == 0:
        return empty
    boxes = boxes[ok]
    reg, lmk, prob = _batched(nets.onet, _normalise(data))
    score = prob[:, 1]
    keep = score > thresholds[2]
    boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
    reg, lmk = reg[keep], lmk[keep]
    wi = boxes[:, 2] - boxes[:, 0] + 1
    hi = boxes[:, 3] - boxes[:, 1] + 1
    px = wi[:, None] * lmk[:, :5] + boxes[:, 0:1] - 1
    py = hi[:, None] * lmk[:, 5:10] + boxes[:, 1:2] - 1
    points = np.stack([px, py], axis=2)
    boxes = _regress(boxes, reg)
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7, "min")
    return boxes[pick].astype(np.float32), points[pick].astype(np.float32)


@dataclass(frozen=True)
class FaceSettings:
    """Detector knobs (defaults documented in README's settings table)."""

    max_side: int = 640           # detect on a copy no larger than this
    min_face: float = 20.0        # px, at detection scale
    thresholds: tuple = (0.6, 0.7, 0.7)
    factor: float = 0.709
    min_confidence: float = 0.90  # faces below this are ignored


class FaceDetector:
    """Detect faces in BGR frames of any size."""

    def __init__(self, settings: FaceSettings | None = None, nets=None, threads: int | None = None):
        self.settings = settings or FaceSettings()
        self.nets = nets or OnnxNets(threads)

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        s = self.settings
        h, w = frame_bgr.shape[:2]
        if min(h, w) < 12:
            return []
        scale = min(1.0, s.max_side / float(max(h, w)))
        small = downscale(frame_bgr, s.max_side)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        boxes, points = mtcnn(rgb, self.nets, s.min_face, s.thresholds, s.factor)
        faces = []
        inv = 1.0 / scale
        for b, p in zip(boxes, points):
            if b[4] < s.min_confidence:
                continue
            box = Box.from_xyxy(*(float(v) * inv for v in b[:4])).clip(w, h)
            if box is None or box.w < 2 or box.h < 2:
                continue
            faces.append(Face(box, float(b[4]), tuple((float(x) * inv, float(y) * inv) for x, y in p)))
        faces.sort(key=lambda f: -f.box.area)
        return faces
