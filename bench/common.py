"""Shared bits of the benchmarks: frames from a video, timing, memory."""
from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))


VIDEO_EXT = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def input_frames(inputs: list[str], per_video: int) -> list[np.ndarray]:
    import cv2
    from autoposter.pipeline import candidate_frames

    frames = []
    for inp in inputs:
        p = Path(inp)
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.suffix.lower() in VIDEO_EXT:
                got = []
                for _, image in candidate_frames(f)[0]:
                    got.append(image)
                    if len(got) >= per_video:
                        break
                frames += got
            elif f.suffix.lower() in IMAGE_EXT:
                img = cv2.imread(str(f))
                if img is not None:
                    frames.append(img)
    if not frames:
        raise SystemExit(f"no video or image frames found in {inputs}")
    return frames


def ms(fn, *a, **kw):
    """(result, milliseconds) of one call."""
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, (time.perf_counter() - t0) * 1000


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p95(xs):
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def peak_rss_mb() -> float:
    """Peak resident memory of this process. VmHWM, not ru_maxrss: ru_maxrss survives exec,
    so a child started from a big parent would report the parent's peak."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def resize_to_height(img, height: int):
    import cv2
    h, w = img.shape[:2]
    return cv2.resize(img, (round(w * height / h), height), interpolation=cv2.INTER_CUBIC)


def at_res(img: np.ndarray, height: int) -> np.ndarray:
    """Scale to ``height`` and pad/crop to 16:9 so every resolution is the standard frame size."""
    width = round(height * 16 / 9)
    r = resize_to_height(img, height)
    if r.shape[1] >= width:
        x = (r.shape[1] - width) // 2
        return np.ascontiguousarray(r[:, x:x + width])
    pad = np.zeros((height, width, 3), np.uint8)
    x = (width - r.shape[1]) // 2
    pad[:, x:x + r.shape[1]] = r
    return pad
