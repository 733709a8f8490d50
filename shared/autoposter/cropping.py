"""M4–M7: where to cut, and at which size.

All geometry is pure and integer-exact so the property tests can pin it:
``crop_window`` (M4), ``crop_center`` (M5), ``group_faces`` (M6), ``Scenario`` (M7).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import Box


@dataclass(frozen=True)
class Scenario:
    """An application scenario: a name and the output size it implies (M7)."""

    name: str
    width: int
    height: int

    @property
    def aspect(self) -> float:
        return self.width / self.height


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("story", 1080, 1920),      # 9:16
    Scenario("feed", 1080, 1080),       # 1:1
    Scenario("portrait", 1080, 1350),   # 4:5
    Scenario("landscape", 1920, 1080),  # 16:9
    Scenario("cover", 1000, 1500),      # 2:3
)}


@dataclass(frozen=True)
class CropSettings:
    alpha: float = 0.7       # M5 weight of the face centre when it lies inside the salient region
    dilation: float = 1.5    # M6 face-box dilation coefficient before grouping
    keep_group: bool = True  # shift (never shrink) the window to hold the face group when it fits
    whole: float = 0.95      # Q1: a face at least this share inside the crop is kept whole...
    outside: float = 0.05    # ...at most this share inside is left out; anything between is "cut"
    person_share: float = 0.25  # faces at least this share of the group's largest face count as people to keep
    layer_cover: float = 0.02   # Q2: a fixed layer covering more of a kept head than this moves (or fits) the window
    face_margin: float = 0.2    # Q1/Q2 judge a face by its detector box grown this share of its size each
                                # side: a person's face runs ear to ear and hairline to chin, MTCNN's box less
    head_clearance: float = 0.1  # Q1: where it costs no person, window edges keep this share of a head's size
                                 # clear of it: detected heads are a few pixels off the real ones
    head_clearance_min: float = 0.01  # ... and at least this share of the picture's shorter side (small heads)
    seam_weight: float = 0.25   # Q7, nobody in the frame: weight of the saliency under the window's edges
    seam_centre: float = 0.0    # ... and of the window's distance from the picture's centre (share of the free span)
    fit_max_scale: float = 2.0  # a fit window (fitting.py) is at most this many times the crop's side...
    fit_max_backdrop: float = 0.5  # ...and at most this share of the poster lies outside the picture
    fit_subject_backdrop: float = 0.25  # nobody in the frame: a fit window may hold a subject wider than the crop
                                        # whole, with at most this share of the poster outside the picture (0 = off)
    fit_people: bool = True     # a fit may also be made to keep more people whole than the crop can (the
                                # group of a wide shot in a 9:16 story), never at the cost of a head
    fit_title_bodies: bool = False  # a fit may also be made so the title finds a spot off the bodies (not only the
                                    # heads): off, since editors preferred the crop without the band (bench.pairs)


def group_faces(boxes: list[Box], dilation: float) -> list[Box]:
    """M6: merge faces whose dilated boxes intersect, transitively; largest group first.

    A group box is the union of the (undilated) face boxes in it.
    """
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    dil = [b.dilate(dilation) for b in boxes]
    for i in range(n):
        for j in range(i + 1, n):
            if dil[i].intersects(dil[j]):
                parent[find(i)] = find(j)
    groups: dict[int, Box] = {}
    for i, b in enumerate(boxes):
        r = find(i)
        groups[r] = groups[r].union(b) if r in groups else b
    return sorted(groups.values(), key=lambda g: (-g.area, g.x, g.y))


def crop_center(width: int, height: int, faces: list[Box], salient: Box | None,
                s: CropSettings | None = None) -> tuple[float, float]:
    """M5: the crop centre from the face group (c1) and the salient region (c2)."""
    s = s or CropSettings()
    if not faces:
        return salient.center if salient is not None else (width / 2.0, height / 2.0)
    c1 = group_faces(faces, s.dilation)[0].center
    if salient is None or not salient.contains_point(c1):
        return c1
    c2 = salient.center
    return (s.alpha * c1[0] + (1 - s.alpha) * c2[0], s.alpha * c1[1] + (1 - s.alpha) * c2[1])


def _place(center: float, size: int, limit: int) -> int:
    """Start of a window of ``size`` centred on ``center``, shifted to lie in [0, limit]."""
    start = int(round(center - size / 2.0))
    return max(0, min(limit - size, start))


def _hold(start: int, size: int, limit: int, lo_edge, hi_edge) -> int:
    """Shift ``start`` the least so that [lo_edge, hi_edge] lies in the window, if it can."""
    if lo_edge is None:
        return start
    lo, hi = math.ceil(hi_edge) - size, math.floor(lo_edge)
    if lo <= hi:
        start = min(max(start, lo), hi)
    return max(0, min(limit - size, start))


def crop_window(width: int, height: int, aspect: float, center: tuple[float, float],
                keep: Box | None = None) -> Box:
    """M4: the largest window of ``aspect`` (w'/h') inside ``width × height`` about ``center``.

    Equal aspect within one pixel means no crop. The window is shifted, never
    shrunk, to stay inside the image; when ``keep`` (the face group) fits in it,
    the window is shifted the least amount needed to hold it.
    """
    if width <= 0 or height <= 0 or aspect <= 0:
        raise ValueError("crop_window needs a positive size and aspect")
    cw_full_h = int(round(height * aspect))
    ch_full_w = int(round(width / aspect))
    if abs(width - cw_full_h) <= 1 or abs(height - ch_full_w) <= 1:
        return Box(0, 0, width, height)
    if width / height > aspect:
        cw, ch = max(1, min(width, cw_full_h)), height
        x, y = _place(center[0], cw, width), 0
        x = _hold(x, cw, width, keep.x if keep else None, keep.x2 if keep else None)
    else:
        cw, ch = width, max(1, min(height, ch_full_w))
        x, y = 0, _place(center[1], ch, height)
        y = _hold(y, ch, height, keep.y if keep else None, keep.y2 if keep else None)
    return Box(x, y, cw, ch)


def person_face(f: Box, margin: float, width: float, height: float) -> Box:
    """A detector's face box grown by ``margin`` of its size each side, inside the frame: what a
    person calls the face (ears, hairline), which Q1 and Q2 protect."""
    return Box(f.x - margin * f.w, f.y - margin * f.h, f.w * (1 + 2 * margin),
               f.h * (1 + 2 * margin)).clip(width, height) or f


def clear_head(h: Box, clearance: float, width: float, height: float, floor: float = 0.0) -> Box:
    """``h`` grown by ``clearance`` of its size each side, and at least ``floor`` pixels, inside the
    picture: the head a window's edge keeps clear of (Q1), so a detector a few pixels off does not
    leave a real head sliced (a head 15 px tall is off by as many pixels as one 150 px tall)."""
    dx, dy = max(clearance * h.w, floor), max(clearance * h.h, floor)
    if dx <= 0 and dy <= 0:
        return h
    return Box(h.x - dx, h.y - dy, h.w + 2 * dx, h.h + 2 * dy).clip(width, height) or h


def clear_heads(heads: list[Box], s: CropSettings, width: float, height: float) -> list[Box]:
    """Every head grown by ``s.head_clearance`` of its size, and at least ``s.head_clearance_min`` of the
    picture's shorter side (``clear_head``): what window edges keep clear of."""
    floor = s.head_clearance_min * min(width, height)
    return [clear_head(h, s.head_clearance, width, height, floor) for h in heads]


def inside_share(face: Box, window: Box) -> float:
    i = face.intersection(window)
    return i.area / face.area if i and face.area > 0 else 0.0


def seam_scores(profile: dict, axis: str, length: int, size: int, weight: float, centre: float = 0.0):
    """Every start of a window of ``size`` along ``axis`` (of ``length`` pixels) and its score when
    nobody is in the frame: the most saliency mass inside, less ``weight`` × the mean peak saliency
    under its two edges — a faceless lead (an animal, a car, a drawn character) is kept whole rather
    than centred on a blob that holds several things (Q7) — less ``centre`` × its distance from the
    centred window (0 at the centre, 1 at either end): photographers centre what a map spreads."""
    mass = np.asarray(profile[axis], dtype=np.float64)
    peak = np.asarray(profile[f"{axis}_peak"], dtype=np.float64)
    n = len(mass)
    centres = (np.arange(n) + 0.5) * length / n
    px = np.arange(length) + 0.5
    per_px = np.interp(px, centres, mass) * n / length          # mass per pixel, summing to ~1
    cum = np.concatenate([[0.0], np.cumsum(per_px)])
    starts = np.arange(length - size + 1)
    inside = cum[starts + size] - cum[starts]
    edge = (np.interp(starts + 0.5, centres, peak) + np.interp(starts + size - 0.5, centres, peak)) / 2
    span = max(length - size, 1)
    off = np.abs(starts - span / 2) / (span / 2) if length > size else np.zeros(len(starts))
    return starts, np.round(inside - weight * edge - centre * off, 4)


def seam_start(profile: dict, axis: str, length: int, size: int, weight: float, prefer: int = 0,
               centre: float = 0.0) -> int:
    """Where a window of ``size`` starts when nobody is in the frame: the best of ``seam_scores``,
    ties to the start nearest ``prefer`` (M5's window)."""
    starts, score = seam_scores(profile, axis, length, size, weight, centre)
    return int(starts[_seam_pick(starts, score, prefer)])


def _seam_pick(starts: np.ndarray, score: np.ndarray, prefer: float, *first) -> int:
    """Index of the best start: ``first`` keys (least significant first), then the best ``score``,
    then the start nearest ``prefer``."""
    return int(np.lexsort((np.abs(starts - prefer), -score) + first)[0])


SUBJECT_TOP = 0.5           # a faceless subject's top band, this share of its shorter side, is kept clear as a head is:
                            # where a drawn character's or an animal's head is. Titles keep off it (labelled set: a title
                            # over a head 2.9 -> 2.5 %; judges split 19-17, ab-subject-top-2026-12-08), and so do fixed
                            # layers where the window can move (plan_crop)


def subject_top(salient: Box) -> Box:
    """The top band of a faceless subject where its head most likely is (``SUBJECT_TOP``)."""
    return Box(salient.x, salient.y, salient.w, SUBJECT_TOP * min(salient.w, salient.h))


def _band_cover(starts: np.ndarray, size: float, full: float, horizontal: bool, avoid, band: Box) -> np.ndarray:
    """For each window start, the largest share of ``band`` (a head, a faceless lead's top band) under a
    fixed layer (``avoid``: boxes in poster fractions; a zone moves with the start along the free axis
    and spans ``full`` pixels across it)."""
    a0, a1 = (band.x, band.x2) if horizontal else (band.y, band.y2)
    b0, b1 = (band.y, band.y2) if horizontal else (band.x, band.x2)
    cover = np.zeros(len(starts))
    for fx, fy, fw, fh in avoid:
        z0, z1 = (fx, fx + fw) if horizontal else (fy, fy + fh)
        c0, c1 = (fy, fy + fh) if horizontal else (fx, fx + fw)
        along = np.clip(np.minimum(starts + z1 * size, a1) - np.maximum(starts + z0 * size, a0), 0, None)
        across = max(0.0, min(c1 * full, b1) - max(c0 * full, b0))
        cover = np.maximum(cover, along * across / max(band.area, 1e-9))
    return cover


@dataclass(frozen=True)
class CropPlan:
    """The window for one frame, scenario and template, and what it traded (Q1, Q2)."""

    window: Box
    group: Box | None
    center: tuple
    faces_cut: tuple = ()        # indexes of faces neither whole inside (≥ 95 %) nor left out (≤ 5 %)
    layer_cover: float = 0.0     # the most of a kept face a fixed layer covers (share of the face)
    mode: str = "crop"           # "crop": inside the picture; "fit": larger, the rest a backdrop (fitting.py)


def _cover(window: Box, avoid, faces, kept) -> float:
    """Largest share of a kept face under a fixed layer; ``avoid`` holds fractions of the poster."""
    worst = 0.0
    for fx, fy, fw, fh in avoid:
        zone = Box(window.x + fx * window.w, window.y + fy * window.h, fw * window.w, fh * window.h)
        for i in kept:
            worst = max(worst, inside_share(faces[i], zone))
    return worst


def plan_crop(width: int, height: int, scenario: Scenario, faces: list[Box], salient: Box | None,
              s: CropSettings | None = None, avoid=(), heads: list[Box] | None = None,
              bodies: list[Box] | None = None, center: tuple | None = None, profile: dict | None = None,
              leads: list[bool] | None = None) -> CropPlan:
    """M4–M6's window, then the position along its free axis that cuts no head (Q1), keeps every
    person that fits, and keeps fixed layers (``avoid``: boxes in poster fractions) off kept heads
    (Q2). M6's group stays whole whenever it fits; the M5 position wins every tie.

    ``heads`` are the heads a person sees (hair and ears, any view; default: ``faces`` grown by
    ``face_margin``): M5 and M6 work on them when given (people are grouped, not only faces), Q1
    and Q2 protect them. ``bodies`` are kept as whole as the window allows, after heads. With no
    head at all, the salient region — the faceless lead, a cartoon character, an animal — is held
    whole when it fits (Q7). ``center`` (an editor's focus point, S14) replaces M5's centre and the
    window stays there: no search, but what it cuts and covers is still reported. With no head and
    the saliency map's ``profile`` (``saliency.profile``), the window goes where it holds the most of
    the map and its edges cross the least of it (``seam_scores``): between objects, not through one.
    With no head, fixed layers (``avoid``) and a salient region, profile or not, a window that holds the
    lead whole moves to the best start (by the same score) that still holds it whole and puts no fixed
    layer on its top band, where its head is (``subject_top``), when one does; a window that holds only
    a part of it stays (a cup larger than the window is not moved off the cup).
    ``leads`` (one flag a head) says which heads may lead M5 and M6 when any does: a back view found
    on the learned map is kept whole and clear of layers, but a face seen is the poster's centre."""
    s = s or CropSettings()
    if heads is None:
        heads = [person_face(f, s.face_margin, width, height) for f in faces]
        centre_boxes = faces
    else:
        centre_boxes = heads
    led = leads is not None and any(leads) and not all(leads)
    if led:
        centre_boxes = [b for b, lead in zip(heads, leads, strict=True) if lead]
    if centre_boxes:        # M6 groups people: a face under person_share of the largest (a diner behind
        big = max(b.area for b in centre_boxes)        # the lead) neither joins the group nor moves the window
        centre_boxes = [b for b in centre_boxes if b.area >= s.person_share * big]
    group = group_faces(centre_boxes, s.dilation)[0] if centre_boxes else None
    pinned = center is not None
    center = center if pinned else crop_center(width, height, centre_boxes, salient, s)
    keep = None if pinned else ((group if s.keep_group else None) if group is not None else salient)
    base = crop_window(width, height, scenario.aspect, center, keep)
    faces = heads
    horizontal = base.w < width
    span = (width if horizontal else height) - (base.w if horizontal else base.h)
    if not faces:
        if not pinned and span > 0:
            size, prefer = (base.w, base.x) if horizontal else (base.h, base.y)
            if profile:
                starts, score = seam_scores(profile, "x" if horizontal else "y", width if horizontal else height,
                                            size, s.seam_weight, s.seam_centre)
            else:
                starts, score = np.arange(span + 1), np.zeros(span + 1)
            pick = _seam_pick(starts, score, prefer)
            if avoid and salient is not None:     # Q2 for a faceless lead: no fixed layer on its head (top band),
                a0, a1 = (salient.x, salient.x2) if horizontal else (salient.y, salient.y2)
                whole = (starts <= a0 + 0.5) & (starts + size >= a1 - 0.5)     # by a move that keeps it whole
                if whole[pick]:
                    over = ~whole | (_band_cover(starts, size, base.h if horizontal else base.w, horizontal, avoid,
                                                 subject_top(salient)) > s.layer_cover)
                    pick = _seam_pick(starts, score, prefer, over)
            start = int(starts[pick])
            base = Box(start, 0, base.w, base.h) if horizontal else Box(0, start, base.w, base.h)
        return CropPlan(base, group, center)
    size = base.w if horizontal else base.h
    start0 = int(base.x if horizontal else base.y)
    starts = np.arange(span + 1, dtype=np.float64) if not pinned else np.array([float(start0)])

    def along(b: Box):
        return (b.x, b.x2) if horizontal else (b.y, b.y2)

    def across(b: Box):
        return (b.y, b.y2) if horizontal else (b.x, b.x2)

    def overlap(lo, hi, a0, a1):                            # vectorised 1-D overlap lengths
        return np.clip(np.minimum(hi, a1) - np.maximum(lo, a0), 0, None)

    full = float(base.h if horizontal else base.w)          # the window spans the other axis whole

    def shares_of(boxes):
        return np.array([overlap(starts, starts + size, *along(f)) / max(along(f)[1] - along(f)[0], 1e-9)
                         * min(1.0, overlap(0.0, full, *across(f)) / max(across(f)[1] - across(f)[0], 1e-9))
                         for f in boxes]).reshape(len(boxes), len(starts))

    shares = shares_of(faces)
    cut = (shares > s.outside) & (shares < s.whole)
    roomy = shares_of(clear_heads(faces, s, width, height))
    near = ((roomy > s.outside) & (roomy < s.whole)).sum(0)    # edges within the clearance of a head
    kept = shares >= s.whole
    largest = max(f.area for f, lead in zip(faces, leads) if lead) if led else max(f.area for f in faces)
    people = np.array([f.area >= s.person_share * largest for f in faces])
    cover = np.zeros_like(starts)
    for i, f in enumerate(faces):
        cover = np.maximum(cover, np.where(kept[i], _band_cover(starts, size, full, horizontal, avoid, f), 0.0))
    holds = np.ones_like(starts, dtype=bool)
    if group is not None and (group.w <= base.w if horizontal else group.h <= base.h):
        g0, g1 = along(group)
        holds = (starts <= g0 + 0.5) & (starts + size >= g1 - 0.5)
    over = cover > s.layer_cover
    body = np.round(shares_of(bodies).sum(0), 1) if bodies else np.zeros_like(starts)
    # the group whole, then no head cut, then no fixed layer on a kept head, then every person that
    # fits, then edges clear of heads by the clearance, the least layer cover, the most of each kept
    # person's head, the most of the bodies, the most of the other kept heads (a face in the
    # background), and M5's position (lexsort: last key first)
    keys = (np.abs(starts - start0), -np.round((shares * kept).sum(0), 2), -body,
            -np.round((shares * (kept & people[:, None])).sum(0), 2),
            np.where(over, np.round(cover, 3), 0), near, -(kept & people[:, None]).sum(0), over, cut.sum(0), ~holds)
    i = int(np.lexsort(keys)[0])
    w = Box(int(starts[i]), 0, base.w, base.h) if horizontal else Box(0, int(starts[i]), base.w, base.h)
    return CropPlan(w, group, center, tuple(int(j) for j in np.nonzero(cut[:, i])[0]), float(cover[i]))
