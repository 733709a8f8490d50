"""A 10-minute 1080p video from the real photographs in examples/photos/, for the cost benchmark.

Shots of 4–12 s (seeded, so every run makes the same file) with slow camera moves over the
same public-domain / CC0 photos as the sample video, hard cuts between them and an
occasional fade through black. Written to build/ (about 300 MB; not committed):

    python examples/make_long_video.py [--out build/long_1080p.mp4] [--minutes 10]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
W, H, FPS = 1920, 1080, 24
PHOTOS = ("astronaut", "grace_hopper", "camera", "coffee", "chelsea", "rocket")


def staged(img: np.ndarray, where: float) -> np.ndarray:
    """The photo fitted to the frame's height at horizontal position ``where``, over a blurred fill."""
    bg = cv2.GaussianBlur(cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA), (0, 0), 40) // 2 + 30
    w = int(img.shape[1] * H / img.shape[0])
    fg = cv2.resize(img, (w, H), interpolation=cv2.INTER_CUBIC)
    x = int((W - w) * where)
    x0, x1 = max(0, x), min(W, x + w)
    bg[:, x0:x1] = fg[:, x0 - x:x1 - x]
    return bg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE.parent / "build" / "long_1080p.mp4"))
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    photos = {n: cv2.imread(str(HERE / "photos" / f"{n}.jpg")) for n in PHOTOS}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    vw = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    if not vw.isOpened():
        raise SystemExit("cannot open the mp4v writer")
    total, written = int(args.minutes * 60 * FPS), 0
    while written < total:
        canvas = staged(photos[PHOTOS[int(rng.integers(len(PHOTOS)))]], float(rng.uniform(0.15, 0.85)))
        n = min(total - written, int(rng.uniform(4, 12) * FPS))
        z0, z1 = rng.uniform(1.0, 1.2, 2)
        (px0, py0), (px1, py1) = rng.uniform(0.42, 0.58, (2, 2))
        fade = rng.random() < 0.15
        for i in range(n):
            t = i / max(1, n - 1)
            z, cx, cy = z0 + (z1 - z0) * t, (px0 + (px1 - px0) * t) * W, (py0 + (py1 - py0) * t) * H
            m = np.float32([[z, 0, W / 2 - z * cx], [0, z, H / 2 - z * cy]])
            frame = cv2.warpAffine(canvas, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            if fade and i > n - FPS:
                frame = (frame * ((n - i) / FPS)).astype(np.uint8)
            vw.write(frame)
        written += n
    vw.release()
    print(f"wrote {args.out} ({written / FPS / 60:.1f} min, {W}x{H}, {FPS} fps)")


if __name__ == "__main__":
    main()
