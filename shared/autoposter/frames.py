"""M1: candidate frames, streamed.

Frames are decoded one at a time with OpenCV (``grab`` for every frame, ``retrieve``
only for the few that are examined), so memory stays flat whatever the video's
length. Examined frames ("probes", ``probe_rate`` per second) feed a colour
histogram shot-change detector; a frame ``cut_delay`` seconds after a cut is taken
ahead of the regular ``rate`` schedule. Near-black, near-uniform and near-duplicate
frames are skipped and reported with their reason.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

# FFmpeg's own decoder complaints ("huffman table decode error") would bury autoposter's one-line
# errors and warnings: quiet (AV_LOG_QUIET) unless the user asks for them.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from .errors import VideoError  # noqa: E402
from .images import downscale  # noqa: E402


@dataclass(frozen=True)
class FrameSettings:
    rate: float = 1.0             # candidate frames per second of video
    probe_rate: float = 6.0       # frames per second examined for cuts and quality
    cut_threshold: float = 0.35   # Bhattacharyya distance of HSV histograms that marks a cut
    cut_delay: float = 0.2        # s after a cut before the frame is taken (skip the transition)
    black_level: float = 20.0     # mean luma (0-255) below this: near-black
    min_contrast: float = 8.0     # luma standard deviation below this: near-uniform
    dup_distance: float = 3.0     # mean abs difference of 64-px thumbnails below this: near-duplicate
    max_frames: int = 300         # rate is lowered for long videos to stay under this
    max_side: int = 3840          # larger frames are downscaled on decode
    min_side: int = 64            # smaller frames are refused (Video::TooSmall)
    partial_share: float = 0.9    # fewer frames decoded than this share of the container's count: "partial read"


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    size_bytes: int

    def to_dict(self) -> dict:
        return {"path": self.path, "width": self.width, "height": self.height,
                "fps": round(self.fps, 3), "frame_count": self.frame_count,
                "duration": round(self.duration, 3), "size_bytes": self.size_bytes}


@dataclass
class Frame:
    index: int
    time: float
    image: np.ndarray             # BGR uint8
    after_cut: bool = False
    shot: int = 0                 # cuts detected before this frame


@dataclass
class Rejection:
    frame_time: float
    reason: str

    def to_dict(self) -> dict:
        return {"frame_time": round(self.frame_time, 3), "reason": self.reason}


def _open(path: str) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise VideoError(f"{path}: not a video OpenCV can decode (corrupt, or another file type)",
                         code="Video::Unreadable")
    return cap


def probe_duration(path: str | os.PathLike) -> float:
    """Seconds the container says the video lasts (0 when it does not say), read before any decoding:
    enough to refuse a video that is too long for the time a function has."""
    cap = _open(str(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = float(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
    finally:
        cap.release()
    return n / fps if math.isfinite(fps) and 0 < fps <= 1000 and math.isfinite(n) and n > 0 else 0.0


def probe(path: str | os.PathLike, settings: FrameSettings | None = None) -> VideoInfo:
    """Read the header and check the video is usable; raises ``VideoError`` with a code."""
    s = settings or FrameSettings()
    path = str(path)
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{path}: no such file", code="Video::NotFound")
    if not p.is_file():
        raise VideoError(f"{path}: not a file", code="Video::NotFound")
    size = p.stat().st_size
    if size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes)", code="Video::Empty")
    with open(p, "rb") as f:
        refused = not_a_video(f.read(4096))
    if refused:
        raise VideoError(f"{path}: {refused[1]}", code=refused[0])
    cap = _open(path)
    try:
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        ok, first = cap.read()
    finally:
        cap.release()
    if not ok or first is None:
        raise VideoError(f"{path}: no frame could be decoded (truncated or corrupt video)",
                         code="Video::Unreadable")
    h, w = first.shape[:2]
    if min(w, h) < s.min_side:
        raise VideoError(f"{path}: frames are {w}×{h}; posters need at least {s.min_side} px on the "
                         f"shorter side", code="Video::TooSmall")
    if not math.isfinite(fps) or fps <= 0 or fps > 1000:
        fps = 25.0
    n = max(n, 1)
    return VideoInfo(path, w, h, fps, n, n / fps, size)


IMAGE_MAGIC = ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
               (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def not_a_video(head: bytes) -> tuple[str, str] | None:
    """(code, reason) when the first bytes already show the file is no video — a still image or
    text — so a large upload is refused before it is downloaded or decoded; None otherwise."""
    kind = still_image_kind(head)
    if kind:
        return "Video::NotAVideo", f"a still {kind} image, not a video"
    sample = head[:4096]
    if sample and b"\x00" not in sample:
        try:
            sample.decode("utf-8")
            return "Video::Unreadable", "a text file, not a video"
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 4:            # a character cut at the sample's end: still text
                return "Video::Unreadable", "a text file, not a video"
    return None


def still_image_kind(head: bytes) -> str | None:
    """OpenCV opens a lone PNG or JPEG as a one-frame "video"; posters come from videos only."""
    for magic, kind in IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _thumb(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    tw = 64
    th = max(1, round(h * tw / w))
    return cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)


def _hist(thumb: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


class FrameSampler:
    """Iterate candidate ``Frame``s of a video; ``rejected`` and ``progress`` update as it goes."""

    def __init__(self, path: str | os.PathLike, settings: FrameSettings | None = None):
        self.settings = settings or FrameSettings()
        self.info = probe(path, self.settings)
        self.rejected: list[Rejection] = []
        self.decoded = 0
        self.cuts: list[float] = []
        self.progress = 0.0
        s = self.settings
        self.rate = min(s.rate, s.max_frames / max(self.info.duration, 1e-6)) if s.max_frames else s.rate

    def read_report(self) -> dict:
        """Frames decoded against the container's own count; ``partial_read`` when decoding
        stopped well short of it (containers that over-count by a little are allowed)."""
        expected = self.info.frame_count
        partial = expected > 1 and self.decoded < self.settings.partial_share * expected
        return {"frames_decoded": self.decoded, "frames_expected": expected, "partial_read": bool(partial)}

    def _reason(self, thumb: np.ndarray, last: np.ndarray | None) -> str | None:
        s = self.settings
        gray = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY).astype(np.float32)
        if gray.mean() < s.black_level:
            return "near_black"
        if gray.std() < s.min_contrast:
            return "near_uniform"
        if last is not None and last.shape == gray.shape and float(np.abs(gray - last).mean()) < s.dup_distance:
            return "near_duplicate"
        return None

    def __iter__(self):
        s, info = self.settings, self.info
        cap = _open(info.path)
        step = max(1, round(info.fps / max(s.probe_rate, self.rate)))
        next_t, pending_cut = 0.0, None
        prev_hist, last_kept = None, None
        idx = -1
        try:
            while True:
                if not cap.grab():
                    break
                idx += 1
                self.decoded = idx + 1
                t = idx / info.fps
                self.progress = min(1.0, (idx + 1) / info.frame_count)
                due_cut = pending_cut is not None and t >= pending_cut
                if idx % step and not due_cut:
                    continue
                ok, img = cap.retrieve()
                if not ok or img is None:
                    break
                img = downscale(img, s.max_side)
                thumb = _thumb(img)
                hist = _hist(thumb)
                cut = prev_hist is not None and cv2.compareHist(
                    prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA) > s.cut_threshold
                prev_hist = hist
                if cut:
                    self.cuts.append(t)
                    pending_cut = t + s.cut_delay
                    continue
                after_cut = pending_cut is not None and t >= pending_cut
                if not (after_cut or t >= next_t):
                    continue
                pending_cut = None if after_cut else pending_cut
                next_t = t + 1.0 / self.rate
                reason = self._reason(thumb, last_kept)
                if reason:
                    self.rejected.append(Rejection(t, reason))
                    continue
                last_kept = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY).astype(np.float32)
                yield Frame(idx, t, img, after_cut, len(self.cuts))
        finally:
            cap.release()
            self.progress = 1.0
        if self.decoded == 0:
            raise VideoError(f"{info.path}: no frame could be decoded (truncated or corrupt video)",
                             code="Video::Unreadable")
