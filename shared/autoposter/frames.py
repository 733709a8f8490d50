"""M1: candidate frames, sampled per segment of the timeline (S11).

The timeline is cut into segments (``plan``) that a worker — a process on this machine, a
Lambda in the cloud — decodes on its own: it seeks to the segment (OpenCV seeks frame-accurately,
decoding from the keyframe before), grabs every frame of it (every reference frame with
``reference_only``: the B-frames nothing refers to are skipped, and counted from the timestamps)
and examines only a few:

* probes, on a global grid of ``probe_rate`` a second, feed the colour-histogram shot-change
  detector and the bar profile of the shot (``activearea``);
* candidates are the first frame of every 1/``rate`` s slot of the same global grid, and the
  frame ``cut_delay`` s after each cut.

Grids are global (slot k holds times [k/rate, (k+1)/rate)), so two workers never sample the
same moment and a cut at a segment boundary is found once: each worker first decodes a short
look-back before its start, which gives it the previous probe to compare with; frames before
the start are only looked at, never counted or sampled. A cut belongs to the segment holding the
probe that found it; its after-cut frame belongs to that segment too, even past its end.

A long film whose keyframes are dense is read keyframes only (``scan == "keys"``, ``keys_fit``): one
worker decodes every keyframe from the file's start (FFmpeg drops the other frames before decoding,
about a twentieth of the work on H.264 at 2 s GOPs); each keyframe is a probe and, when it opens a
slot or a shot, a candidate.

Near-black and near-uniform frames are skipped here with their reason; near-duplicates, shots,
bars and the frame budget are decided across the whole film by ``sampling.py``.
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import activearea, framepack
from .errors import VideoError
from .images import downscale, shrink
from .video import Capture, VideoHeader, VideoSource

JPEG_QUALITY = 95                 # the one form a candidate frame takes between steps (CLI and cloud alike)


@dataclass(frozen=True)
class FrameSettings:
    rate: float = 1.0             # candidate frames per second of video
    probe_rate: float = 6.0       # frames per second examined for cuts and bars
    cut_threshold: float = 0.35   # Bhattacharyya distance of HSV histograms that marks a cut
    cut_delay: float = 0.2        # s after a cut before the frame is taken (skip the transition)
    black_level: float = 20.0     # mean luma (0-255) below this: near-black
    min_contrast: float = 8.0     # luma standard deviation below this: near-uniform
    dup_distance: float = 3.0     # mean abs difference of 64-px thumbnails below this: near-duplicate
    max_frames: int = 300         # candidates analysed per video, spread over its shots (sampling.py)
    reference_only: bool = True   # full scans decode reference frames only: B-frames no frame refers to are
                                  # skipped (H.264 films: 36-40 % less decoding; the frames kept are the encoder's
                                  # sharper ones). Window scans decode every frame: they seek at every window,
                                  # and OpenCV's seek lands late when frames are skipped
    oversample: float = 2.0       # workers sample up to this many times max_frames; the budget keeps the best spread
    max_side: int = 3840          # larger frames are downscaled on decode
    min_side: int = 64            # smaller frames are refused (Video::TooSmall)
    partial_share: float = 0.9    # fewer frames decoded than this share of the container's count: "partial read"
    worker_seconds: float = 45.0  # a segment is sized to take about this long to decode on one core...
    decode_cost: tuple = (0.0051, 0.010, 1.5)    # ...by this model, s per video-s: a·(megapixels/s) + b·(Mbit/s),
                                                 # times a safety factor for slower cores (bench: films)
    min_segment: float = 10.0     # s of video per segment, at least...
    max_segment: float = 600.0    # ...and at most
    max_segments: int = 1000      # a Distributed Map item each
    scan: str = "auto"            # "full" decodes every frame; "windows" only a window around each candidate
                                  # slot (cuts inside windows and between them); "keys" only the keyframes, read
                                  # by one worker from the start (each keyframe a probe, and a candidate when it
                                  # opens a slot or a shot). "auto": windows once candidates
    windows_from: float = 8.0     # are this many s apart or more (long films: a fraction of the decoding); else
    key_interval_max: float = 2.5 # keys when keyframes are at most this many s apart (video.keyframe_interval)...
    keys_share: float = 0.5       # ...they alone offer at least this share of max_frames candidates (short clips
                                  # keep every slot and a probe every 1/probe_rate s)...
    keys_seconds: float = 90.0    # ...one core reads them in about this long by decode_cost...
    keys_pack_mb: float = 512.0   # ...and their one pack (every candidate, in memory until stored) stays under
                                  # this many MB by JPEG_BYTES_PER_PIXEL (else: full, in segments)
    window: float = 2.0           # s decoded after each slot...
    window_lead: float = 0.5      # ...and before it


@dataclass(frozen=True)
class Segment:
    """Times [start, end) of the video one worker samples; ``end`` None: to the end of the file."""

    index: int
    start: float
    end: float | None

    def to_dict(self) -> dict:
        return {"index": self.index, "start": round(self.start, 6), "end": None if self.end is None
                else round(self.end, 6)}

    @classmethod
    def from_dict(cls, d: dict) -> "Segment":
        return cls(int(d["index"]), float(d["start"]), None if d.get("end") is None else float(d["end"]))


@dataclass(frozen=True)
class Plan:
    """The whole film's sampling plan: one grid of candidates and probes, cut into segments."""

    header: VideoHeader
    rate: float                   # candidate grid (after the frame budget)
    probe_rate: float
    segments: tuple
    scan: str = "full"            # "full": every frame decoded; "windows": a window around each candidate slot;
                                  # "keys": keyframes only, one segment
    pinned: tuple = ()            # S14: times an editor pinned: the frame there is always a candidate
    key_interval: float | None = None    # s between keyframes where sparsest (measured when it could matter)

    def to_dict(self) -> dict:
        return {"header": self.header.to_dict(), "rate": self.rate, "probe_rate": self.probe_rate,
                "segments": [s.to_dict() for s in self.segments], "scan": self.scan, "pinned": list(self.pinned),
                "key_interval": self.key_interval}

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        ki = d.get("key_interval")
        return cls(VideoHeader.from_dict(d["header"]), float(d["rate"]), float(d["probe_rate"]),
                   tuple(Segment.from_dict(s) for s in d["segments"]), str(d.get("scan", "full")),
                   tuple(float(t) for t in d.get("pinned", [])), None if ki is None else float(ki))


def decode_seconds(header: VideoHeader, s: FrameSettings) -> float:
    """Estimated seconds one core needs to decode one second of this video (``decode_cost``)."""
    a, b, safety = s.decode_cost
    mpx = header.width * header.height * header.fps / 1e6
    return safety * (a * mpx + b * header.bitrate / 1e6)


KEYFRAME_COST = 3.0     # a keyframe decodes in about this many average frames' time (H.264 1080p: 2.4-2.75)
JPEG_BYTES_PER_PIXEL = 0.25   # a candidate at JPEG_QUALITY (film frames measured 0.13-0.20)
CUT_SHARE = 0.3         # after-cut candidates beside the slots' (the letterboxed episode: 0.2)


def frame_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size ``images.downscale`` gives a decoded frame."""
    if max(width, height) <= max_side:
        return width, height
    k = max_side / max(width, height)
    return max(1, round(width * k)), max(1, round(height * k))


def _rate(header: VideoHeader, s: FrameSettings) -> float:
    d = header.duration
    return min(s.rate, s.oversample * s.max_frames / d) if d > 0 and s.max_frames else s.rate


def may_read_keys(header: VideoHeader, s: FrameSettings) -> bool:
    """Whether a keyframes-only read could be chosen: worth measuring the keyframe interval first."""
    if s.scan == "keys":
        return True
    rate = _rate(header, s)
    return s.scan == "auto" and header.duration > 0 and 1.0 / rate < s.windows_from and \
        header.duration * rate >= s.keys_share * s.max_frames


def keys_fit(header: VideoHeader, s: FrameSettings, key_interval: float | None) -> bool:
    """Keyframes only when they are dense (``key_interval_max``), offer ``keys_share`` of the frame
    budget, cost one worker no more than ``keys_seconds`` and less than decoding every frame, and their
    one pack fits ``keys_pack_mb`` (a segment's pack is a fraction of the film's)."""
    if not key_interval or not math.isfinite(key_interval) or key_interval > s.key_interval_max:
        return False
    d, rate = header.duration, _rate(header, s)
    if d / max(key_interval, 1.0 / rate) < s.keys_share * s.max_frames:
        return False
    full = decode_seconds(header, s)
    keys = min(full, KEYFRAME_COST * full / max(header.fps * key_interval, 1.0))
    w, h = frame_size(header.width, header.height, s.max_side)
    pack = d * min(rate, 1.0 / key_interval) * (1 + CUT_SHARE) * w * h * JPEG_BYTES_PER_PIXEL
    return keys * d <= s.keys_seconds and keys < full and pack <= s.keys_pack_mb * 1e6


def plan(header: VideoHeader, s: FrameSettings, segment_seconds: float | None = None, pinned=(),
         key_interval: float | None = None) -> Plan:
    """Segments of about equal length, each ``worker_seconds`` of decoding by ``decode_cost``
    (or ``segment_seconds`` of video when given); the candidate rate is the job's, capped so the
    workers together offer ``oversample × max_frames`` candidates at most. A keys scan is one segment
    (a keyframes-only capture cannot seek)."""
    d = header.duration
    rate = _rate(header, s)
    if d <= 0:
        return Plan(header, rate, s.probe_rate, (Segment(0, 0.0, None),), "full", tuple(sorted(pinned)), key_interval)
    scan = s.scan
    if scan == "auto":
        scan = "windows" if 1.0 / rate >= s.windows_from else "keys" if keys_fit(header, s, key_interval) else "full"
    if scan == "keys" and pinned:              # a pinned time wants its own frame, not the next keyframe's
        scan = "full"
    if scan == "keys":
        return Plan(header, rate, s.probe_rate, (Segment(0, 0.0, None),), "keys", (), key_interval)
    duty = min(1.0, (s.window + s.window_lead + 1.0) * rate) if scan == "windows" else 1.0   # +1 s: a GOP's decode
    length = segment_seconds or s.worker_seconds / max(decode_seconds(header, s) * duty, 1e-6)
    length = min(max(length, s.min_segment), s.max_segment)
    n = max(1, min(s.max_segments, math.ceil(d / length - 1e-9)))
    step = d / n
    segs = tuple(Segment(i, i * step, None if i == n - 1 else (i + 1) * step) for i in range(n))
    return Plan(header, rate, s.probe_rate, segs, scan, tuple(sorted(pinned)), key_interval)


@dataclass
class Rejection:
    frame_time: float
    reason: str

    def to_dict(self) -> dict:
        return {"frame_time": round(self.frame_time, 3), "reason": self.reason}


@dataclass
class Sampled:
    """A candidate frame as its worker found it; ``member`` is its place in the segment's frame pack."""

    id: int                       # the frame's time in ms: unique in a video
    time: float
    after_cut: bool
    thumb: bytes                  # 64-px grey thumbnail (near-duplicates are judged across the film)
    thumb_shape: tuple
    member: tuple                 # (offset, length) in the pack
    pinned: bool = False          # the frame of a pinned time (kept whatever the budget)

    def to_dict(self) -> dict:
        return {"id": self.id, "time": round(self.time, 6), "after_cut": self.after_cut,
                "thumb": base64.b64encode(self.thumb).decode(), "thumb_shape": list(self.thumb_shape),
                "member": list(self.member), "pinned": self.pinned}

    @classmethod
    def from_dict(cls, d: dict) -> "Sampled":
        return cls(int(d["id"]), float(d["time"]), bool(d["after_cut"]), base64.b64decode(d["thumb"]),
                   tuple(d["thumb_shape"]), tuple(d["member"]), bool(d.get("pinned", False)))

    def thumb_array(self) -> np.ndarray:
        return np.frombuffer(self.thumb, np.uint8).reshape(self.thumb_shape).astype(np.float32)


@dataclass
class SegmentResult:
    """What one worker found in its segment; the frames themselves are in its pack."""

    index: int
    start: float
    end: float | None
    decoded: int = 0              # frames decoded inside [start, end)
    first: float | None = None    # time of the first and last frame decoded inside it
    last: float | None = None
    cuts: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    shots: list = field(default_factory=list)    # per shot met in the segment: {"start", **bar extent}
    lookback: int = 0             # frames decoded before start (to find the previous probe)
    seek_retries: int = 0         # seeks that landed past their target (inexact containers) and were redone
    overrun: int = 0              # frames decoded past end (an after-cut frame due there)
    skipped: int = 0              # non-reference frames inside it not decoded (reference_only; from the timestamps)

    def to_dict(self) -> dict:
        return {"index": self.index, "start": self.start, "end": self.end, "decoded": self.decoded,
                "first": self.first, "last": self.last, "cuts": [round(c, 6) for c in self.cuts],
                "frames": [f.to_dict() for f in self.frames], "rejected": [r.to_dict() for r in self.rejected],
                "shots": self.shots, "lookback": self.lookback, "overrun": self.overrun, "skipped": self.skipped,
                "seek_retries": self.seek_retries}

    @classmethod
    def from_dict(cls, d: dict) -> "SegmentResult":
        return cls(int(d["index"]), float(d["start"]), None if d.get("end") is None else float(d["end"]),
                   int(d["decoded"]), d.get("first"), d.get("last"), [float(c) for c in d["cuts"]],
                   [Sampled.from_dict(f) for f in d["frames"]],
                   [Rejection(float(r["frame_time"]), r["reason"]) for r in d["rejected"]],
                   list(d.get("shots", [])), lookback=int(d.get("lookback", 0)), overrun=int(d.get("overrun", 0)),
                   seek_retries=int(d.get("seek_retries", 0)), skipped=int(d.get("skipped", 0)))


def _reduced(img: np.ndarray) -> np.ndarray:
    """The probe's working copy, at most ``activearea.WIDTH`` wide (area average): the thumbnail and the
    bar profile are both made from it, so a probe reads the full frame once (1080p: about 1 ms a probe,
    against 3.4 ms for three passes; extraction of 10 min of 1080p took 15-25 % less CPU)."""
    return shrink(img, activearea.WIDTH)


def _thumb(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    tw = 64
    th = max(1, round(h * tw / w))
    return cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)


def _hist(thumb: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def _slot(t: float, rate: float) -> int:
    return math.floor(t * rate + 1e-9)


def frame_reason(thumb_gray: np.ndarray, s: FrameSettings) -> str | None:
    """Near-black or near-uniform (a fade, a slate) — judged on the thumbnail's own picture."""
    g = thumb_gray.astype(np.float32)
    if g.mean() < s.black_level:
        return "near_black"
    if g.std() < s.min_contrast:
        return "near_uniform"
    return None


SEEK_BACKOFF = (0.0, 5.0, 20.0, 60.0)      # s further back to seek when a seek lands past its target


def _open_before(source: VideoSource, start: float, lookback: float, out: "SegmentResult",
                 reference_only: bool = False):
    """A capture positioned before ``start`` (by at least a few frames, to see the previous probe), and the
    time of the frame already grabbed there (None: nothing grabbed yet). Some containers seek inexactly
    (variable-rate Matroska and MPEG-TS land seconds late): a seek that lands past its target is tried
    further back, and at worst the segment is read from the file's start — a frame is never skipped."""
    cap = Capture(source, reference_only)
    if start <= 0:
        return cap, None
    for back in SEEK_BACKOFF:
        target = start - lookback - back
        if target <= 0:
            break
        cap.seek(target)
        t = cap.grab()
        if t is not None and t < start - 1e-6:
            return cap, t
        out.seek_retries += 1
        cap.close()
        cap = Capture(source, reference_only)
    return cap, None


MAX_SKIPPED = 16        # frames between two decoded ones that can be skipped non-reference frames (x264 allows 16)
GRID_SLACK = 0.1        # ... when the gap is this close to whole frame steps


def _skipped(prev: float, t: float, fps: float, start: float, end: float | None) -> int:
    """Frames between two decoded frames at ``prev`` and ``t`` that a reference-only capture skipped, those
    inside [start, end) (each segment counts its own). Only a gap of whole frame steps counts (the discard
    removes frames of a constant-rate grid; a variable-rate stream's odd gaps are its own timing, never
    skipped frames), and a gap longer than ``MAX_SKIPPED`` frames is a gap in the stream (damage)."""
    steps = (t - prev) * fps if fps > 0 else 0.0
    n = round(steps) - 1
    if not 0 < n <= MAX_SKIPPED or abs(steps - round(steps)) > GRID_SLACK:
        return 0
    return _between(prev, t, fps, start, end)


class _Scanner:
    """What a worker does with each decoded frame of a run: probes (cuts, bars), the slot frame, the
    frame after a cut. Full scans feed it every frame of the segment; window scans feed it a few
    seconds around each candidate slot, keeping the last probe across windows, so a cut in a gap
    between windows is still seen (at the next window's first probe)."""

    def __init__(self, source: VideoSource, plan_: Plan, seg: Segment, s: FrameSettings, bars, pack, out):
        self.source, self.plan, self.seg, self.s, self.bars, self.pack, self.out = source, plan_, seg, s, bars, pack, out
        self.extent = activearea.ShotExtent()
        self.shot_start = seg.start
        self.prev_t = self.prev_hist = None
        self.pending = None                 # time the after-cut frame is due
        self.keys = plan_.scan == "keys"    # keyframes only: the keyframe that opens a shot is its after-cut frame

    def feed(self, cap: Capture, t: float, before: bool, past: bool, emit: bool = True) -> bool:
        """One decoded frame at ``t``; False when the run must stop (a cut past the segment's end)."""
        s, out = self.s, self.out
        probe = self.prev_t is None or _slot(t, self.plan.probe_rate) > _slot(self.prev_t, self.plan.probe_rate)
        slot = self.prev_t is None or _slot(t, self.plan.rate) > _slot(self.prev_t, self.plan.rate)
        pinned = any((self.prev_t is None or self.prev_t < p) and p <= t + 1e-9 for p in self.plan.pinned)
        slot = slot or pinned
        self.prev_t = t
        if before or not emit:
            out.lookback += 1
            if probe:
                img = cap.retrieve()
                if img is not None:
                    self.prev_hist = _hist(_thumb(_reduced(downscale(img, s.max_side))))
            return True
        if past:
            out.overrun += 1
        else:
            out.decoded += 1
            out.first = t if out.first is None else out.first
            out.last = t
        due = self.pending is not None and t >= self.pending
        if not (due or (not past and (probe or slot))):
            return True
        img = cap.retrieve()
        if img is None:
            return False
        img = downscale(img, s.max_side)
        small = _reduced(img)
        thumb = _thumb(small)
        if probe:
            hist = _hist(thumb)
            cut = self.prev_hist is not None and \
                cv2.compareHist(self.prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA) > s.cut_threshold
            self.prev_hist = hist
            if past:                      # the next segment's probe: only to know the due frame is no cut
                if cut:
                    return False          # a new cut: that segment finds it and takes its after-cut frame
            elif cut:
                out.shots.append({"start": self.shot_start, **(self.extent.to_dict() or {})})
                self.extent, self.shot_start = activearea.ShotExtent(), t
                out.cuts.append(t)
                if not self.keys:
                    self.pending = t + s.cut_delay
                    return True           # the cut frame itself is mid-transition
                due = True                # an encoder puts a keyframe on a hard cut: the shot's first frame
                self.extent.add(activearea.small_gray(small), self.bars)
            else:
                self.extent.add(activearea.small_gray(small), self.bars)
        if not (due or slot):
            return True
        if due:
            self.pending = None
        tg = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY)
        reason = None if pinned else frame_reason(tg, s)
        if reason:
            out.rejected.append(Rejection(t, reason))
            return True
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise VideoError(f"{self.source.name}: frame at {t:.3f}s cannot be encoded", code="Video::Unreadable")
        fid = int(round(t * 1000))
        member = self.pack.add(f"{fid:010d}.jpg", data.tobytes())
        out.frames.append(Sampled(fid, t, bool(due), tg.tobytes(), tg.shape, member, pinned))
        return True

    def close(self) -> None:
        self.out.shots.append({"start": self.shot_start, **(self.extent.to_dict() or {})})


def sample_segment(source: VideoSource, plan_: Plan, seg: Segment, s: FrameSettings,
                   bars: activearea.BarSettings | None = None, pack: framepack.Writer | None = None,
                   progress=None) -> SegmentResult:
    """Decode segment ``seg`` of ``source`` and sample it (see the module's docstring): every frame
    (``plan.scan == "full"``), or a window around each candidate slot (``"windows"``, long films).

    Candidate frames are JPEG-encoded once (quality ``JPEG_QUALITY``) into ``pack``: every later
    step, on this machine or in the cloud, decodes those same bytes, so it sees the same pixels."""
    bars = bars or activearea.BarSettings()
    pack = pack if pack is not None else framepack.Writer()
    out = SegmentResult(seg.index, seg.start, seg.end)
    scan = _Scanner(source, plan_, seg, s, bars, pack, out)
    if plan_.scan == "windows":
        _scan_windows(scan, progress)
    elif plan_.scan == "keys":
        _scan_keys(scan, progress)
    else:
        _scan_full(scan, progress)
    scan.close()
    if progress:
        progress(1.0)
    return out


def _scan_full(scan: _Scanner, progress=None) -> None:
    seg, out, fps = scan.seg, scan.out, scan.plan.header.fps
    lookback = 2.0 / scan.plan.probe_rate + 3.0 / fps
    span = (seg.end - seg.start) if seg.end is not None else max(scan.plan.header.duration - seg.start, 1e-6)
    cap, t0 = _open_before(scan.source, seg.start, lookback, out, scan.s.reference_only)
    prev = None
    try:
        while True:
            t, t0 = (t0, None) if t0 is not None else (cap.grab(), None)
            if t is None:
                break
            if cap.reference_only and prev is not None:
                out.skipped += _skipped(prev, t, fps, seg.start, seg.end)
            prev = t
            past = seg.end is not None and t >= seg.end - 1e-9
            if past and scan.pending is None:
                break
            if not scan.feed(cap, t, t < seg.start - 1e-9, past):
                break
            if progress and out.decoded % 30 == 0:
                progress(min(1.0, (t - seg.start) / span))
    finally:
        cap.close()


KEY_GAP_MAX = 20.0      # s between two keyframes beyond which the frames between count as lost (damage)


def _scan_keys(scan: _Scanner, progress=None) -> None:
    """Keyframes only, from the file's start (such a capture cannot seek; frames before the segment are
    looked at, not counted). The frames between two keyframes count as skipped — read, not lost — up
    to ``KEY_GAP_MAX`` apart; after the last keyframe, up to the end when no more than the longest
    gap seen remains (a film cut short is still a partial read)."""
    seg, out, h = scan.seg, scan.out, scan.plan.header
    fps, end = h.fps, seg.end if seg.end is not None else h.duration
    span = max(end - seg.start, 1e-6)
    cap, prev, widest = Capture(scan.source, keyframes_only=True), None, 1.0 / max(fps, 1e-6)
    try:
        while (t := cap.grab()) is not None:
            if seg.end is not None and t >= seg.end - 1e-9:
                break
            if prev is not None and t > prev:
                widest = max(widest, t - prev)
                if t - prev <= KEY_GAP_MAX:
                    out.skipped += _between(prev, t, fps, seg.start, seg.end)
            prev = t
            if not scan.feed(cap, t, t < seg.start - 1e-9, False):
                break
            if progress and out.decoded % 10 == 0:
                progress(min(1.0, (t - seg.start) / span))
    finally:
        cap.close()
    step = 1.0 / max(fps, 1e-6)
    if prev is not None and end - prev > max(widest, KEY_GAP_MAX) + step:
        _finish_full(scan, prev, progress)        # the read stopped short of the end: decode the rest
    elif prev is not None and end > prev and end - prev <= widest + step:
        out.skipped += _between(prev, end, fps, seg.start, seg.end)


def _finish_full(scan: _Scanner, after: float, progress=None) -> None:
    """A keys read that stopped long before the end (damage, or a reader that gave up): the rest is read
    as a full scan would, from the last keyframe on (a film cut short pays for it once, and stays partial)."""
    seg = scan.seg
    scan.seg, scan.keys = Segment(seg.index, after + 1e-6, seg.end), False
    try:
        _scan_full(scan, progress)
    finally:
        scan.seg = seg


def _between(prev: float, t: float, fps: float, start: float, end: float | None) -> int:
    """Frames of a constant-rate grid strictly between ``prev`` and ``t`` inside [start, end)."""
    n = round((t - prev) * fps) - 1 if fps > 0 else 0
    times = (prev + k / fps for k in range(1, n + 1))
    return sum(1 for u in times if u >= start - 1e-6 and (end is None or u < end - 1e-6))


def frames_planned(plan_: Plan, s: FrameSettings) -> int:
    """The frames the workers are meant to decode, which a partial read is measured against: the
    container's count for a full scan; for a window scan, every window's span inside the video at
    the frame rate (a 2-hour film decodes a few percent of its frames, and is not damaged for it)."""
    h = plan_.header
    if plan_.scan != "windows":
        return h.frame_count
    d = h.duration if h.duration > 0 else math.inf
    spans = sum(max(0.0, min(w1, d) - max(0.0, w0)) for seg in plan_.segments for _, w0, w1 in windows_of(plan_, seg, s))
    return int(round(spans * h.fps))


def windows_of(plan_: Plan, seg: Segment, s: FrameSettings) -> list[tuple[int, float, float]]:
    """(slot k, window start, window end) of each candidate slot k/rate in [seg.start, seg.end)."""
    k0 = math.ceil(seg.start * plan_.rate - 1e-9)
    end = seg.end if seg.end is not None else max(plan_.header.duration, seg.start)
    out = []
    k = k0
    while k / plan_.rate < end - 1e-9 or (seg.end is None and not out and k == k0):
        t = k / plan_.rate
        out.append((k, max(0.0, t - s.window_lead), t + s.window))
        k += 1
        if seg.end is None and t >= end:
            break
    for p in plan_.pinned:                     # a pinned time in this segment gets its own short window
        if seg.start <= p < end and not any(w0 <= p < w1 for _, w0, w1 in out):
            out.append((-1, max(0.0, p - s.window_lead), p + 1.0 / plan_.probe_rate))
    return sorted(out, key=lambda w: w[1])


def _scan_windows(scan: _Scanner, progress=None) -> None:
    """A few seconds around each candidate slot (``windows_from`` keeps windows apart): seek (redone further
    back if it lands late), decode to the window's end. Before the segment's first window, the previous slot's window is decoded unseen,
    exactly as the previous worker decoded it, so its last probe is this worker's first comparison too."""
    plan_, seg, s, out = scan.plan, scan.seg, scan.s, scan.out
    wins = windows_of(plan_, seg, s)
    k_first = wins[0][0] if wins else None
    replay = None
    if k_first:
        prev = (k_first - 1) / plan_.rate
        replay = (k_first - 1, max(0.0, prev - s.window_lead), prev + s.window)
        wins = [replay] + wins
    nudge = 2.0 / plan_.header.fps
    for n, (k, w0, w1) in enumerate(wins):
        emit = (k, w0, w1) != replay                    # a window is its slot's, wholly, even past seg.end
        cap, t0 = _open_before(scan.source, w0, nudge, out) if w0 > 0 else (Capture(scan.source), None)
        scan.prev_t = w0 - 1e-6                         # the grids are global: slot k starts at k / rate
        try:
            while True:
                t, t0 = (t0, None) if t0 is not None else (cap.grab(), None)
                if t is None or t >= w1 - 1e-9:
                    break
                if t < w0 - 1e-9:
                    out.lookback += 1
                    continue
                if not scan.feed(cap, t, False, False, emit):
                    break
        finally:
            cap.close()
        if progress:
            progress(min(1.0, (n + 1) / len(wins)))
