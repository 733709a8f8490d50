"""Build examples/sample.mp4 from the public-domain / CC0 photos in examples/photos/.

Shots with slow camera moves (pan and zoom), hard cuts, a fade through black and
a grey slate, so every part of frame sampling (M1) has something to do. Faces sit
left, right, centred and in a pair. Sources and licences: photos/SOURCES.md.

    python examples/make_sample_video.py [--out examples/sample.mp4]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
W, H, FPS = 854, 480, 15


def photo(name: str) -> np.ndarray:
    return cv2.imread(str(HERE / "photos" / f"{name}.jpg"))


def stage(img: np.ndarray, where: float, scale: float = 1.0) -> np.ndarray:
    """A W×H frame: blurred fill behind the photo, photo fitted to the height at horizontal ``where``."""
    bg = cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)
    bg = cv2.GaussianBlur(bg, (0, 0), 25) // 2 + 30
    h = int(H * scale)
    w = int(img.shape[1] * h / img.shape[0])
    fg = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    x = int((W - w) * where)
    y = (H - h) // 2
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + w), min(H, y + h)
    bg[y0:y1, x0:x1] = fg[y0 - y:y1 - y, x0 - x:x1 - x]
    return bg


def pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    h = H
    ra = cv2.resize(a, (int(a.shape[1] * h / a.shape[0]), h))
    rb = cv2.resize(b, (int(b.shape[1] * h / b.shape[0]), h))
    both = np.hstack([ra, rb])
    return stage(both, 0.5)


def move(canvas: np.ndarray, t: float, zoom: tuple, pan: tuple) -> np.ndarray:
    """Camera move: zoom from zoom[0] to zoom[1], pan centre from pan[0] to pan[1] (fractions)."""
    z = zoom[0] + (zoom[1] - zoom[0]) * t
    cx = (pan[0][0] + (pan[1][0] - pan[0][0]) * t) * W
    cy = (pan[0][1] + (pan[1][1] - pan[0][1]) * t) * H
    m = np.float32([[z, 0, W / 2 - z * cx], [0, z, H / 2 - z * cy]])
    return cv2.warpAffine(canvas, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def shots():
    ast, hop, cam = photo("astronaut"), photo("grace_hopper"), photo("camera")
    coffee, cat, rocket = photo("coffee"), photo("chelsea"), photo("rocket")
    return [
        (stage(ast, 0.2), 3.5, (1.0, 1.15), ((0.5, 0.5), (0.45, 0.45))),
        ("fade", 0.6, None, None),
        (pair(hop, ast), 3.5, (1.05, 1.0), ((0.45, 0.5), (0.55, 0.5))),
        (stage(coffee, 0.5, 1.0), 2.5, (1.0, 1.1), ((0.5, 0.5), (0.5, 0.5))),
        (stage(cam, 0.75), 3.0, (1.2, 1.0), ((0.6, 0.45), (0.55, 0.5))),
        ("grey", 0.5, None, None),
        (stage(cat, 0.5), 2.5, (1.0, 1.1), ((0.5, 0.5), (0.52, 0.5))),
        (stage(hop, 0.8), 3.0, (1.0, 1.12), ((0.55, 0.5), (0.6, 0.45))),
        (stage(rocket, 0.5), 2.0, (1.0, 1.05), ((0.5, 0.5), (0.5, 0.5))),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "sample.mp4"))
    args = ap.parse_args()
    vw = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    if not vw.isOpened():
        raise SystemExit("cannot open the mp4v writer")
    prev = np.zeros((H, W, 3), np.uint8)
    for canvas, seconds, zoom, pan in shots():
        n = int(seconds * FPS)
        for i in range(n):
            if isinstance(canvas, str):
                frame = np.full((H, W, 3), 128, np.uint8) if canvas == "grey" else \
                    (prev.astype(np.float32) * (1 - (i + 1) / n)).astype(np.uint8)
            else:
                frame = move(canvas, i / max(1, n - 1), zoom, pan)
            vw.write(frame)
        prev = frame
    vw.release()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
