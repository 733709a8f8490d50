"""Where a video comes from and what its container says, before any frame is sampled (M1, S11).

A ``VideoSource`` is a local file or an HTTP(S) URL (a presigned S3 URL in the cloud): OpenCV
reads both, the URL with Range requests, so a worker that seeks to its segment never downloads
the whole file. ``read_header`` opens the source once and returns ``VideoHeader``: duration, frame
rate, the upright frame size (phone videos carry a rotation flag that OpenCV applies) and the
bitrate, which is what ``plan`` needs to cut the timeline into segments a worker can decode in
its time. Local paths are handed to OpenCV as ``/proc/self/fd/N`` of a file this process opened
itself, so a path FFmpeg cannot take (bytes that are not UTF-8) never reaches it.
"""
from __future__ import annotations

import contextlib
import math
import os
import statistics
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

# FFmpeg's own decoder complaints ("huffman table decode error") would bury autoposter's one-line
# errors and warnings: quiet (AV_LOG_QUIET) unless the user asks for them.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
# A keyframes-only read passes over every other video packet: between two keyframes only audio and subtitle
# packets reach OpenCV, and it gives up ("end of file") after 4096 of them in a row (six audio tracks fill
# that in 15 s). OpenCV reads the limit once, when the first capture opens.
os.environ.setdefault("OPENCV_FFMPEG_READ_ATTEMPTS", "1000000")

import cv2  # noqa: E402

from .errors import VideoError  # noqa: E402

# OpenCV's own warnings when a file will not open ("backend … can't be used to capture by name") would
# stand beside autoposter's one-line error: errors only
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

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


def has_video_track(head: bytes, tail: bytes = b"") -> bool | None:
    """From a file's first and last bytes, whether it holds a video track: False for audio files and for
    MP4/MOV/Matroska containers whose tracks are all something else, True when a video track is seen,
    None when the bytes do not say. Asked only when OpenCV cannot open a file, so that an audio-only
    upload is refused as ``Video::NotAVideo`` rather than as a corrupt video."""
    if head.startswith((b"ID3", b"fLaC")) or (head[:4] == b"RIFF" and head[8:12] == b"WAVE") or \
            (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return False
    if head.startswith(b"OggS"):
        return b"\x80theora" in head
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        kinds = set()
        for blob in (head, tail):
            i = blob.find(b"hdlr")
            while i >= 0:
                kinds.add(blob[i + 12:i + 16])
                i = blob.find(b"hdlr", i + 4)
        return (b"vide" in kinds) if kinds else None
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        tracks = head.find(b"\x16\x54\xae\x6b")
        if tracks < 0:
            return None
        region = head[tracks:tracks + 16384]
        return b"\x83\x81\x01" in region if (b"\x83\x81\x01" in region or b"\x83\x81\x02" in region) else None
    return None


@dataclass(frozen=True)
class VideoSource:
    """A video to read: ``location`` is a local path or an http(s) URL; ``name`` is what errors and the
    manifest call it (the file name or the S3 key — never a presigned URL, which holds a signature)."""

    location: str
    name: str
    size_bytes: int = 0

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    @classmethod
    def local(cls, path: str | os.PathLike, max_bytes: int | None = None) -> "VideoSource":
        """A local file, checked: it exists, is a regular file, is not empty, is not a still image or text."""
        p = Path(path)
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")        # a byte that is not UTF-8: \xff
        try:
            st = p.stat()
        except FileNotFoundError:
            raise VideoError(f"{shown}: no such file", code="Video::NotFound") from None
        except OSError as exc:
            raise VideoError(f"{shown}: cannot read it ({exc.strerror})", code="Video::NotFound") from None
        if not stat.S_ISREG(st.st_mode):
            raise VideoError(f"{shown}: not a regular file (a folder, device or pipe)", code="Video::NotFound")
        if st.st_size == 0:
            raise VideoError(f"{shown}: the file is empty (0 bytes)", code="Video::Empty")
        if max_bytes is not None and st.st_size > max_bytes:
            raise VideoError(f"{shown}: {st.st_size:,} bytes; the limit is {max_bytes:,}", code="Video::TooLarge")
        try:
            with open(p, "rb") as f:
                refused = not_a_video(f.read(4096))
        except OSError as exc:
            raise VideoError(f"{shown}: cannot read it ({exc.strerror})", code="Video::NotFound") from None
        if refused:
            raise VideoError(f"{shown}: {refused[1]}", code=refused[0])
        return cls(os.fspath(p), shown, st.st_size)


@dataclass(frozen=True)
class VideoHeader:
    """What the container says, plus the first frame's upright size (rotation applied)."""

    name: str
    width: int                 # upright frame size: a portrait phone video is taller than wide
    height: int
    fps: float                 # nominal frame rate (timestamps come from the stream, not from this)
    frame_count: int           # the container's count; 0 when it does not say
    duration: float            # seconds; 0 when the container does not say
    size_bytes: int
    rotation: int = 0          # degrees the player turns the stored frames (phones: 90 or 270)

    @property
    def bitrate(self) -> float:
        """Bits per second over the whole file (0 when the duration is unknown)."""
        return 8.0 * self.size_bytes / self.duration if self.duration > 0 else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = d.pop("name")                     # what the manifest has always called it
        d["fps"], d["duration"] = round(self.fps, 3), round(self.duration, 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "VideoHeader":
        return cls(str(d["path"]), int(d["width"]), int(d["height"]), float(d["fps"]), int(d["frame_count"]),
                   float(d["duration"]), int(d.get("size_bytes", 0)), int(d.get("rotation", 0)))


def _ends(path: str, n: int = 1 << 20) -> tuple[bytes, bytes]:
    """The first 64 KB and the last ``n`` bytes of a file (where containers keep their track lists)."""
    with open(path, "rb") as f:
        head = f.read(65536)
        size = f.seek(0, 2)
        f.seek(max(0, size - n))
        return head, f.read(n)


CAPTURE_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


@contextlib.contextmanager
def capture_options(option: str | None):
    """FFmpeg options (``key;value``) for the OpenCV captures opened inside: OpenCV reads them from the
    environment when a capture opens. A user's own options stay, after ours (a later key wins)."""
    before = os.environ.get(CAPTURE_OPTIONS)
    if option:
        os.environ[CAPTURE_OPTIONS] = option + (f"|{before}" if before else "")
    try:
        yield
    finally:
        if option:
            if before is None:
                os.environ.pop(CAPTURE_OPTIONS, None)
            else:
                os.environ[CAPTURE_OPTIONS] = before


class Capture:
    """An OpenCV capture of a source, closed on exit; one decoding thread (one vCPU per worker).

    ``reference_only``: the demuxer drops the frames no other frame refers to (FFmpeg's
    ``AVDISCARD_NONREF``: H.264/HEVC B-frames an MP4 marks disposable), a third to two fifths of a
    film's decoding. OpenCV's seek counts the frames it grabs to find its target, so such a capture
    seeks late (by up to about a GOP): ``frames`` uses it only for full scans, which seek once a
    segment (and again from 5 s further back when the seek lands late: starting 2 s back instead
    saved nothing measurable on GOPs of 2 and 10 s).

    ``keyframes_only``: the demuxer drops every frame but keyframes (``AVDISCARD_NONKEY``): a twentieth
    of the decoding of H.264 at 2 s GOPs. Such a capture cannot seek at all (OpenCV counts one frame
    per keyframe it grabs and lands tens of seconds late): it reads from the file's start."""

    def __init__(self, source: VideoSource, reference_only: bool = False, keyframes_only: bool = False):
        self.source = source
        self.reference_only = reference_only and not keyframes_only
        self.keyframes_only = keyframes_only
        self._fd = None
        loc = source.location
        if not source.is_url and os.name == "posix" and Path("/proc/self/fd").is_dir():
            self._fd = os.open(loc, os.O_RDONLY)            # any bytes in the path; FFmpeg gets a path it takes
            loc = f"/proc/self/fd/{self._fd}"
        skip = "avdiscard;nonkey" if keyframes_only else "avdiscard;nonref" if reference_only else None
        with capture_options(skip):
            self.cap = cv2.VideoCapture(loc, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        if self.cap.isOpened():
            self.cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)     # phone video upright (the rotation flag)
        if not self.cap.isOpened():
            self.close()
            if not source.is_url and has_video_track(*_ends(source.location)) is False:
                raise VideoError(f"{source.name}: the file holds no video track (audio only, or another kind of "
                                 "stream)", code="Video::NotAVideo")
            raise VideoError(f"{source.name}: not a video OpenCV can decode (corrupt, or another file type)",
                             code="Video::Unreadable")

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "cap", None) is not None:
            self.cap.release()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def get(self, prop: int) -> float:
        v = float(self.cap.get(prop) or 0.0)
        return v if math.isfinite(v) else 0.0

    def seek(self, seconds: float) -> None:
        """Frame-accurate: the next ``grab`` returns the first frame at or after ``seconds``."""
        if self.keyframes_only:
            raise ValueError("a keyframes-only capture cannot seek")
        if seconds > 0:
            self.cap.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000.0)

    def grab(self) -> float | None:
        """Decode the next frame; its timestamp in seconds, or None at the end."""
        if not self.cap.grab():
            return None
        return self.get(cv2.CAP_PROP_POS_MSEC) / 1000.0

    def retrieve(self):
        ok, img = self.cap.retrieve()
        return img if ok and img is not None and img.size else None


def read_header(source: VideoSource, min_side: int = 64, max_seconds: float | None = None) -> VideoHeader:
    """Open ``source`` once: the container's facts and the first frame's upright size.

    Raises ``VideoError``: ``Video::Unreadable`` (no frame decodes), ``Video::TooSmall``,
    ``Video::TooLong`` (longer than ``max_seconds`` by the container's own count)."""
    with Capture(source) as cap:
        fps = cap.get(cv2.CAP_PROP_FPS)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META)) % 360
        if cap.grab() is None or (first := cap.retrieve()) is None:
            raise VideoError(f"{source.name}: no frame could be decoded (truncated or corrupt video)",
                             code="Video::Unreadable")
    h, w = first.shape[:2]
    if min(w, h) < min_side:
        raise VideoError(f"{source.name}: frames are {w}×{h}; posters need at least {min_side} px on the "
                         "shorter side", code="Video::TooSmall")
    if not 0 < fps <= 1000:
        fps = 25.0
    n = max(n, 0)
    duration = n / fps if n else 0.0
    if max_seconds is not None and duration > max_seconds:
        raise VideoError(f"{source.name}: the video lasts {duration:.0f} s; the limit is {max_seconds:.0f} s",
                         code="Video::TooLong")
    return VideoHeader(source.name, w, h, fps, n, duration, source.size_bytes, rotation)


def keyframe_interval(source: VideoSource, duration: float, seconds: float = 15.0, points: int = 4,
                      useful: float = math.inf) -> float | None:
    """The time between keyframes where the film's keyframes are sparsest: the largest median gap of
    ``points`` stretches of ``seconds`` spread over the film (start, quarter, half, three quarters), read
    as packets, not decoded (the container's keyframe flags; a few hundredths of a second each; a stretch
    with one keyframe or none counts the packets read beside it). None when it cannot be known, or when a
    keyframes-only capture decodes every frame anyway (FFmpeg's VP9 reader here): a keys read would
    gain nothing. That check (a second open, four keyframes decoded) is skipped when the interval is
    already above ``useful``, the most a keys read may have."""
    widest, first_gap = 0.0, None
    with Capture(source) as cap:
        if not cap.cap.set(cv2.CAP_PROP_FORMAT, -1):           # raw packets: no decoding
            return None
        budget = int((cap.get(cv2.CAP_PROP_FPS) or 25.0) * (seconds + 20)) + 100   # packets a stretch may read
        for k in range(points):
            start = duration * k / points
            if k and start >= duration - 1e-6:
                break
            cap.seek(start)
            keys, first, last, n = [], None, None, 0
            while n < budget and (t := cap.grab()) is not None:
                n += 1
                first, last = (t if first is None else first), t
                if cap.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
                    keys.append(round(t, 6))
                    if t > start + seconds and len(keys) > 2:
                        break
            keys = sorted(set(keys))
            gaps = [b - a for a, b in zip(keys, keys[1:])]
            if first is None:
                continue
            if gaps:
                gap = statistics.median(gaps)
            else:                                   # one keyframe or none: at least what was read beside it
                gap = max(keys[0] - first, last - keys[0]) if keys else last - first
            if gap <= 0:
                continue
            first_gap = gap if first_gap is None else first_gap
            widest = max(widest, gap)
    if widest <= 0 or not math.isfinite(widest):
        return None
    if widest > useful:
        return float(widest)
    times = []
    with Capture(source, keyframes_only=True) as cap:          # does the discard hold at the start? (decoded
        while len(times) < 4 and (t := cap.grab()) is not None:   # frames as far apart as the flagged keyframes)
            times.append(t)
    if len(times) >= 4 and statistics.median(b - a for a, b in zip(times, times[1:])) < first_gap / 2:
        return None
    return float(widest)
