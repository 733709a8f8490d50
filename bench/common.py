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


def sample_frames(video: str, limit: int = 12):
    from autoposter.frames import FrameSampler
    frames = []
    for f in FrameSampler(video):
        frames.append(f.image)
        if len(frames) >= limit:
            break
    return frames


def timed(fn, *args, repeat: int = 1):
    """(result, milliseconds) of the fastest of ``repeat`` calls."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, (time.perf_counter() - t0) * 1000)
    return out, best


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
