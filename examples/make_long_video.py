"""A 10-minute 1080p video from the real photographs in examples/photos/, for the cost benchmark.

Shots of 4–12 s (seeded, so every run makes the same file) with slow camera moves over the
same public-domain / CC0 photos as the sample video, hard cuts between them and an
occasional fade through black. Written to build/ (about 300 MB; not committed):

    python examples/make_long_video.py [--out build/long_1080p.mp4] [--minutes 10]
    python examples/make_long_video.py --codec h264 --out build/long_1080p_h264.mp4

``--codec mp4v`` (the default; OpenCV's writer, MPEG-4 Part 2, no B-frames, ~4.6 Mbit/s) is the file
the cost benchmark has always used. ``--codec h264`` writes the same pictures as what is uploaded
in practice: H.264 High with B-frames at ``--bitrate`` Mbit/s (8), through PyAV (a dev dependency,
``examples/make_films.encode``); it costs about three times as much to decode.
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
    ap.add_argument("--codec", choices=("mp4v", "h264"), default="mp4v")
    ap.add_argument("--bitrate", type=float, default=8.0, help="Mbit/s (h264 only)")
    args = ap.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    total = int(args.minutes * 60 * FPS)
    if args.codec == "h264":
        import sys
        sys.path.insert(0, str(HERE))
        from make_films import encode
        encode(args.out, frames(total), fps=FPS, bitrate=int(args.bitrate * 1e6), gop=48)
    else:
        vw = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
        if not vw.isOpened():
            raise SystemExit("cannot open the mp4v writer")
        for frame in frames(total):
            vw.write(frame)
        vw.release()
    print(f"wrote {args.out} ({total / FPS / 60:.1f} min, {W}x{H}, {FPS} fps, {args.codec})")


def frames(total: int):
    """The film's frames, the same for every codec (seeded)."""
    rng = np.random.default_rng(2026)
    photos = {n: cv2.imread(str(HERE / "photos" / f"{n}.jpg")) for n in PHOTOS}
    written = 0
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
            yield frame
        written += n


if __name__ == "__main__":
    main()
