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


def stage(img: np.ndarray, where: float, scale: float = 1.0, geometry: bool = False):
    """A W×H frame: blurred fill behind the photo, photo fitted to the height at horizontal ``where``.

    With ``geometry`` also return (k, x, y): photo pixel p lands at p·k + (x, y).
    """
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
    return (bg, (w / img.shape[1], x, y)) if geometry else bg


def pair(a: np.ndarray, b: np.ndarray, geometry: bool = False):
    h = H
    ra = cv2.resize(a, (int(a.shape[1] * h / a.shape[0]), h))
    rb = cv2.resize(b, (int(b.shape[1] * h / b.shape[0]), h))
    both = np.hstack([ra, rb])
    canvas, (k, x, y) = stage(both, 0.5, geometry=True)
    if not geometry:
        return canvas
    return canvas, [(ra.shape[1] / a.shape[1] * k, x, y), (rb.shape[1] / b.shape[1] * k, x + ra.shape[1] * k, y)]


def move(canvas: np.ndarray, t: float, zoom: tuple, pan: tuple) -> np.ndarray:
    """Camera move: zoom from zoom[0] to zoom[1], pan centre from pan[0] to pan[1] (fractions)."""
    m = camera_matrix(t, zoom, pan)
    return cv2.warpAffine(canvas, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def shots(geometry: bool = False):
    """The shot list; with ``geometry`` each shot also lists (photo, (k, x, y)) placements."""
    ast, hop, cam = photo("astronaut"), photo("grace_hopper"), photo("camera")
    coffee, cat, rocket = photo("coffee"), photo("chelsea"), photo("rocket")

    def one(name, img, where, scale=1.0):
        canvas, g = stage(img, where, scale, geometry=True)
        return canvas, [(name, g)]

    duo, (ga, gb) = pair(hop, ast, geometry=True)
    out = [
        (*one("astronaut", ast, 0.2), 3.5, (1.0, 1.15), ((0.5, 0.5), (0.45, 0.45))),
        ("fade", [], 0.6, None, None),
        (duo, [("grace_hopper", ga), ("astronaut", gb)], 3.5, (1.05, 1.0), ((0.45, 0.5), (0.55, 0.5))),
        (*one("coffee", coffee, 0.5, 1.0), 2.5, (1.0, 1.1), ((0.5, 0.5), (0.5, 0.5))),
        (*one("camera", cam, 0.75), 3.0, (1.2, 1.0), ((0.6, 0.45), (0.55, 0.5))),
        ("grey", [], 0.5, None, None),
        (*one("chelsea", cat, 0.5), 2.5, (1.0, 1.1), ((0.5, 0.5), (0.52, 0.5))),
        (*one("grace_hopper", hop, 0.8), 3.0, (1.0, 1.12), ((0.55, 0.5), (0.6, 0.45))),
        (*one("rocket", rocket, 0.5), 2.0, (1.0, 1.05), ((0.5, 0.5), (0.5, 0.5))),
    ]
    return out if geometry else [(c, s, z, p) for c, _, s, z, p in out]


def camera_matrix(t: float, zoom: tuple, pan: tuple) -> np.ndarray:
    z = zoom[0] + (zoom[1] - zoom[0]) * t
    cx = (pan[0][0] + (pan[1][0] - pan[0][0]) * t) * W
    cy = (pan[0][1] + (pan[1][1] - pan[0][1]) * t) * H
    return np.float32([[z, 0, W / 2 - z * cx], [0, z, H / 2 - z * cy]])


def face_track(labels: dict) -> dict:
    """Ground truth: frame index -> face boxes [x, y, w, h] in video pixels, from boxes on the photos."""
    track, index = {}, 0
    for canvas, placed, seconds, zoom, pan in shots(geometry=True):
        n = int(seconds * FPS)
        for i in range(n):
            boxes = []
            if not isinstance(canvas, str):
                m = camera_matrix(i / max(1, n - 1), zoom, pan)
                for name, (k, x, y) in placed:
                    for bx, by, bw, bh in labels.get(name, []):
                        x1, y1 = m[0, 0] * (bx * k + x) + m[0, 2], m[1, 1] * (by * k + y) + m[1, 2]
                        boxes.append([x1, y1, bw * k * m[0, 0], bh * k * m[1, 1]])
            track[index] = boxes
            index += 1
    return track


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
