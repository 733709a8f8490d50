"""M1 across the whole film: one shot list, one near-duplicate chain, one frame budget (S11).

Workers sample their segments (``frames.sample_segment``); this step, which sees all of them,
decides what only the whole film can decide:

* shots — a cut found by any worker starts a shot; a frame's shot is the number of cuts before it;
* the active picture of each shot (``activearea``): the bars its workers saw, merged;
* near-duplicates — each candidate against the last one kept, in time order, across segments;
* one moment, one candidate — within a shot, candidates closer than ``moment`` s collapse
  (the frame just after a cut wins);
* the budget — at most ``max_frames`` candidates are analysed, spread over the shots: every shot's
  best-placed frame first (longest shots first), then second frames, and so on.

The result, ``Sampling``, lists the frames to analyse in batches; the CLI and the cloud both
get theirs from here, so both analyse the same frames.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from . import activearea
from .frames import FrameSettings, Plan, SegmentResult, frame_size, frames_planned
from .geometry import Box
from .errors import VideoError


@dataclass(frozen=True)
class FrameRef:
    """One frame to analyse: where its JPEG is (segment pack, byte range), its shot and active picture."""

    id: int                       # time in ms
    time: float
    shot: int
    after_cut: bool
    segment: int
    offset: int
    length: int
    active: tuple                 # (x, y, w, h) of the active picture, frame pixels

    def to_dict(self) -> dict:
        return {"id": self.id, "time": round(self.time, 6), "shot": self.shot, "cut": self.after_cut,
                "seg": self.segment, "at": [self.offset, self.length], "active": list(self.active)}

    @classmethod
    def from_dict(cls, d: dict) -> "FrameRef":
        return cls(int(d["id"]), float(d["time"]), int(d["shot"]), bool(d["cut"]), int(d["seg"]),
                   int(d["at"][0]), int(d["at"][1]), tuple(int(v) for v in d["active"]))

    @property
    def active_box(self) -> Box:
        return Box(*self.active)


@dataclass
class Sampling:
    video: dict                                     # facts for the manifest
    shots: list                                     # {"start", "end", "bars", "active"}
    frames: list                                    # FrameRef, time order: what gets analysed
    rejected: list = field(default_factory=list)    # {"frame_time", "reason"}

    def batches(self, size: int) -> list[list[FrameRef]]:
        from .framepack import split
        return [[self.frames[i] for i in r] for r in split(len(self.frames), size)]

    def to_dict(self) -> dict:
        return {"video": self.video, "shots": self.shots, "frames": [f.to_dict() for f in self.frames],
                "rejected": self.rejected}

    @classmethod
    def from_dict(cls, d: dict) -> "Sampling":
        return cls(dict(d["video"]), list(d["shots"]), [FrameRef.from_dict(f) for f in d["frames"]],
                   list(d.get("rejected", [])))


def _spread(n: int) -> list[int]:
    """Positions 0..n-1 in the order that spreads them best: middle, then quarters, then eighths…"""
    order, seen = [], set()
    depth = 1
    while len(order) < n:
        for k in range(1, 2 ** depth, 2):
            i = min(n - 1, int(k * n / 2 ** depth))
            if i not in seen:
                seen.add(i)
                order.append(i)
        depth += 1
        if depth > 40:
            order += [i for i in range(n) if i not in seen]
    return order


def budget(cands: list, shot_of, max_frames: int) -> list:
    """At most ``max_frames`` candidates spread over shots: round r takes each shot's r-th frame (its
    after-cut frame first, then the best-spread ones), longest shots first."""
    if len(cands) <= max_frames:
        return list(cands)
    by_shot: dict[int, list] = {}
    for c in cands:
        by_shot.setdefault(shot_of(c), []).append(c)
    queues = []
    for shot, items in by_shot.items():
        items.sort(key=lambda c: c.time)
        first = [c for c in items if c.after_cut][:1]
        rest = [c for c in items if c not in first]
        ordered = first + [rest[i] for i in _spread(len(rest))]
        span = items[-1].time - items[0].time
        queues.append((-(span + len(items)), items[0].time, ordered))
    queues.sort(key=lambda q: (q[0], q[1]))
    kept: list = []
    r = 0
    while len(kept) < max_frames:
        took = False
        for _, _, q in queues:
            if r < len(q):
                kept.append(q[r])
                took = True
                if len(kept) >= max_frames:
                    break
        if not took:
            break
        r += 1
    return sorted(kept, key=lambda c: c.time)


def sample(plan: Plan, results: list[SegmentResult], s: FrameSettings,
           bars: activearea.BarSettings | None = None) -> Sampling:
    """The film's shots, bars and candidates from its segments' results (see the module's docstring)."""
    bars = bars or activearea.BarSettings()
    results = sorted(results, key=lambda r: r.index)
    planned = {seg.index for seg in plan.segments}
    if not results or not {r.index for r in results} <= planned:
        raise ValueError("sampling needs results of the plan's own segments")
    gaps = sorted(planned - {r.index for r in results})        # workers that failed (within the tolerance)
    h = plan.header
    fw, fh = frame_size(h.width, h.height, s.max_side)
    cuts = sorted({c for r in results for c in r.cuts})
    end = max([r.last for r in results if r.last is not None] or [h.duration])

    def shot_at(t: float) -> int:
        return bisect.bisect_right(cuts, t + 1e-9)

    pieces: dict[int, list] = {}
    for r in results:
        for piece in r.shots:
            if "bars" in piece:
                pieces.setdefault(shot_at(piece["start"]), []).append(piece)
    n_shots = len(cuts) + 1
    extents = [activearea.merge(pieces.get(i, [])) for i in range(n_shots)]
    shot_bars = activearea.decide(extents, bars)
    starts = [0.0] + cuts
    shots = []
    for i in range(n_shots):
        box = activearea.active_box(shot_bars[i], fw, fh, bars)
        shots.append({"start": round(starts[i], 3), "end": round(starts[i + 1] if i + 1 < n_shots else end, 3),
                      "bars": [round(v, 4) for v in shot_bars[i]], "active": box.to_list(None)})
    rejected = [rj.to_dict() for r in results for rj in r.rejected]
    seen, cands = set(), []
    for r in results:                               # one frame once: an after-cut frame past a segment's
        for f in r.frames:                          # end may also be the next segment's first slot
            if f.id in seen:
                continue
            seen.add(f.id)
            cands.append((r.index, f))
    cands.sort(key=lambda x: (x[1].time, not x[1].after_cut))
    kept, last = [], None
    for seg, f in cands:                            # near-duplicates: against the last one kept
        th = f.thumb_array()
        if not f.pinned and last is not None and last.shape == th.shape and \
                float(np.abs(th - last).mean()) < s.dup_distance:
            rejected.append({"frame_time": round(f.time, 3), "reason": "near_duplicate"})
            continue
        last = th
        kept.append((seg, f))
    moment = 0.5 / plan.rate
    refs, pinned = [], set()
    for seg, f in kept:                             # one moment, one candidate (after-cut frames first)
        shot = shot_at(f.time)
        ref = FrameRef(f.id, f.time, shot, f.after_cut, seg, f.member[0], f.member[1], tuple(shots[shot]["active"]))
        last = refs[-1] if refs else None           # time order: only the last one kept can be this moment
        if last is not None and last.shot == shot and f.time - last.time < moment:
            drop = last if (f.pinned or (f.after_cut and not last.after_cut)) and last.id not in pinned else ref
            if drop is ref and f.pinned:
                drop = None                         # two pinned moments close together: both stay
            if drop is not None:
                rejected.append({"frame_time": round(drop.time, 3), "reason": "same_moment"})
                if drop is ref:
                    continue
                refs.pop()
        refs.append(ref)
        if f.pinned:
            pinned.add(f.id)
    refs.sort(key=lambda f: f.time)
    sampled = len(refs)
    kept_pins = [r for r in refs if r.id in pinned]             # an editor's pins pass the budget first
    refs = sorted(kept_pins + budget([r for r in refs if r.id not in pinned], lambda f: f.shot,
                                     max(0, s.max_frames - len(kept_pins))), key=lambda f: f.time)
    rejected.sort(key=lambda r: r["frame_time"])
    decoded = sum(r.decoded for r in results)
    skipped = sum(r.skipped for r in results)      # non-reference frames a full scan passed over: read, not lost
    expected = frames_planned(plan, s)             # a window scan is measured against its windows
    video = {**h.to_dict(), "cuts": [round(c, 2) for c in cuts], "shots": n_shots,
             "frames_decoded": decoded, "frames_skipped": skipped, "frames_expected": expected,
             "partial_read": bool(expected > 1 and decoded + skipped < s.partial_share * expected),
             "frames_sampled": len(cands) + sum(len(r.rejected) for r in results),
             "frames_analysed": len(refs), "over_budget": max(0, sampled - len(refs)),
             "segments": len(plan.segments), "segments_failed": gaps, "rate": round(plan.rate, 6), "scan": plan.scan,
             "key_interval": None if plan.key_interval is None else round(plan.key_interval, 4), "frame_width": fw, "frame_height": fh,
             "letterboxed": any(any(v > 0 for v in b) for b in shot_bars)}
    if decoded == 0:
        raise VideoError(f"{h.name}: no frame could be decoded (truncated or corrupt video)", code="Video::Unreadable")
    return Sampling(video, shots, refs, rejected)
