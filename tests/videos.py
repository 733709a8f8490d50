"""Small real-footage test videos with known geometry, timing and metadata (not a test file).

Built with ``examples/make_films.py`` (PyAV, a development dependency) from the material that is
always in the repository (``examples/photos/`` and ``examples/sample.mp4``: ``CORE_SOURCES``), so
each fixture is the same on every machine (byte for byte with the same PyAV build). Each is a few
seconds at 320×180–640×360 and takes 0.5–2.5 s to write on a 2-core machine (the first one in a
process also splits sample.mp4 into scenes, about 0.5 s); consider session-scoped fixtures.
Every function takes the directory to write into (pytest's ``tmp_path``) and returns the file's
path; what each guarantees is in its docstring (measured on the files, with margins).

Conventions: frame ``i`` of a constant-rate fixture is shown at ``i / FPS`` s; frames are
counted from 0; rectangles are ``(x, y, w, h)`` in pixels of the picture a player shows;
H.264 (libx264, high profile, B-frames, closed GOPs) unless said otherwise.

    from videos import letterboxed, LETTERBOX_RECT
    path = letterboxed(tmp_path)
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "examples") not in sys.path:
    sys.path.insert(0, str(ROOT / "examples"))

import make_films as mf

SOURCES = mf.CORE_SOURCES
FPS = 24
SECONDS = 4.0
FRAMES = int(SECONDS * FPS)            # 96
GOP = 24                               # container(): a keyframe every second, exactly
SMALL = (320, 180)
WIDE = (640, 360)                      # the barred fixtures

LETTERBOX_RECT = mf.active_rect(*WIDE, "letterbox")     # (0, 44, 640, 272): 2.35:1 in 16:9
PILLARBOX_RECT = mf.active_rect(*WIDE, "pillarbox")     # (80, 0, 480, 360): 4:3 in 16:9
WINDOWBOX_RECT = mf.active_rect(*WIDE, "windowbox")     # (80, 44, 480, 272): bars on all sides
BAR_EDGE = 4        # bar pixels within this distance of the picture may carry compression ringing
BLACK_BAR_MAX = 8   # black bars: every pixel further than BAR_EDGE from the picture, luma ≤ this
NOISY_BAR_RANGE = (8, 32)  # noisy bars: luma of such pixels in this range; mean 16–24

VFR_FPS = 60          # timeline rate of vfr(): frames kept with steps 2, 3, 2, 3, … of 1/60 s
VFR_SECONDS = 3.0
VFR_FRAMES = 72       # frames in vfr()


def vfr_times(n: int = VFR_FRAMES) -> list[float]:
    """Presentation times (s) of vfr()'s frames: 0, 2/60, 5/60, 7/60, 10/60, … (gaps 1/30, 1/20 s)."""
    return [(5 * (j // 2) + 2 * (j % 2)) / VFR_FPS for j in range(n)]


def _footage(size, seconds=SECONDS, fps=FPS, seed=0, cuts=None):
    w, h = size
    return mf.footage(width=w, height=h, seconds=seconds, fps=fps, seed=seed, cuts=cuts, sources=SOURCES)


def _barred(tmp_path, bars, noisy, suffix, name):
    path = Path(tmp_path) / f"{name}{'_noisy' if noisy else ''}{suffix}"
    mf.encode(path, _footage(WIDE, seed=11), fps=FPS, bitrate=1_500_000, gop=48, bars=bars,
              bar_colour="noisy" if noisy else (0, 0, 0))
    return path


def letterboxed(tmp_path, *, noisy: bool = False, suffix: str = ".mp4") -> Path:
    """640×360, 96 frames at 24 fps: a 2.35:1 picture at ``LETTERBOX_RECT`` = (0, 44, 640, 272).

    Bars: rows 0–43 and 316–359. Every bar pixel more than ``BAR_EDGE`` rows from the picture has
    luma ≤ ``BLACK_BAR_MAX`` (pure black bars), or with ``noisy`` lies in ``NOISY_BAR_RANGE``
    (near-black, luma around 16–24, new noise every frame, like a captured broadcast). The
    picture is real footage up to its edges (its first and last rows are not black on average).
    """
    return _barred(tmp_path, "letterbox", noisy, suffix, "letterboxed")


def pillarboxed(tmp_path, *, noisy: bool = False, suffix: str = ".mp4") -> Path:
    """640×360, 96 frames at 24 fps: a 4:3 picture at ``PILLARBOX_RECT`` = (80, 0, 480, 360).

    Bars: columns 0–79 and 560–639, same guarantees as :func:`letterboxed`.
    """
    return _barred(tmp_path, "pillarbox", noisy, suffix, "pillarboxed")


def windowboxed(tmp_path, *, noisy: bool = False, suffix: str = ".mp4") -> Path:
    """640×360, 96 frames at 24 fps: a 16:9 picture at ``WINDOWBOX_RECT`` = (80, 44, 480, 272).

    Bars on all four sides (rows 0–43 and 316–359, columns 0–79 and 560–639), same guarantees as
    :func:`letterboxed`.
    """
    return _barred(tmp_path, "windowbox", noisy, suffix, "windowboxed")


def rotated_phone(tmp_path, rotate: int = 90, *, suffix: str = ".mp4") -> Path:
    """A phone video: stored 640×360 (landscape), shown 360×640 (portrait) for rotate 90/270.

    96 frames at 24 fps. The stream's display matrix says "turn ``rotate``° clockwise", as
    phones write it: OpenCV reports ``CAP_PROP_ORIENTATION_META == rotate`` and, with its default
    ``CAP_PROP_ORIENTATION_AUTO``, returns upright 360-wide × 640-high frames (for 180: 640×360
    turned over); with ``CAP_PROP_ORIENTATION_AUTO`` set to 0 it returns the stored 640×360 frames,
    and ``cv2.rotate`` of those by ``rotate`` clockwise gives the upright ones. PyAV reports
    ``frame.rotation == -rotate`` (counter-clockwise degrees, e.g. -90). Works for .mp4 .mov .mkv
    .webm (VP9); with .ts the rotation is an H.264 display-orientation SEI in every frame, which
    PyAV/FFmpeg report per frame and OpenCV ignores (META 0, frames stay landscape).
    """
    if rotate not in (90, 180, 270):
        raise ValueError("rotate: 90, 180 or 270")
    path = Path(tmp_path) / f"phone_rot{rotate}{suffix}"
    w, h = WIDE
    display = (h, w) if rotate in (90, 270) else (w, h)
    mf.encode(path, _footage(display, seed=12), fps=FPS, bitrate=1_500_000, gop=30, rotate=rotate)
    return path


def vfr(tmp_path, *, suffix: str = ".mp4") -> Path:
    """320×180, variable frame rate: ``VFR_FRAMES`` (72) frames at ``vfr_times()``.

    Gaps alternate 1/30 s and 1/20 s (24 fps on average) over 3 s; each frame shows the footage
    at its own time (timestamps are real, as from a phone that drops frames). In .mp4/.mov/.ts
    the stored timestamps are exact (time base 1/60 s, TS 1/90000 s); .mkv/.webm store whole
    milliseconds (within 0.5 ms). The stream's nominal rate is 60 fps (``r_frame_rate``).
    """
    path = Path(tmp_path) / f"vfr{suffix}"
    mf.encode(path, _footage(SMALL, seconds=VFR_SECONDS, fps=VFR_FPS, seed=13), fps=VFR_FPS,
              bitrate=600_000, gop=48, vfr=(2, 3))
    return path


def container(tmp_path, suffix: str = ".mkv") -> Path:
    """320×180, 96 frames at exactly 24 fps (4.0 s), in .mp4 .mov .mkv .webm or .ts.

    H.264, except .webm: VP9. Keyframes at frames 0, 24, 48, 72 (``GOP``, no scene-cut
    keyframes; VP9's libvpx adds one more at the cut, frame 73). Frame i is at i/24 s (in
    .mkv/.webm rounded to the millisecond). Shots start at :func:`container_cuts` ([0, 73]).
    """
    path = Path(tmp_path) / f"container{suffix}"
    mf.encode(path, _footage(SMALL, seed=14), fps=FPS, bitrate=600_000, gop=GOP, fixed_gop=True)
    return path


def container_cuts() -> list[int]:
    """First frames of the shots of :func:`container` (same for every suffix)."""
    return mf.shot_bounds(seconds=SECONDS, fps=FPS, seed=14)


def moov_at_end(tmp_path, *, at_end: bool = True) -> Path:
    """320×180 .mp4, 96 frames at 24 fps, top-level boxes ftyp, free, mdat, moov: index at the end.

    ``at_end=False`` writes the same stream with the index first (ftyp, moov, free, mdat, as
    ``movflags=+faststart``). A prefix of the at-end file (e.g. its first third) has no moov and
    cannot be opened. ``make_films.moov_at_end(path)`` checks the order.
    """
    path = Path(tmp_path) / f"moov_{'end' if at_end else 'front'}.mp4"
    mf.encode(path, _footage(SMALL, seed=15), fps=FPS, bitrate=600_000, gop=48, faststart=not at_end)
    return path


def cut_frames(times, fps: float = FPS) -> list[int]:
    """The frame index where each cut at ``times`` (s) lands: the first frame at or after it."""
    return [math.ceil(round(t * fps, 6)) for t in times]


def with_cuts(tmp_path, times=(1.0, 2.5, 4.0), *, seconds: float = 5.0, fps: float = FPS,
              suffix: str = ".mp4") -> Path:
    """320×180 at ``fps`` (default 24), ``round(seconds × fps)`` frames, hard cuts exactly at ``times``.

    A new shot starts at each frame ``cut_frames(times, fps)`` (defaults: 24, 60, 96) — the first
    frame whose time is ≥ the cut time — and nowhere else: frames 0…23, 24…59, 60…95, 96…119.
    Consecutive shots show different material, and the mean absolute difference of 64×36 grey
    thumbnails (``make_films.thumb_diff``) is ≥ 30 across each cut after decoding, ≤ 8 between
    any two consecutive frames inside a shot (slow camera moves, grain). No fades.
    Keyframes are every 48 frames plus at cuts (the encoder's own scene-cut keyframes).
    """
    path = Path(tmp_path) / f"cuts{suffix}"
    mf.encode(path, _footage(SMALL, seconds=seconds, fps=fps, seed=16, cuts=times), fps=fps,
              bitrate=600_000, gop=48)
    return path


def keyframes_at(tmp_path, keys, *, seconds: float, fps: float = 10, audio_tracks: int = 0,
                 name: str = "keys.mp4") -> Path:
    """160×96 H.264 (no B-frames) at ``fps``, ``round(seconds × fps)`` frames, keyframes exactly at the
    frames ``keys`` (indexes) and nowhere else; ``audio_tracks`` silent 48 kHz AAC tracks beside it (a
    keyframes-only read sees only their packets between two keyframes). Moving gradients, no cuts."""
    import fractions

    import av
    import numpy as np
    path = Path(tmp_path) / name
    n, keys = round(seconds * fps), set(keys)
    out = av.open(str(path), "w")
    st = out.add_stream("libx264", rate=fps, options={
        "x264-params": "keyint=100000:min-keyint=100000:scenecut=0", "forced-idr": "1", "preset": "ultrafast", "bf": "0"})
    st.width, st.height, st.pix_fmt = 160, 96, "yuv420p"
    auds = []
    for _ in range(audio_tracks):
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        auds.append(a)
    y, x = np.mgrid[0:96, 0:160]
    apts = 0
    for i in range(n):
        img = np.stack([(120 + 60 * np.sin((x + 3 * i + 11 * c) / 9.0) + 40 * np.cos((y - i) / 7.0)).clip(0, 255)
                        for c in range(3)], -1).astype(np.uint8)
        f = av.VideoFrame.from_ndarray(img, format="bgr24")
        f.pts, f.time_base = i, fractions.Fraction(1, int(fps))
        f.pict_type = av.video.frame.PictureType.I if i in keys else av.video.frame.PictureType.NONE
        for p in st.encode(f):
            out.mux(p)
        while auds and apts / 48000 < (i + 1) / fps:
            for a in auds:
                af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                af.sample_rate, af.pts = 48000, apts
                for p in a.encode(af):
                    out.mux(p)
            apts += 1024
    for p in st.encode():
        out.mux(p)
    for a in auds:
        for p in a.encode():
            out.mux(p)
    out.close()
    return path
