"""Shared bits of the benchmarks: frames from a video, timing, memory."""
from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def resize_to_height(img, height: int):
    import cv2
    h, w = img.shape[:2]
    return cv2.resize(img, (round(w * height / h), height), interpolation=cv2.INTER_CUBIC)
