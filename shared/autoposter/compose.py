"""M8–M9: draw a template's layers onto a cropped frame.

Text is kept legible by WCAG 2 contrast: the text colour (white or near-black,
or the template's own) is checked against the darkest and lightest parts of what
lies under it; when no colour reaches 4.5:1, a backing plate is blended in, just
opaque enough to reach it. A logo (an asset layer) is a graphic: WCAG's 3:1 for non-text
contrast, judged on its white, grey or black strokes (the wordmark) against what surrounds
them, decides its plate. Fonts: DejaVu Sans Bold for Latin, WenQuanYi Micro Hei
for CJK and Latin (both bundled; licences in assets/fonts/README.md).
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from .cropping import inside_share
from .geometry import Box
from .layout import Placement, fixed_box, free_place, region_px
from .templates import FONTS, Layer, Template

WCAG_AA = 4.5
LOGO_CONTRAST = 3.0     # WCAG 2.1 1.4.11: a graphic needs 3:1 against what lies behind it...
LOGO_ILLEGIBLE = 0.2    # ...and a logo gets a plate when more than this share of its neutral strokes falls short
                        # (white letters on a bright sky); its red icon reads by its hue, which WCAG's ratio ignores
LOGO_NEUTRAL = 0.15     # a stroke is neutral (white, grey, black) when its channels differ by at most this share
DARK = (17, 17, 17)
LIGHT = (255, 255, 255)


RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def right_to_left(text: str) -> bool:
    """Mostly a right-to-left script (Hebrew, Arabic): a layer aligned left is drawn aligned right."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(bool(RTL.match(c)) for c in letters) * 2 > len(letters)


def luminance(rgb) -> np.ndarray:
    """WCAG relative luminance of sRGB values (0-255), elementwise over the last axis."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722


def contrast(l1, l2):
    hi, lo = np.maximum(l1, l2), np.minimum(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def _hex(c: str) -> tuple:
    return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))


def choose_ink(background: np.ndarray, wanted: str = "auto", plate: str = "auto") -> dict:
    """Text colour and plate for ``background`` (RGB pixels) meeting WCAG AA.

    Returns ``{"color", "plate": None | (rgb, alpha), "contrast"}``; contrast is the
    worst case over the 5th–95th luminance percentiles under the text.
    """
    px = background.reshape(-1, 3)
    lum = luminance(px)
    lo, hi = np.percentile(lum, 5), np.percentile(lum, 95)
    inks = [_hex(wanted)] if wanted != "auto" else [LIGHT, DARK]

    def worst(ink, lo_, hi_):
        li = luminance(ink)
        return float(min(contrast(li, lo_), contrast(li, hi_)))

    best = max(inks, key=lambda ink: worst(ink, lo, hi))
    c = worst(best, lo, hi)
    if plate == "never" or (plate == "auto" and c >= WCAG_AA):
        return {"color": best, "plate": None, "contrast": round(c, 2)}
    plate_rgb = DARK if luminance(best) > 0.5 else LIGHT
    lp = float(luminance(plate_rgb))
    k = [int(0.05 * (len(lum) - 1)), int(0.95 * (len(lum) - 1))]
    ends = px[np.argpartition(lum, k)[k]].astype(np.float64)         # the two pixels at the percentiles
    for alpha in np.arange(0.3 if plate == "always" else 0.15, 1.0001, 0.05):
        # the plate as drawn (an sRGB mix: darker than a mix in linear light) and the mix in linear light, and the
        # worse of the two: dark text on a light plate needs the first, white text keeps the plates it always had
        drawn = luminance(alpha * np.asarray(plate_rgb, np.float64) + (1 - alpha) * ends)
        lo2, hi2 = alpha * lp + (1 - alpha) * lo, alpha * lp + (1 - alpha) * hi
        c2 = min(worst(best, lo2, hi2), worst(best, float(drawn.min()), float(drawn.max())))
        if c2 >= WCAG_AA:
            return {"color": best, "plate": (plate_rgb, float(round(alpha, 2))), "contrast": round(c2, 2)}
    return {"color": best, "plate": (plate_rgb, 1.0), "contrast": round(worst(best, lp, lp), 2)}


# Raqm shapes Arabic and orders bidirectional text; Pillow's wheels ship it. Without it text is
# still drawn (basic layout) and the manifest says so for scripts that need shaping.
LAYOUT = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
NEEDS_SHAPING = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=LAYOUT)


@functools.lru_cache(maxsize=1)
def _coverage() -> dict:
    """Code point ranges per bundled font (assets/fonts/coverage.json, scripts/font_coverage.py)."""
    doc = json.loads((FONTS["latin"].parent / "coverage.json").read_text())
    return {k: (np.array([r[0] for r in v["ranges"]]), np.array([r[1] for r in v["ranges"]])) for k, v in doc.items()}


def _draws(key: str, ch: str) -> bool:
    if ch.isspace() or unicodedata.category(ch) in ("Mn", "Cf"):
        return True                         # spaces, combining marks and joiners need no glyph of their own
    lo, hi = _coverage()[key]
    i = int(np.searchsorted(lo, ord(ch), side="right")) - 1
    return i >= 0 and ord(ch) <= hi[i]


def font_for(text: str, wanted: str | None) -> tuple[str, str, str]:
    """(font key, text it can draw, characters dropped): the template's bundled font when it draws
    the whole text, else the bundled font that draws the most of it. A template's own font file
    is trusted as given."""
    if wanted not in (None, *FONTS):
        return wanted, text, ""
    keys = [wanted or "latin"] + [k for k in FONTS if k != (wanted or "latin")]
    best = max(keys, key=lambda k: (sum(_draws(k, c) for c in text), k == keys[0]))
    kept = "".join(c for c in text if _draws(best, c))
    dropped = "".join(dict.fromkeys(c for c in text if not _draws(best, c)))
    return best, kept, dropped


_CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def _tokens(text: str) -> list[str]:
    """Words for Latin text; single characters for CJK runs (which have no spaces)."""
    out = []
    for word in text.split():
        if _CJK.search(word):
            chars = list(word)
            chars[-1] += " "
            out.extend(chars)
        else:
            out.append(word + " ")
    return out


def wrap(text: str, font, max_w: int, max_lines: int) -> list[str] | None:
    lines, cur = [], ""
    for tok in _tokens(text):
        trial = cur + tok
        if font.getlength(trial.rstrip()) <= max_w or not cur:
            cur = trial
        else:
            lines.append(cur.rstrip())
            cur = tok
    if cur:
        lines.append(cur.rstrip())
    if any(font.getlength(line) > max_w for line in lines) or len(lines) > max_lines:
        return None
    return lines


def _ellipsize(text: str, font, max_w: int, max_lines: int) -> list[str]:
    """Greedy wrap into ``max_lines``; the last line ends in "…" if text is left over."""
    lines, cur = [], ""
    toks = _tokens(text)
    for i, tok in enumerate(toks):
        if font.getlength((cur + tok).rstrip()) <= max_w or not cur:
            cur += tok
            continue
        lines.append(cur.rstrip())
        cur = tok
        if len(lines) == max_lines:
            cur = ""
            break
    if cur:
        lines.append(cur.rstrip())
    lines = lines[:max_lines]
    if "".join(lines).replace(" ", "") != text.replace(" ", "") or font.getlength(lines[-1]) > max_w:
        last = lines[-1]
        while last and font.getlength(last + "…") > max_w:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def fit_text(text: str, font_path: str, box_w: int, box_h: int, max_lines: int = 2):
    """Largest font size whose wrapped text fits ``box_w × box_h``; returns (font, lines).

    Sizes go down to about 45 % of the box's line height; text that still does not
    fit is cut with an ellipsis rather than shrunk into illegibility.
    """
    size = max(6, int(box_h * 0.8))
    min_size = max(6, int(box_h / max_lines / 1.18 * 0.45))
    while size >= min_size:
        font = _font(font_path, size)
        lines = wrap(text, font, box_w, max_lines)
        if lines is not None and len(lines) * size * 1.18 <= box_h:
            return font, lines
        size = int(size * 0.92) if size > 14 else size - 1
    font = _font(font_path, min_size)
    fit_lines = max(1, min(max_lines, int(box_h / (min_size * 1.18))))
    return font, _ellipsize(text, font, box_w, fit_lines)


@functools.lru_cache(maxsize=64)
def _asset(path: str, w: int, h: int) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGBA").resize((w, h), Image.LANCZOS)


def logo_plate(logo: np.ndarray, under: np.ndarray, mode: str = "auto") -> dict:
    """The plate a logo needs (``logo``: RGBA, ``under``: the RGB pixels it covers, same size) so that
    at most ``LOGO_ILLEGIBLE`` of its neutral strokes (white, grey, black: the wordmark, which has only
    its lightness to stand out by; a brand colour also reads by its hue) fall under ``LOGO_CONTRAST``
    against their surroundings (the background blurred about each stroke, with the plate blended in as
    it is drawn: in sRGB values). Of a dark and a light plate, the one that gets there at the lower
    opacity; when neither does, the opacity and plate that bring the most strokes to 3:1. Returns
    ``{"legible": share of those strokes at 3:1 as drawn, "plate": None | (rgb, alpha)}``; ``mode`` is
    the layer's ``plate`` style. A logo with no neutral strokes gets a plate only when ``mode`` is
    "always", and a logo with no stroke at all never does."""
    rgb = logo[..., :3].astype(np.int16)
    opaque = logo[..., 3] > 128
    neutral = opaque & (rgb.max(-1) - rgb.min(-1) <= LOGO_NEUTRAL * 255)
    if mode == "never" or not opaque.any() or (not neutral.any() and mode != "always"):
        return {"legible": None, "plate": None}
    strokes = neutral if neutral.any() else opaque
    sigma = max(1.0, logo.shape[0] / 6)
    ink = luminance(logo[..., :3][strokes])
    back = under.astype(np.float32)

    def legible(plate=None, alpha=0.0):
        bg = back if plate is None else alpha * np.float32(plate) + (1 - alpha) * back
        around = cv2.GaussianBlur(luminance(bg).astype(np.float32), (0, 0), sigma)[strokes]
        return float((contrast(ink, around) >= LOGO_CONTRAST).mean())

    share = legible()
    if mode == "auto" and share >= 1 - LOGO_ILLEGIBLE:
        return {"legible": round(share, 3), "plate": None}
    best = None                                   # (reached, -alpha, share) for each plate at its first passing alpha
    for plate in (DARK, LIGHT):
        for alpha in np.arange(0.3 if mode == "always" else 0.15, 1.0001, 0.05):
            got = legible(plate, float(alpha))
            cand = (got >= 1 - LOGO_ILLEGIBLE, -float(round(alpha, 2)) if got >= 1 - LOGO_ILLEGIBLE else got, got,
                    plate, float(round(alpha, 2)))
            best = cand if best is None or cand[:3] > best[:3] else best
            if got >= 1 - LOGO_ILLEGIBLE:
                break
    return {"legible": round(best[2], 3), "plate": (best[3], best[4])}


def _draw_plate(canvas: Image.Image, box: Box, pad: int, rgb: tuple, alpha: float) -> None:
    """A rounded plate ``pad`` pixels about ``box``, blended at ``alpha``: drawn on a patch its size,
    composited in place."""
    x0, y0 = max(0, int(box.x - pad)), max(0, int(box.y - pad))
    x1, y1 = min(canvas.width, int(box.x2 + pad) + 1), min(canvas.height, int(box.y2 + pad) + 1)
    plate = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    ImageDraw.Draw(plate).rounded_rectangle(
        [box.x - pad - x0, box.y - pad - y0, box.x2 + pad - x0, box.y2 + pad - y0], radius=pad,
        fill=(*rgb, int(alpha * 255)))
    canvas.alpha_composite(plate, (x0, y0))


def _paste_asset(canvas: Image.Image, path: str, box: Box, plate: str = "auto") -> dict:
    """Draw the asset into ``box``, on a plate when its strokes would not read (``logo_plate``)."""
    im = _asset(path, int(box.w), int(box.h))
    x, y = int(box.x), int(box.y)
    under = np.asarray(canvas.crop((x, y, x + im.width, y + im.height)).convert("RGB"))
    need = logo_plate(np.asarray(im), under, plate)
    if need["plate"] is not None:
        _draw_plate(canvas, box, max(2, int(box.h * 0.15)), *need["plate"])
    canvas.alpha_composite(im, (x, y))
    return {"legible": need["legible"], "plate": None if need["plate"] is None else need["plate"][1]}


def _draw_text(canvas: Image.Image, text: str, layer: Layer, tpl: Template, box: Box) -> dict:
    st = layer.style
    if st.get("uppercase"):
        text = text.upper()
    key, text, dropped = font_for(text, st.get("font"))
    font_path = str(FONTS[key]) if key in FONTS else str(tpl.font_path(layer))
    notes = {}
    if dropped:
        notes["dropped"] = "no bundled font draws " + " ".join(f"{c} (U+{ord(c):04X})" for c in dropped[:8])
    if LAYOUT == ImageFont.Layout.BASIC and NEEDS_SHAPING.search(text):
        notes["unshaped"] = "Arabic/Hebrew drawn without shaping (Pillow lacks Raqm here)"
    if not text.strip():
        return {"skipped": True, **notes}
    draw = ImageDraw.Draw(canvas)
    if st.get("box") == "search":
        r = int(box.h / 2)
        draw.rounded_rectangle([box.x, box.y, box.x2 - 1, box.y2 - 1], radius=r, fill=(255, 255, 255, 235),
                               outline=(60, 60, 60, 255), width=max(1, int(box.h * 0.04)))
        cx, cy, rad = box.x + box.h * 0.5, box.y + box.h * 0.46, box.h * 0.2
        lw = max(2, int(box.h * 0.07))
        draw.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], outline=(60, 60, 60, 255), width=lw)
        draw.line([cx + rad * 0.7, cy + rad * 0.7, cx + rad * 1.6, cy + rad * 1.6], fill=(60, 60, 60, 255), width=lw)
        inner = Box(box.x + box.h * 0.95, box.y + box.h * 0.2, box.w - box.h * 1.3, box.h * 0.6)
        font, lines = fit_text(text, font_path, int(inner.w), int(inner.h), 1)
        draw.text((inner.x, inner.y + inner.h / 2), lines[0], font=font, fill=(51, 51, 51, 255), anchor="lm")
        bg = np.array([[255, 255, 255]])
        return {"contrast": round(float(contrast(luminance((51, 51, 51)), luminance(bg[0]))), 2), "plate": "search",
                "font_size": font.size, **notes}
    pad = max(2, int(box.h * 0.08))
    font, lines = fit_text(text, font_path, int(box.w - 2 * pad), int(box.h - 2 * pad),
                           int(st.get("max_lines", 2)))
    line_h = font.size * 1.18
    text_h = line_h * len(lines)
    widths = [font.getlength(line) for line in lines]
    tw = max(widths) if widths else 0
    align = layer.align
    if right_to_left(text):                          # a right-to-left script reads from the right edge
        align = {"left": "right", "right": "left"}.get(align, align)
    tx = box.x + pad if align == "left" else (box.x2 - pad - tw if align == "right" else box.x + (box.w - tw) / 2)
    ty = box.y + (box.h - text_h) / 2
    tb = Box(tx, ty, tw, text_h).rounded().clip(canvas.width, canvas.height) or box
    under = np.asarray(canvas.crop((int(tb.x), int(tb.y), int(tb.x2), int(tb.y2))).convert("RGB"))
    ink = choose_ink(under if under.size else np.zeros((1, 1, 3)), st.get("color", "auto"), st.get("plate", "auto"))
    if ink["plate"] is not None:
        _draw_plate(canvas, tb, pad, *ink["plate"])
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        lx = tx if align == "left" else (tx + tw - widths[i] if align == "right" else box.x + (box.w - widths[i]) / 2)
        draw.text((lx, ty + i * line_h + line_h / 2), line, font=font, fill=(*ink["color"], 255), anchor="lm")
    return {"contrast": ink["contrast"], "plate": None if ink["plate"] is None else ink["plate"][1],
            "font_size": font.size, "lines": len(lines), "font": Path(font_path).name, **notes}


INSET_MAX_ZOOM = 2.0    # a region layer (headshot, cut-out) is not drawn when its patch of the poster must be enlarged
                        # more than this: a walker's 40-px face in a 240-px circle is a smear, not a headshot


def _paste_region(canvas: Image.Image, source: np.ndarray, src_box: Box | None, box: Box, circle: bool) -> bool:
    """Draw ``src_box`` of the poster (``source``) into ``box``: False (nothing drawn) when there is no
    such region or it would be enlarged more than ``INSET_MAX_ZOOM``."""
    if src_box is None:
        return False
    b = src_box.clip(source.shape[1], source.shape[0])
    if b is None or b.w < 4 or b.h < 4:
        return False
    # grow to the target aspect about the centre so the inset is not stretched
    aspect = box.w / box.h
    cx, cy = b.center
    w, h = (b.h * aspect, b.h) if b.w / b.h < aspect else (b.w, b.w / aspect)
    w, h = w * 1.25, h * 1.25
    x1, y1 = int(max(0, cx - w / 2)), int(max(0, cy - h / 2))
    x2, y2 = int(min(source.shape[1], cx + w / 2)), int(min(source.shape[0], cy + h / 2))
    if max(box.w / max(x2 - x1, 1), box.h / max(y2 - y1, 1)) > INSET_MAX_ZOOM:
        return False
    patch = cv2.cvtColor(source[y1:y2, x1:x2], cv2.COLOR_BGR2RGB)
    im = Image.fromarray(patch).resize((int(box.w), int(box.h)), Image.LANCZOS).convert("RGBA")
    mask = Image.new("L", im.size, 0)
    d = ImageDraw.Draw(mask)
    if circle:
        d.ellipse([0, 0, im.width - 1, im.height - 1], fill=255)
    else:
        d.rectangle([0, 0, im.width - 1, im.height - 1], fill=255)
    ring = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    rd = ImageDraw.Draw(ring)
    rw = max(2, int(box.w * 0.03))
    shape = rd.ellipse if circle else rd.rectangle
    shape([box.x - rw, box.y - rw, box.x2 + rw, box.y2 + rw], fill=(255, 255, 255, 255))
    canvas.alpha_composite(ring)
    canvas.paste(im, (int(box.x), int(box.y)), mask)
    return True


def compose(image_bgr: np.ndarray, tpl: Template, scenario: str, meta: dict,
            faces: list[Box], salient: Box | None, group: Box | None = None,
            bodies=()) -> tuple[np.ndarray, list[Placement]]:
    """Draw ``tpl``'s layers over ``image_bgr`` (already at poster size).

    ``faces`` (the heads), ``bodies``, ``salient`` and ``group`` are in poster pixels. Returns the poster
    (BGR) and one ``Placement`` per drawn layer; a text layer whose field is empty
    is skipped.
    """
    H, W = image_bgr.shape[:2]
    canvas = Image.fromarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)).convert("RGBA")
    placements = []
    for layer in tpl.layers:
        text = None
        if layer.source == "field":
            text = str(meta.get(layer.value) or "").strip()
            if not text:
                continue
        elif layer.source == "text":
            text = layer.value
        region = region_px(layer.region_for(scenario), W, H)
        if layer.kind == "fixed":
            pl = Placement(layer.name, "fixed", fixed_box(region, tpl.layer_aspect(layer, region), layer.align),
                           region)
        else:
            sw, sh = layer.size_for(scenario)
            gray = np.asarray(canvas.convert("L"))
            pl = free_place(gray, region, (round(sw * W), round(sh * H)), faces, salient, layer.name, bodies=bodies)
        pl.extra["faces_covered"] = [round(inside_share(f, pl.box), 3) for f in faces]    # Q2, in the manifest
        if bodies:
            pl.extra["bodies_covered"] = [round(inside_share(b, pl.box), 3) for b in bodies]
        if layer.source == "asset":
            pl.extra.update(_paste_asset(canvas, str(tpl.asset_path(layer.value)), pl.box, layer.style.get("plate", "auto")))
        elif text is not None:
            pl.extra.update(_draw_text(canvas, text, layer, tpl, pl.box))
            if pl.extra.pop("skipped", False):
                placements.append(pl)             # recorded (with why), nothing drawn
                continue
        else:
            src = group if layer.value == "face" else salient
            if not _paste_region(canvas, image_bgr, src, pl.box, layer.style.get("shape") == "circle"):
                continue
        placements.append(pl)
    return cv2.cvtColor(np.asarray(canvas.convert("RGB")), cv2.COLOR_RGB2BGR), placements
