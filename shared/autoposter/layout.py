"""M8: where each layer goes on the poster.

* Fixed layers take the largest box of their own aspect ratio inside their first
  placement region (aligned left, centre or right; vertically centred).
* Free layers slide a box of their size across their second placement region.
  The merged region is (placement ∩ faces) ∪ (placement ∩ salient region); the
  candidate with the smallest intersection with it wins, and among exact ties the
  one whose pixels have the smallest variance. With ``faces_first`` (the
  default) the face part of that intersection is compared first: a title may
  cover some of the body but never a face while a face-free spot exists —
  otherwise a small face always "costs" less than a large salient body.
  Integral images make every candidate O(1), so a fine grid costs milliseconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from .cropping import clear_head, inside_share, subject_top
from .geometry import Box


@dataclass
class Placement:
    name: str
    kind: str                       # "fixed" | "free"
    box: Box                        # poster pixels
    region: Box                     # the placement region it was chosen in
    candidates: list = field(default_factory=list)   # free: boxes tried
    overlap: float = 0.0            # free: pixels of the merged region under the box
    variance: float | None = None   # free: pixel variance under the box
    merged: list = field(default_factory=list)       # free: boxes of the merged region
    extra: dict = field(default_factory=dict)        # drawing facts (contrast, plate, font size)

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind, "box": self.box.to_list(None)}
        d.update(self.extra)
        return d


def region_px(frac: tuple, width: int, height: int) -> Box:
    x, y, w, h = frac
    return Box(round(x * width), round(y * height), max(1, round(w * width)), max(1, round(h * height)))


def fixed_box(region: Box, aspect: float, align: str = "center") -> Box:
    """Largest box with ``aspect`` (w/h) inside ``region``."""
    if region.w / region.h > aspect:
        h = region.h
        w = h * aspect
    else:
        w = region.w
        h = w / aspect
    if align == "left":
        x = region.x
    elif align == "right":
        x = region.x2 - w
    else:
        x = region.x + (region.w - w) / 2
    y = region.y + (region.h - h) / 2
    return Box(round(x), round(y), max(1, round(w)), max(1, round(h)))


def _box_sums(ii: np.ndarray, xs: np.ndarray, ys: np.ndarray, w: int, h: int) -> np.ndarray:
    """Sums over every w×h box at (xs × ys) from an integral image (cv2.integral layout)."""
    X, Y = np.meshgrid(xs, ys)
    return ii[Y + h, X + w] - ii[Y, X + w] - ii[Y + h, X] + ii[Y, X]


def _positions(start: int, stop: int, steps: int, edges=()) -> np.ndarray:
    """An even grid over [start, stop] plus the spots flush against obstacle edges."""
    if stop <= start:
        return np.array([start], dtype=np.int64)
    n = max(2, min(steps, stop - start + 1))
    grid = np.round(np.linspace(start, stop, n)).astype(np.int64)
    snaps = np.array([e for e in edges if start <= e <= stop], dtype=np.int64)
    return np.unique(np.concatenate([grid, snaps]))


def free_box(gray: np.ndarray, region: Box, size: tuple[int, int], faces: list[Box],
             salient: Box | None, name: str = "free", steps: int = 48,
             faces_first: bool = True, bodies=()) -> Placement:
    """M8 free-layer choice on a poster whose grey pixels are ``gray`` (H×W). ``faces`` are the heads
    (Q2: avoided first), ``bodies`` the people's bodies (avoided next), then the salient region."""
    H, W = gray.shape[:2]
    r = region.clip(W, H) or Box(0, 0, W, H)
    rx, ry = int(round(r.x)), int(round(r.y))
    rx2, ry2 = int(round(r.x2)), int(round(r.y2))
    w, h = min(int(size[0]), rx2 - rx), min(int(size[1]), ry2 - ry)
    w, h = max(1, w), max(1, h)
    # everything below works in the region's own coordinates
    rw, rh = rx2 - rx, ry2 - ry
    mask = np.zeros((rh, rw), dtype=np.uint8)
    face_mask = np.zeros((rh, rw), dtype=np.uint8)
    merged = []
    for kind, b in [("face", f) for f in faces] + [("body", b) for b in bodies] + \
            ([("salient", salient)] if salient is not None else []):
        part = b.intersection(r)
        if part is None:
            continue
        x1, y1 = int(np.floor(part.x)) - rx, int(np.floor(part.y)) - ry
        x2, y2 = int(np.ceil(part.x2)) - rx, int(np.ceil(part.y2)) - ry
        if kind == "body":
            continue
        merged.append(part)
        mask[max(0, y1):y2, max(0, x1):x2] = 1
        if kind == "face":
            face_mask[max(0, y1):y2, max(0, x1):x2] = 1
    xs = _positions(0, rw - w, steps, [e - rx for m in merged for e in (math.ceil(m.x2), math.floor(m.x) - w)])
    ys = _positions(0, rh - h, steps, [e - ry for m in merged for e in (math.ceil(m.y2), math.floor(m.y) - h)])
    overlap = _box_sums(cv2.integral(mask), xs, ys, w, h).astype(np.float64)
    cost = overlap
    big = float(H * W + 1)
    if bodies:                                   # bodies before the salient region: the most of any one
        worst = np.zeros((len(ys), len(xs)))     # body's box under the layer (a chest, not a sliver of arm)
        for b in bodies:
            part = b.intersection(r)
            if part is None:
                continue
            one = np.zeros((rh, rw), dtype=np.uint8)
            x1, y1 = max(0, int(np.floor(part.x)) - rx), max(0, int(np.floor(part.y)) - ry)
            one[y1:int(np.ceil(part.y2)) - ry, x1:int(np.ceil(part.x2)) - rx] = 1
            worst = np.maximum(worst, _box_sums(cv2.integral(one), xs, ys, w, h) / max(b.w * b.h, 1.0))
        cost = np.round(worst, 2) * big * 100 + overlap
    if faces_first and faces:                    # ...and heads before everything
        cost = _box_sums(cv2.integral(face_mask), xs, ys, w, h) * big * big + cost
    s1, s2 = cv2.integral2(np.ascontiguousarray(gray[ry:ry2, rx:rx2]), sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
    n = float(w * h)
    var = np.maximum(0.0, _box_sums(s2, xs, ys, w, h) / n - (_box_sums(s1, xs, ys, w, h) / n) ** 2)
    tie = cost <= cost.min() + 0.5
    var_masked = np.where(tie, var, np.inf)
    iy, ix = np.unravel_index(int(np.argmin(var_masked)), var_masked.shape)
    box = Box(int(xs[ix]) + rx, int(ys[iy]) + ry, w, h)
    cands = [Box(int(x) + rx, int(y) + ry, w, h) for y in ys for x in xs]
    return Placement(name, "free", box, r, cands, float(overlap[iy, ix]), float(var[iy, ix]), merged)


# Q2: a free layer narrows (its text wraps smaller), then shrinks, before it covers a person...
SHRINK = ((1.0, 1.0), (0.78, 1.0), (0.6, 1.0), (0.6, 0.75), (0.5, 0.6))   # (width, height) of the template's size
BODY_CLEAR = 0.07           # ...that is, more than this share of a body's box, or any of a head
SUBJECT_CLEAR = 0.07        # with nobody in the frame, the same ladder keeps it off the main subject (more than this
SUBJECT_MAX = 0.25          # share of the salient box) when a smaller title can, if the subject fills at most this
                            # share of the poster: a rocket, a bike; not a cat's face filling the picture


HEAD_ROOM = 0.15            # free layers keep this share of a head's size clear around it: hair, ears and a drawn
                            # character's head run past the detector's box (labelled set: a title over a head
                            # 3.3 -> 2.9 % of posters, over a body 4.2 -> 4.7 %)


def covers(box: Box, faces, bodies) -> tuple[float, float]:
    """The most of any head and of any body that ``box`` covers (shares of their boxes)."""
    return (max((inside_share(f, box) for f in faces), default=0.0),
            max((inside_share(b, box) for b in bodies), default=0.0))


def free_place(gray: np.ndarray, region: Box, size: tuple[int, int], faces: list[Box], salient: Box | None,
               name: str = "free", bodies=()) -> Placement:
    """``free_box`` at the template's size, or narrower, then smaller (``SHRINK``), when only such a
    box keeps off every head (with ``HEAD_ROOM`` around it) and body: the largest clear one wins. When none is
    clear, the one that covers the least of the heads with their room, then one of the template's height (a small title slipped between
    a group's chests reads worse than a full one over their legs), then the least of a body. With nobody
    in the frame, the ladder is climbed for a compact salient subject (``SUBJECT_CLEAR``, ``SUBJECT_MAX``);
    when no rung clears it, the title keeps the template's size. A larger subject's top band
    (``cropping.SUBJECT_TOP``) is its head: kept clear as a person's is. Should that choice lie on a head
    itself (a close-up leaves no room clear), the ladder is climbed again against the heads without their
    room: a title may touch a head's room, not the head; when that finds no clear box either, the least of
    the heads themselves decides, then of their room."""
    tried = []
    H, W = gray.shape[:2]
    bare = list(faces)
    faces = [clear_head(f, HEAD_ROOM, W, H) for f in faces]     # hair and ears past a detected head's box
    people = bool(faces or bodies)
    subject = salient if (not people and salient is not None
                          and salient.area <= SUBJECT_MAX * gray.shape[0] * gray.shape[1]) else None
    if not people and salient is not None and subject is None:
        faces = bare = [subject_top(salient)]                   # a large faceless subject: its head

    def ladder(keep):
        """Climb SHRINK against ``keep``: the first clear box, or None with every box tried in ``tried``."""
        for kw, kh in SHRINK if (faces or bodies or subject is not None) else ((1.0, 1.0),):
            pl = free_box(gray, region, (max(1, round(size[0] * kw)), max(1, round(size[1] * kh))), keep, salient,
                          name, bodies=bodies)
            if kw < 1.0:
                pl.extra["narrowed"] = kw
            if kh < 1.0:
                pl.extra["shrunk"] = kh
            head, body = covers(pl.box, keep, bodies)
            if subject is not None:
                if inside_share(subject, pl.box) <= SUBJECT_CLEAR:
                    return pl
            elif head == 0.0 and body <= BODY_CLEAR:
                return pl
            tried.append((round(covers(pl.box, bare, ())[0], 3), round(covers(pl.box, faces, ())[0], 3), kh < 1.0,
                          round(body, 3), -kw * kh, pl))
        return None

    found = ladder(faces)
    if found is not None:
        return found
    if subject is not None:
        return tried[0][-1]
    best = min(tried, key=lambda t: t[1:5])                     # the least of the heads with their room...
    if best[0] > 0.0 and bare != faces:                         # ...but on a head itself (a close-up leaves no room
        found = ladder(bare)                                    # clear): a box that only touches a head's room
        if found is not None:
            return found
        best = min(tried, key=lambda t: t[:5])
    return best[-1]
