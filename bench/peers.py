"""The crops people use today, run on the same frames: a plain centre crop, OpenCV's face detector
with a centre-of-faces crop (what thumbor's smart crop does), and smartcrop.py (smartcrop.js's port)."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from autoposter.cropping import crop_window
from autoposter.geometry import Box

ROOT = Path(__file__).resolve().parents[1]


def centre_crop(img: np.ndarray, aspect: float, out_size=None) -> Box:
    h, w = img.shape[:2]
    return crop_window(w, h, aspect, (w / 2, h / 2))


PEER_ENV = ROOT / "build" / "peer-opencv4"
PEER_REQUIREMENTS = ("opencv-python-headless==4.11.0.86", "numpy>=1.26,<3")


def peer_python() -> Path:
    """A virtual environment with OpenCV 4 for the Haar peer (built once, under build/)."""
    py = PEER_ENV / "bin" / "python"
    if not (PEER_ENV / ".ready").is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_ENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PEER_REQUIREMENTS],
                       check=True)
        (PEER_ENV / ".ready").touch()
    return py


class OpenCVFaces:
    """Haar cascade (OpenCV's bundled frontal-face model), crop centred on the faces' bounding box.

    OpenCV 5 removed the cascade classifier, so the peer runs in its own environment with
    OpenCV 4 (``bench/haar_worker.py``); production stays on OpenCV 5. Detection runs on a copy
    at most 640 px wide, the size autoposter's MTCNN works on. ``last_ms`` is the detection time
    measured inside the worker (the pipe is not charged to the peer).
    """

    def __init__(self, max_side: int = 640):
        self.max_side = max_side
        self.proc = None
        self.last_ms = self.last_wall_ms = 0.0

    def _worker(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([str(peer_python()), str(ROOT / "bench" / "haar_worker.py"),
                                          str(self.max_side)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self.proc

    def faces(self, img: np.ndarray) -> list[Box]:
        p = self._worker()
        t0 = time.perf_counter()
        png = cv2.imencode(".png", img)[1].tobytes()
        p.stdin.write(struct.pack(">Q", len(png)) + png)
        p.stdin.flush()
        answer = json.loads(p.stdout.readline())
        self.last_ms = float(answer["ms"])
        self.last_wall_ms = (time.perf_counter() - t0) * 1000   # detection + pipe and PNG coding
        return [Box(*b) for b in answer["faces"]]

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
