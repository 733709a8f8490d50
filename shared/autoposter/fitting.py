"""Fit: a poster that shows more than the picture holds, the rest a blurred backdrop (Q1, Q2, Q7).

A crop (``cropping.plan_crop``) is the largest window of the poster's aspect *inside* the picture.
Sometimes no such window works: the heads of a group in a 9:16 story are wider than the window, so
one is sliced; a head sits so high that the template's logo lands on it wherever the window goes;
a portrait fills the frame so the title has no place off the person. TV graphics answer all three
the same way: show a larger window — the whole group, room above the heads, a band for the title —
and fill what lies outside the picture with the picture itself, blurred and dimmed.

``plan_fit`` searches windows larger than the crop (up to ``fit_max_scale`` times its side, at most
``fit_max_backdrop`` of the poster outside the picture) for the smallest one that cuts no head
(heads judged with ``head_clearance``, never slicing more of the heads as found than the crop),
keeps every person the crop kept and no less of their bodies, the group or the subject, keeps
fixed layers off kept heads and leaves each free layer a spot off the heads (and, with
``fit_title_bodies``, the bodies). It runs only when the crop fails one of these (template
``fit: auto``) and returns nothing when no larger window does better. ``contain`` (template ``fit: contain``) is
the whole picture on its backdrop — for sources much wider or smaller than the poster. With nobody in
the frame, ``subject_fit`` holds a subject longer than the crop whole (a horse in a 1:1 feed); with a
close-up whose head no window holds, ``refit`` holds its face whole.

``cut`` renders any window: a window inside the picture is the plain slice and resize it always
was; a larger one gets the backdrop. Windows are in frame pixels; a fit window may start at a
negative coordinate.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from .cropping import CropSettings, clear_heads, inside_share
from .geometry import Box
from .layout import BODY_CLEAR, SHRINK

HEAD_WHOLE, HEAD_OUT = 0.95, 0.05    # Q1's shares (CropSettings.whole/outside)
FIXED_ON_HEAD = CropSettings.layer_cover   # a fixed layer over more than this share of a kept head covers it
                                      # (Q2; refit passes the settings' own)
LAYER_ON_HEAD = 0.0                   # a free layer may cover no part of a head (layout.free_box puts heads first)
LAYER_ON_BODY = BODY_CLEAR            # ... of a body's box (Q2's bench counts 10 %; detected boxes differ)
FLOOR_SLACK = 0.005                   # a fit shows the crop's group, bodies and subject: this much less at most
SUBJECT_ROOM = 0.02                   # a subject fit leaves this share of the subject's size free about it
BACKDROP_DIM = 0.55                   # the backdrop's brightness against the picture's


def backdrop_share(window: Box, picture: Box) -> float:
    """Share of the poster that lies outside the picture (0 for a crop)."""
    inter = window.intersection(picture)
    return 1.0 - (inter.area / window.area if inter and window.area > 0 else 0.0)


def is_fit(window: Box, picture: Box, tol: float = 1.0) -> bool:
    return (window.x < picture.x - tol or window.y < picture.y - tol or window.x2 > picture.x2 + tol
            or window.y2 > picture.y2 + tol)


def contain_window(width: int, height: int, aspect: float) -> Box:
    """The smallest window of ``aspect`` holding the whole ``width × height`` picture, centred."""
    if width / height > aspect:
        w, h = width, width / aspect
    else:
        w, h = height * aspect, height
    return Box(round((width - w) / 2), round((height - h) / 2), round(w), round(h))


def _shares(X, Y, Wd, Ht, boxes: list[Box]) -> np.ndarray:
    """(windows × boxes) share of each box inside each window."""
    if not boxes:
        return np.zeros((len(X), 0))
    b = np.array([[q.x, q.y, q.x2, q.y2, max(q.area, 1e-9)] for q in boxes])
    ix = np.clip(np.minimum(X[:, None] + Wd[:, None], b[:, 2]) - np.maximum(X[:, None], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(Y[:, None] + Ht[:, None], b[:, 3]) - np.maximum(Y[:, None], b[:, 1]), 0, None)
    return ix * iy / b[:, 4]


def _covered(zx, zy, zw, zh, boxes: np.ndarray) -> np.ndarray:
    """Share of each box (…, M) under zones given as arrays broadcastable to (…, 1)."""
    ix = np.maximum(np.minimum(zx + zw, boxes[:, 2]) - np.maximum(zx, boxes[:, 0]), 0)
    iy = np.maximum(np.minimum(zy + zh, boxes[:, 3]) - np.maximum(zy, boxes[:, 1]), 0)
    return ix * iy / boxes[:, 4]


def _arr(boxes: list[Box]) -> np.ndarray:
    return np.array([[q.x, q.y, q.x2, q.y2, max(q.area, 1e-9)] for q in boxes]).reshape(-1, 5)


def check(X, Y, Wd, Ht, heads: list[Box], must_keep: list[int], bodies: list[Box], avoid=(), free=(),
          people=(), floor=None, title_bodies: bool = True, bare=None, layer_cover: float = FIXED_ON_HEAD) -> dict:
    """Per window (arrays), what a picture editor checks: heads cut, kept people lost (or, of
    ``people``, nobody kept at all; or less of a body or the subject shown than ``floor`` says),
    fixed layers on kept heads, which heads each keeps whole (``kept``), and — when ``free`` is
    given — free layers with no spot off the heads and bodies. ``heads`` decide cuts (grown by
    ``CropSettings.head_clearance``); ``bare`` (the heads as found, default ``heads``) decide what a
    layer covers."""
    n = len(X)
    bare = heads if bare is None else bare
    sh = _shares(X, Y, Wd, Ht, heads)
    cut = ((sh > HEAD_OUT) & (sh < HEAD_WHOLE)).sum(1) if heads else np.zeros(n, int)
    kept = sh >= HEAD_WHOLE
    lost = (~kept[:, must_keep]).sum(1) if must_keep else np.zeros(n, int)
    if people:
        lost = lost + (~kept[:, list(people)].any(1))
    if floor is not None and floor[0]:             # show no less of any body or the subject than the crop
        lost = lost + (_shares(X, Y, Wd, Ht, floor[0]) < np.asarray(floor[1])[None, :] - FLOOR_SLACK).sum(1)
    H = _arr(bare)
    on_head = np.zeros(n, bool)
    for fx, fy, fw, fh in avoid:
        if not heads:
            break
        cov = _covered(X[:, None] + fx * Wd[:, None], Y[:, None] + fy * Ht[:, None], fw * Wd[:, None],
                       fh * Ht[:, None], H)
        on_head |= ((cov > layer_cover) & kept).any(1)
    out = {"cut": cut, "lost": lost, "on_head": on_head, "kept": kept}
    if free:
        out["no_spot"] = no_spot(X, Y, Wd, Ht, bare, bodies if title_bodies else [], free)
    return out


@functools.lru_cache(maxsize=256)
def _spots(rx: float, ry: float, rw: float, rh: float, zw0: float, zh0: float) -> np.ndarray:
    """A free layer's spots in its region, at every ``SHRINK`` size: (4, 1, spots, 1) fractions."""
    spots = np.array([(zw0 * kw, zh0 * kh, tx, ty) for kw, kh in SHRINK
                      for tx in np.linspace(rx, rx + rw - zw0 * kw, 5)
                      for ty in np.linspace(ry, ry + rh - zh0 * kh, 12)]).T[:, None, :, None]
    spots.flags.writeable = False
    return spots


def no_spot(X, Y, Wd, Ht, heads: list[Box], bodies: list[Box], free) -> np.ndarray:
    """Per window: does some free layer find no spot (at any of ``layout.SHRINK``'s sizes) that
    covers no head and at most ``LAYER_ON_BODY`` of any body shown? Every spot of a layer is tried
    at once (windows × spots × boxes): the per-spot loop this replaces cost a fit ~15 ms a frame."""
    n = len(X)
    X, Y, Wd, Ht = (np.asarray(v, float)[:, None, None] for v in (X, Y, Wd, Ht))
    zones = [(_arr(heads), _shares(X[:, 0, 0], Y[:, 0, 0], Wd[:, 0, 0], Ht[:, 0, 0], heads), LAYER_ON_HEAD),
             (_arr(bodies), _shares(X[:, 0, 0], Y[:, 0, 0], Wd[:, 0, 0], Ht[:, 0, 0], bodies), LAYER_ON_BODY)]
    out = np.zeros(n, bool)
    for (rx, ry, rw, rh), (zw0, zh0) in free:
        spots = _spots(rx, ry, rw, rh, zw0, zh0)
        zw, zh, tx, ty = spots                         # (1, spots, 1) each
        zx, zy, zW, zH = X + tx * Wd, Y + ty * Ht, zw * Wd, zh * Ht
        bad = np.zeros((n, spots.shape[2]), bool)
        for boxes, shown, limit in zones:
            if len(boxes):
                bad |= ((_covered(zx, zy, zW, zH, boxes) > limit) & (shown[:, None, :] > HEAD_OUT)).any(2)
        out |= bad.all(1)
    return out


def plan_fit(width: int, height: int, base: Box, heads: list[Box], must_keep: list[int], bodies: list[Box],
             avoid=(), free=(), max_scale: float = CropSettings.fit_max_scale,
             max_backdrop: float = CropSettings.fit_max_backdrop, steps: int = 31, people=(),
             salient: Box | None = None, group: Box | None = None, title_bodies: bool = False, bare=None,
             layer_cover: float = FIXED_ON_HEAD, more_people: bool = False):
    """The smallest window at least ``base``'s size (same aspect) that does better than ``base`` on
    the editor's checks, or None. With ``bare`` (the heads as found; ``heads`` then carry the
    clearance), a window never slices more of the found heads than ``base`` does. With
    ``more_people``, a window that keeps more of ``people`` whole than ``base`` does better too, and
    among windows equal on the checks the one keeping the most people wins."""
    if not heads:
        return None
    shown = list(bodies) + [b for b in (salient, group) if b is not None]
    col = lambda b: tuple(np.array([v], float) for v in (b.x, b.y, b.w, b.h))  # noqa: E731
    floor = (shown, _shares(*col(base), shown)[0])
    b0 = check(*col(base), heads, must_keep, bodies, avoid, free, people, floor, title_bodies, bare, layer_cover)
    hard0, soft0 = int(b0["cut"][0] + b0["lost"][0] + b0["on_head"][0]), bool(free) and bool(b0["no_spot"][0])
    who = list(people) if more_people else []
    kept0 = int(b0["kept"][0, who].sum())
    if hard0 == 0 and not soft0 and kept0 == len(who):
        return None
    Xs, Ys, Ws, Hs = [], [], [], []
    for k in np.arange(1.0, max_scale + 1e-9, 0.05):
        w, h = base.w * k, base.h * k
        lo_x, hi_x = min(0.0, width - w) - w * max_backdrop / 2, max(0.0, width - w) + w * max_backdrop / 2
        lo_y, hi_y = min(0.0, height - h) - h * max_backdrop, max(0.0, height - h) + h * max_backdrop
        xs = np.unique(np.round(np.concatenate([np.linspace(lo_x, hi_x, steps), [min(max(base.x, lo_x), hi_x)]])))
        ys = np.unique(np.round(np.concatenate([np.linspace(lo_y, hi_y, steps), [min(max(base.y, lo_y), hi_y)]])))
        X, Y = np.meshgrid(xs, ys)
        Xs.append(X.ravel())
        Ys.append(Y.ravel())
        Ws.append(np.full(X.size, round(w)))
        Hs.append(np.full(X.size, round(h)))
    X, Y, Wd, Ht = (np.concatenate(v).astype(float) for v in (Xs, Ys, Ws, Hs))
    ix = np.clip(np.minimum(X + Wd, width) - np.maximum(X, 0), 0, None)
    iy = np.clip(np.minimum(Y + Ht, height) - np.maximum(Y, 0), 0, None)
    backdrop = 1.0 - ix * iy / (Wd * Ht)
    sel = backdrop <= max_backdrop + 1e-9
    X, Y, Wd, Ht, backdrop = X[sel], Y[sel], Wd[sel], Ht[sel], backdrop[sel]
    if not len(X):
        return None
    c = check(X, Y, Wd, Ht, heads, must_keep, bodies, avoid, (), people, floor, bare=bare, layer_cover=layer_cover)
    hard = c["cut"] + c["lost"] + c["on_head"]
    if bare is not None:                           # the clearance never buys a cut of a head as found
        def bare_cuts(*windows):
            v = _shares(*windows, bare)
            return ((v > HEAD_OUT) & (v < HEAD_WHOLE)).sum(1)
        hard = np.where(bare_cuts(X, Y, Wd, Ht) > bare_cuts(*col(base))[0], hard0 + 1, hard)
    best = int(hard.min())
    kept_n = c["kept"][:, who].sum(1)
    gain = bool(who) and int(kept_n[hard == best].max()) > kept0
    if best > hard0 or (best == hard0 and not soft0 and not gain):
        return None
    cx, cy = base.center
    dist = np.hypot(X + Wd / 2 - cx, Y + Ht / 2 - cy) / max(base.w, base.h)
    # fewest heads cut or covered, then the smallest window, the least backdrop, the nearest to the crop
    pool = np.nonzero(hard == best)[0]
    pool = pool[kept_n[pool] == kept_n[pool].max()]             # ...the most people kept (more_people)
    pool = pool[np.lexsort((np.round(dist[pool], 2), np.round(backdrop[pool], 2), Wd[pool]))]
    pick = None
    if free:                                       # ...with a spot for the title: checked in that order,
        for s0 in range(0, len(pool), 64):         # a chunk at a time (the costly check)
            idx = pool[s0:s0 + 64]
            miss = no_spot(X[idx], Y[idx], Wd[idx], Ht[idx], heads if bare is None else bare,
                           bodies if title_bodies else [], free)
            if (~miss).any():
                pick = int(idx[int(np.argmax(~miss))])
                break
    if pick is None:
        if best == hard0 and not gain:             # no better on heads or people, and no spot for the title
            return None
        pick = int(pool[0])
    win = Box(float(X[pick]), float(Y[pick]), float(Wd[pick]), float(Ht[pick]))
    return None if win == base else win


def cut(image: np.ndarray, window: Box, size: tuple[int, int], picture: Box | None = None) -> np.ndarray:
    """The poster's pixels for ``window`` at ``size`` (w, h): the slice of ``image`` resized, and for
    a window reaching past ``picture`` (the active picture; default the whole image) the rest filled
    with the picture blurred and dimmed — never with bars."""
    W, H = size
    ih, iw = image.shape[:2]
    pic = picture or Box(0, 0, iw, ih)
    x, y, w, h = (int(v) for v in window.to_list(None))
    if not is_fit(Box(x, y, w, h), pic, tol=0.0):
        region = image[y:y + h, x:x + w]
        interp = cv2.INTER_AREA if w > W else cv2.INTER_CUBIC
        return cv2.resize(region, (W, H), interpolation=interp)
    px, py, pw, ph = (int(v) for v in pic.to_list(None))
    src = image[py:py + ph, px:px + pw]
    # backdrop: the picture scaled to cover the poster, blurred at a small size (cheap), dimmed
    k = max(W / pw, H / ph)
    small = cv2.resize(src, (max(1, round(pw * k / 8)), max(1, round(ph * k / 8))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 3)
    big = cv2.resize(small, (max(W, round(pw * k)), max(H, round(ph * k))), interpolation=cv2.INTER_LINEAR)
    ox, oy = (big.shape[1] - W) // 2, (big.shape[0] - H) // 2
    out = (big[oy:oy + H, ox:ox + W].astype(np.float32) * BACKDROP_DIM).astype(np.uint8)
    inter = Box(x, y, w, h).intersection(pic)
    if inter is None:
        return out
    s = W / w
    dx0, dy0 = round((inter.x - x) * s), round((inter.y - y) * s)
    dx1, dy1 = min(W, round((inter.x2 - x) * s)), min(H, round((inter.y2 - y) * s))
    if dx1 <= dx0 or dy1 <= dy0:
        return out
    ax, ay, aw, ah = (int(v) for v in inter.to_list(None))
    region = image[ay:ay + ah, ax:ax + aw]
    interp = cv2.INTER_AREA if aw > dx1 - dx0 else cv2.INTER_CUBIC
    out[dy0:dy1, dx0:dx1] = cv2.resize(region, (dx1 - dx0, dy1 - dy0), interpolation=interp)
    return out


def subject_fit(base: Box, width: int, height: int, subject: Box, s) -> Box | None:
    """Nobody in the frame and a subject (the salient region: an animal, a car, a drawn lead) too long
    for the crop: the smallest window of ``base``'s aspect that holds it whole (with ``SUBJECT_ROOM``
    about it), as much inside the picture as it can be, or None when that takes more than
    ``s.fit_max_scale`` × the crop or more than ``s.fit_subject_backdrop`` of the poster outside the
    picture. A subject cut by the edge reads as a mistake; a strip of blurred backdrop does not (Q7)."""
    if s.fit_subject_backdrop <= 0 or inside_share(subject, base) >= HEAD_WHOLE:
        return None
    dx, dy = SUBJECT_ROOM * subject.w, SUBJECT_ROOM * subject.h
    want = Box(subject.x - dx, subject.y - dy, subject.w + 2 * dx, subject.h + 2 * dy).clip(width, height) or subject
    aspect = base.w / base.h
    w = max(base.w, want.w, want.h * aspect)
    h = w / aspect
    if w > base.w * s.fit_max_scale + 1e-6:
        return None

    def place(lo_edge, hi_edge, size, limit):        # hold [lo, hi]; nearest to lying inside [0, limit]
        inside = (limit - size) / 2 if size > limit else min(max(0.0, (lo_edge + hi_edge - size) / 2), limit - size)
        return min(max(inside, hi_edge - size), lo_edge)

    win = Box(round(place(want.x, want.x2, w, width)), round(place(want.y, want.y2, h, height)), round(w), round(h))
    if backdrop_share(win, Box(0, 0, width, height)) > s.fit_subject_backdrop + 1e-9:
        return None
    return win


def _fit_heads(plan, width: int, height: int, heads: list[Box], bodies: list[Box], s, avoid, free,
               salient: Box | None, clear: bool, leads=None) -> Box | None:
    led = [h for h, lead in zip(heads, leads, strict=True) if lead] if leads is not None and any(leads) else heads
    largest = max((h.area for h in led), default=0.0)             # a back view (no lead) sets no size
    people = [i for i, h in enumerate(heads) if h.area >= s.person_share * largest]
    must = [i for i in people if inside_share(heads[i], plan.window) >= HEAD_WHOLE]
    roomy = clear_heads(heads, s, width, height) if clear else heads
    return plan_fit(width, height, plan.window, roomy, must, bodies, avoid, free, s.fit_max_scale,
                    s.fit_max_backdrop, people=people, salient=salient, group=plan.group,
                    title_bodies=s.fit_title_bodies, bare=heads, layer_cover=s.layer_cover,
                    more_people=s.fit_people)


def refit(plan, width: int, height: int, heads: list[Box], bodies: list[Box], s, avoid=(), free=(),
          mode: str = "auto", salient: Box | None = None, clear: bool = False, faces: list[Box] = (),
          leads=None):
    """``plan`` (a ``cropping.CropPlan``) as the template's ``fit`` setting wants it: unchanged
    (``never``, or a crop that passes every check), a fit window that does better, or the whole
    picture (``contain``). Coordinates are the picture's (``width × height``).

    ``faces`` (the detected faces, grown as a person sees them): when the crop keeps nobody whole and
    no fit window within the limits holds a head either — a close-up from a vertical video in a 16:9
    poster, whose head (hair, or BlazePose's estimate of it) is taller than any window — a fit holds
    the faces whole rather than leave the poster to a suit and a tie."""
    from dataclasses import replace

    if mode == "never":
        return plan
    if mode == "contain":
        win = contain_window(width, height, plan.window.w / plan.window.h)
    elif not heads:
        win = subject_fit(plan.window, width, height, salient, s) if salient is not None else None
        if win is None:
            return plan
    else:
        found = _fit_heads(plan, width, height, heads, bodies, s, avoid, free, salient, clear, leads)
        if faces and not any(inside_share(h, found or plan.window) >= HEAD_WHOLE for h in heads):
            fallback = _fit_heads(plan, width, height, list(faces), bodies, s, avoid, free, salient, clear)
            if fallback is not None and any(inside_share(f, fallback) >= HEAD_WHOLE for f in faces):
                found = fallback
        if found is None:
            return plan
        win = found
    sh = [inside_share(h, win) for h in heads]
    cut_ = tuple(i for i, v in enumerate(sh) if HEAD_OUT < v < HEAD_WHOLE)
    cover = 0.0
    for fx, fy, fw, fh in avoid:
        zone = Box(win.x + fx * win.w, win.y + fy * win.h, fw * win.w, fh * win.h)
        cover = max([cover] + [inside_share(h, zone) for h, v in zip(heads, sh) if v >= HEAD_WHOLE])
    return replace(plan, window=win, faces_cut=cut_, layer_cover=cover,
                   mode="fit" if is_fit(win, Box(0, 0, width, height)) else "crop")

