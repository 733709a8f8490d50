"""M10–M13: the sharpness gate, the landmark and pixel measures, the total, the choice, feedback.

The learned scores live beside this module — the emotion classifier (``emotion.py``) and
BRISQUE (``quality.py``); the analysis mixes them with the measures here, every weight a
field of ``ScoreSettings``:

* expression measure: eyes open 0.35, mouth calm 0.25, frontality 0.25, detector confidence
  0.15 (a closed lid is flat skin; an open mouth is a dark cavity). The analysis takes its
  eyes-open part beside the model (``expression_model_weight`` : the rest).
* aesthetics measure: exposure, contrast (RMS), colourfulness (Hasler & Süsstrunk 2003) and
  composition (subject near a thirds or centre line, faces neither tiny nor overfilling),
  weighted by ``measure_weights``; the analysis mixes it with BRISQUE (``quality_weight``).
* sharpness: Laplacian variance, judged at the poster's own scale (``sharpness_at_output``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import Box
from .images import downscale


@dataclass(frozen=True)
class ScoreSettings:
    sharpness_half: float = 120.0     # Laplacian variance that maps to 0.5
    sharpness_min: float = 0.25       # M10 gate
    expression_min: float = 0.35      # M11 gate (posters with a face)
    w_sharpness: float = 1.0          # M12 weights
    w_aesthetics: float = 1.0
    w_expression: float = 1.0
    expression_model_weight: float = 0.6   # M11: share of the emotion model in expression (rest: eyes open)
    quality_weight: float = 0.4       # M12: share of BRISQUE quality in aesthetics (rest: the composition measure)
    measure_weights: tuple = (0.3, 0.25, 0.2, 0.25)   # the composition measure's parts: exposure, contrast,
                                                       # colourfulness, composition (normalised to sum 1)
    total_min: float = 0.40           # M12 threshold
    top_k: int = 3
    dup_bits: int = 10                # dHash Hamming distance at or below = near-duplicate
    feedback_weight: float = 0.3      # M13 share of the blended score given to feedback
    moment_gap: float = 3.0           # s: two posters of one shot closer than this are the same moment (Q3)
    max_upscale: float = 2.0          # Q4: posters enlarged more than this are flagged and rank lower...
    upscale_penalty: float = 0.7      # ...their total multiplied by this
    cut_penalty: float = 0.6          # Q1: a crop that slices a face (no clean window existed) ranks lower
    cover_penalty: float = 0.8        # Q2: a fixed layer left on a kept face (no window avoided it)
    fit_penalty: float = 1.0          # Q7: a fit poster's total × (1 − this × its backdrop share): less picture
    source_cut_penalty: float = 0.2   # Q1: every poster of a frame whose picture itself slices a lead's head (a close-up
                                      # under a letterbox) × (1 − this × the share of the head above the picture);
                                      # blind judges 16-10 for 0.2 against 0 (ab-source-cut-2026-12-08); 0.5 gave a
                                      # letterboxed episode's ranks 2-3 to a coffee cup
    text_cover: float = 0.04          # Q3: a faceless frame with this share under text lines is a text card...
    text_penalty: float = 0.5         # ...and its total is multiplied by this
    missing_expression: float = 0.5   # M12: the expression term of a poster with no face kept (a person seen from
                                      # behind, an animal, a landscape): a faceless frame is not lifted by a missing term
    overlay_min: float = 0.005        # Q3: text drawn over the picture (subtitles, tickers, captions) over more than
    overlay_full: float = 0.04        # this share of a frame lowers its total, up to overlay_penalty at this share
    overlay_penalty: float = 0.3
    fill_missing: bool = True         # Q8: a format no candidate passed gets the best rejected one, marked
                                      # below_threshold with its reason (False: the format stays empty, said why)


def _gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def laplacian_variance(img: np.ndarray, max_side: int = 512) -> float:
    return float(cv2.Laplacian(_gray(downscale(img, max_side)), cv2.CV_64F).var())


def sharpness(img: np.ndarray, half: float = 120.0) -> float:
    """M10: Laplacian variance v (at ≤ 512 px) normalised to [0, 1) as v / (v + half)."""
    v = laplacian_variance(img)
    return v / (v + half)


def sharpness_at_output(region: np.ndarray, out_size: tuple[int, int], half: float = 120.0,
                        measure_side: int = 512, reduced: np.ndarray | None = None) -> float:
    """M10 judged at the poster's own scale (Q4): the crop is resampled to the output's shape at
    ``measure_side`` px per output side, so a crop enlarged 8× is measured blurred, as printed.
    ``reduced``: ``downscale(region, measure_side)`` when the caller has it; used when it is that
    very resample (same size, shrunk by area), which saves a second pass over a full-size crop."""
    ow, oh = out_size
    k = measure_side / max(ow, oh)
    mw, mh = max(8, round(ow * k)), max(8, round(oh * k))
    h, w = region.shape[:2]
    interp = cv2.INTER_AREA if w >= mw else cv2.INTER_CUBIC
    if reduced is not None and interp == cv2.INTER_AREA and reduced.shape[:2] == (mh, mw):
        small = reduced
    else:
        small = cv2.resize(region, (mw, mh), interpolation=interp)
    v = float(cv2.Laplacian(_gray(small), cv2.CV_64F).var())
    return v / (v + half)


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _patch(g: np.ndarray, cx: float, cy: float, rw: float, rh: float) -> np.ndarray:
    h, w = g.shape[:2]
    x1, x2 = int(max(0, cx - rw)), int(min(w, cx + rw))
    y1, y2 = int(max(0, cy - rh)), int(min(h, cy + rh))
    return g[y1:y2, x1:x2]


def expression(frame: np.ndarray, face_box: Box, landmarks, confidence: float = 1.0) -> dict:
    """M11 measure for one face; returns the parts and ``score`` in [0, 1].

    Works on the face's neighbourhood only (the box grown by a quarter each side), so
    its cost does not grow with the frame size.
    """
    if len(landmarks) < 5:
        return {"score": _clip01(confidence * 0.5)}
    H, W = frame.shape[:2]
    x0, y0 = int(max(0, face_box.x - face_box.w / 4)), int(max(0, face_box.y - face_box.h / 4))
    x1, y1 = int(min(W, face_box.x2 + face_box.w / 4)) + 1, int(min(H, face_box.y2 + face_box.h / 4)) + 1
    g = _gray(frame[y0:y1, x0:x1]).astype(np.float32)
    face_box = face_box.shift(-x0, -y0)
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = ((x - x0, y - y0) for x, y in landmarks[:5])
    eye_d = max(1.0, math.hypot(rx - lx, ry - ly))
    face = _patch(g, *face_box.center, face_box.w / 2, face_box.h / 2)
    face_std = float(face.std()) + 1e-3 if face.size else 1.0
    eyes = []
    for ex, ey in ((lx, ly), (rx, ry)):
        p = _patch(g, ex, ey, eye_d * 0.22, eye_d * 0.12)
        eyes.append(float(p.std()) / face_std if p.size > 4 else 0.0)
    eye_open = _clip01((min(eyes) - 0.35) / 0.6)
    mouth_w = max(1.0, math.hypot(mrx - mlx, mry - mly))
    mouth = _patch(g, (mlx + mrx) / 2, (mly + mry) / 2, mouth_w * 0.3, mouth_w * 0.25)
    face_mean = float(face.mean()) if face.size else 128.0
    dark = float((mouth < face_mean - 1.2 * face_std).mean()) if mouth.size else 0.0
    mouth_calm = _clip01(1.0 - dark / 0.35)
    yaw = abs(nx - (lx + rx) / 2) / eye_d
    roll = abs(math.atan2(ry - ly, rx - lx))
    frontal = _clip01(1.0 - yaw / 0.45) * _clip01(1.0 - roll / 0.6)
    parts = {"eyes_open": eye_open, "mouth_calm": mouth_calm, "frontal": frontal,
             "confidence": _clip01(confidence)}
    parts["score"] = _clip01(0.35 * eye_open + 0.25 * mouth_calm + 0.25 * frontal + 0.15 * parts["confidence"])
    return {k: round(v, 4) for k, v in parts.items()}


def colourfulness(img: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness, raw (≈0 grey, ≈100+ very colourful)."""
    if img.ndim == 2:
        return 0.0
    b, g, r = (img[:, :, i].astype(np.float32) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))


AESTHETICS_SIDE = 384


def aesthetics(crop: np.ndarray, subjects: list[Box] | None = None, max_side: int = AESTHETICS_SIDE,
               weights: tuple = ScoreSettings.measure_weights, in_colour: np.ndarray | None = None) -> dict:
    """M12 aesthetics measure on the cropped image; ``subjects`` in crop pixels.

    Measured on a copy no larger than ``max_side`` (these are global statistics). ``in_colour``: the
    same picture in colour at about that size, when ``crop`` is grey (colourfulness reads it).
    """
    h, w = crop.shape[:2]
    crop = downscale(crop, max_side)
    g = _gray(crop).astype(np.float32) / 255.0
    mean = float(g.mean())
    clipped = float(((g < 0.02) | (g > 0.98)).mean())
    exposure = _clip01(1.0 - abs(mean - 0.48) / 0.4) * _clip01(1.0 - clipped / 0.25)
    contrast = _clip01(float(g.std()) / 0.22)
    colour = _clip01(colourfulness(crop if in_colour is None else in_colour) / 60.0)
    comp = 0.5
    if subjects:
        s = max(subjects, key=lambda b: b.area)
        cx, cy = s.center[0] / w, s.center[1] / h
        d = min(min(abs(cx - t) for t in (1 / 3, 0.5, 2 / 3)), 1.0) + min(abs(cy - t) for t in (1 / 3, 0.5))
        placement = _clip01(1.0 - d / 0.35)
        share = s.area / float(w * h)
        size = _clip01(1.0 - abs(math.log(max(share, 1e-4) / 0.12)) / 2.5)
        comp = 0.5 * placement + 0.5 * size
    parts = {"exposure": exposure, "contrast": contrast, "colourfulness": colour, "composition": comp}
    total_w = sum(weights) or 1.0
    parts["score"] = _clip01(sum(w * v for w, v in zip(weights, (exposure, contrast, colour, comp))) / total_w)
    return {k: round(v, 4) for k, v in parts.items()}


def total(sharp: float, aest: float, expr: float | None, s: ScoreSettings) -> float:
    """M12: the weighted mean of the three terms; a poster that keeps no face counts ``missing_expression``
    for the third, so frames with and without faces compare like with like."""
    e = s.missing_expression if expr is None else expr
    den = s.w_sharpness + s.w_aesthetics + s.w_expression
    return (s.w_sharpness * sharp + s.w_aesthetics * aest + s.w_expression * e) / den if den > 0 else 0.0


def dhash(img: np.ndarray, size: int = 8) -> int:
    """Difference hash of the image (64 bits): near-duplicates differ in few bits."""
    g = cv2.resize(_gray(img), (size + 1, size), interpolation=cv2.INTER_AREA)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def choose(candidates: list, k: int, dup_bits: int, score=lambda c: c.total, digest=lambda c: c.dhash,
           shot=lambda c: getattr(c, "shot", 0), when=lambda c: getattr(c, "frame_time", 0.0),
           moment_gap: float = 3.0, people=lambda c: len(getattr(c, "faces", ()) or ()),
           sharp=lambda c: (getattr(c, "scores", {}) or {}).get("sharpness", 0.0)) -> list:
    """M12 + Q3: the top ``k`` by score, one per shot first while the shots last, never two
    near-duplicates (dHash within ``dup_bits``), never two of one moment (same shot, closer than
    ``moment_gap`` s) and never two of the same content: in one shot, the same number of people
    in a picture within twice ``dup_bits`` (a static camera's frames differ by noise, not content).
    Scores equal to two decimals are told apart by what a person notices: more people kept, then
    the sharper picture, then the earlier moment."""
    ordered = sorted(candidates, key=lambda c: (-round(score(c), 2), -people(c), -sharp(c), when(c)))
    chosen: list = []

    def clash(c) -> bool:
        for o in chosen:
            d = hamming(digest(c), digest(o))
            if d <= dup_bits:
                return True
            if shot(c) == shot(o) and (abs(when(c) - when(o)) < moment_gap or
                                       (people(c) == people(o) and d <= 2 * dup_bits)):
                return True
        return False

    for fresh_shots_only in (True, False):
        for c in ordered:
            if len(chosen) >= k:
                break
            if c in chosen or clash(c) or (fresh_shots_only and any(shot(o) == shot(c) for o in chosen)):
                continue
            chosen.append(c)
    return sorted(chosen, key=lambda c: (-round(score(c), 2), -people(c), -sharp(c), when(c)))


def blend_feedback(score: float, ctr: float | None, retention: float | None, weight: float,
                   ctr_ref: float = 0.05) -> float:
    """M13: blend measured click-through (vs a reference CTR) and retention into a score."""
    parts = []
    if ctr is not None:
        parts.append(_clip01(ctr / (2 * ctr_ref)))
    if retention is not None:
        parts.append(_clip01(retention))
    if not parts:
        return score
    fb = sum(parts) / len(parts)
    return (1 - weight) * score + weight * fb
