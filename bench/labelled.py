"""The labelled frames for crop and layout quality: real photographs with hand-boxed faces
(bench/faces.json), composited into frames of several sizes and aspect ratios with the faces
in varied places, plus the sample video's candidate frames with their faces carried through
the video's own camera moves (examples/make_sample_video.py's geometry)."""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from autoposter.geometry import Box

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "examples" / "photos"
SIZES = [(1280, 720), (1920, 1080), (1080, 1920), (1080, 1080), (800, 1000), (2560, 1080)]
FACE_PHOTOS = ("astronaut", "grace_hopper", "camera")
BACKGROUNDS = ("coffee", "chelsea", "rocket")


@dataclass
class Labelled:
    name: str
    image: np.ndarray
    faces: list          # ground-truth boxes, frame pixels


def labels() -> dict:
    doc = json.loads((Path(__file__).with_name("faces.json")).read_text())
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def composites(n: int = 36, seed: int = 7) -> list[Labelled]:
    rng = np.random.default_rng(seed)
    lab = labels()
    photos = {k: cv2.imread(str(PHOTOS / f"{k}.jpg")) for k in FACE_PHOTOS + BACKGROUNDS}
    out = []
    for i in range(n):
        W, H = SIZES[i % len(SIZES)]
        bg = cv2.resize(photos[BACKGROUNDS[i % len(BACKGROUNDS)]], (W, H), interpolation=cv2.INTER_CUBIC)
        canvas = (bg * 0.7).astype(np.uint8)
        faces, placed = [], []
        for name in rng.choice(FACE_PHOTOS, size=int(rng.integers(1, 4)), replace=False):
            src = photos[name]
            ph = int(H * rng.uniform(0.3, 0.6))
            pw = int(src.shape[1] * ph / src.shape[0])
            if pw >= W:
                continue
            for _ in range(30):                       # a spot that does not cover an earlier photo
                x, y = int(rng.integers(0, W - pw + 1)), int(rng.integers(0, H - ph + 1))
                b = Box(x, y, pw, ph)
                if not any(b.intersects(p) for p in placed):
                    break
            else:
                continue
            placed.append(b)
            canvas[y:y + ph, x:x + pw] = cv2.resize(src, (pw, ph), interpolation=cv2.INTER_AREA)
            k = ph / src.shape[0]
            faces += [Box(x + fx * k, y + fy * k, fw * k, fh * k) for fx, fy, fw, fh in lab[name]]
        out.append(Labelled(f"composite-{i:02d}-{W}x{H}", canvas, faces))
    return out


def sample_video_frames() -> list[Labelled]:
    from autoposter.pipeline import candidate_frames

    spec = importlib.util.spec_from_file_location("make_sample_video", ROOT / "examples" / "make_sample_video.py")
    msv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(msv)
    track = msv.face_track(labels())
    frames, smp = candidate_frames(ROOT / "examples" / "sample.mp4")
    fps = smp.video["fps"]
    out = []
    for ref, image in frames:
        index = round(ref.time * fps)              # the track is by frame number
        out.append(Labelled(f"sample-{index:03d}", image, [Box(*b) for b in track.get(index, [])]))
    return out


def labelled_set() -> list[Labelled]:
    return composites() + sample_video_frames()
