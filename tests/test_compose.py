"""M8–M9 drawing: WCAG contrast, plates, CJK text, region layers, fixed aspect on the poster."""

import cv2
import numpy as np

from autoposter.compose import WCAG_AA, choose_ink, compose, contrast, luminance
from autoposter.geometry import Box
from autoposter.templates import load, parse
from conftest import photo


def test_wcag_contrast_reference_values():
    assert contrast(luminance((255, 255, 255)), luminance((0, 0, 0))) == 21.0
    assert abs(contrast(luminance((118, 118, 118)), luminance((255, 255, 255))) - 4.54) < 0.01


def test_ink_on_plain_backgrounds_needs_no_plate():
    dark = choose_ink(np.full((20, 20, 3), 20, np.uint8))
    light = choose_ink(np.full((20, 20, 3), 235, np.uint8))
    assert dark["color"] == (255, 255, 255) and dark["plate"] is None and dark["contrast"] >= WCAG_AA
    assert light["color"] == (17, 17, 17) and light["plate"] is None


def test_busy_background_gets_a_plate_that_reaches_aa():
    stripes = np.zeros((40, 40, 3), np.uint8)
    stripes[:, ::2] = 255                        # black and white: no single ink works
    ink = choose_ink(stripes)
    assert ink["plate"] is not None and ink["contrast"] >= WCAG_AA


def test_streaming_poster_layers(detector):
    img = photo("astronaut")                         # 512x512, feed scenario is 1:1
    tpl = load("streaming")
    face = detector.detect(img)[0].box
    k = 1080 / 512
    canvas = cv2.resize(img, (1080, 1080))
    f = face.scale(k)
    poster, placements = compose(canvas, tpl, "feed", {"title": "Pioneers of Computing", "search_text": "pioneers"},
                                 [f], None, f)
    assert poster.shape == (1080, 1080, 3)
    by = {p.name: p for p in placements}
    assert set(by) == {"logo", "search", "title"}
    logo = by["logo"].box
    from PIL import Image
    with Image.open(tpl.asset_path("logo.png")) as im:
        assert abs(logo.w / logo.h - im.width / im.height) < 0.05   # fixed layer keeps its aspect
    assert abs(by["search"].box.w / by["search"].box.h - 5.5) < 0.1
    assert by["title"].box.intersection(f) is None
    assert by["title"].extra["contrast"] >= WCAG_AA
    assert not np.array_equal(poster, canvas)


def test_cjk_title_and_headshot_inset(tmp_path):
    img = np.full((1920, 1080, 3), 200, np.uint8)
    tpl = load("cjk")
    face = Box(400, 600, 200, 240)
    img[600:840, 400:600] = (60, 90, 160)
    poster, placements = compose(img, tpl, "story", {"title": "计算机先驱 Pioneers", "tagline": "今晚播出"},
                                 [face], None, face)
    names = [p.name for p in placements]
    assert names == ["logo", "headshot", "title", "tagline"]
    title = placements[2]
    assert title.extra["lines"] >= 1 and title.extra["contrast"] >= WCAG_AA
    # the CJK glyphs were drawn: the title box is no longer flat grey
    x, y, w, h = title.box.to_list(None)
    assert poster[y:y + h, x:x + w].std() > 10


def test_empty_field_layers_are_skipped(tmp_path):
    doc = {"name": "t", "scenarios": ["feed"], "layers": [
        {"name": "tag", "kind": "fixed", "source": {"field": "tagline"}, "region": [0, 0, 1, 0.1]}]}
    tpl = parse(doc, tmp_path, "t.json")
    _, placements = compose(np.zeros((1080, 1080, 3), np.uint8), tpl, "feed", {}, [], None)
    assert placements == []


def test_long_titles_are_cut_with_an_ellipsis_not_shrunk_away():
    from autoposter.compose import fit_text
    from autoposter.templates import FONTS
    long = "The extraordinary and thoroughly documented life of a computing pioneer " * 4
    font, lines = fit_text(long, str(FONTS["latin"]), 600, 120, 2)
    assert len(lines) <= 2 and lines[-1].endswith("…")
    assert font.size >= 120 / 2 / 1.18 * 0.45 - 1
    assert all(font.getlength(line) <= 600 for line in lines)
    short_font, short = fit_text("Pioneers", str(FONTS["latin"]), 600, 120, 2)
    assert short == ["Pioneers"] and short_font.size > font.size
    cjk_font, cjk = fit_text("计算机先驱" * 20, str(FONTS["cjk"]), 400, 100, 2)
    assert cjk[-1].endswith("…") and all(cjk_font.getlength(line) <= 400 for line in cjk)


def test_a_headshot_is_not_drawn_from_a_face_too_small_to_fill_it():
    """A face that would be enlarged more than ``INSET_MAX_ZOOM`` to fill the circle (a walker far off) gives
    no headshot rather than a smear; the same face at a readable size does."""
    from autoposter.compose import INSET_MAX_ZOOM
    tpl = load("cjk")
    img = np.full((1920, 1080, 3), 200, np.uint8)
    circle = 0.12 * 1920                                     # the story headshot's height, aspect 1
    small = Box(500, 900, 40, 48)                            # 1.25 x 48 = 60 px for a 230-px circle: ~3.8x
    big = Box(400, 600, 200, 240)
    assert circle / (1.25 * small.h) > INSET_MAX_ZOOM > circle / (1.25 * big.h)
    meta = {"title": "Pioneers", "tagline": "tonight"}
    names = lambda face: [p.name for p in compose(img, tpl, "story", meta, [face], None, face)[1]]
    assert "headshot" not in names(small)
    assert "headshot" in names(big)


def _logo(name="streaming"):
    from PIL import Image
    tpl = load(name)
    with Image.open(tpl.asset_path("logo.png")) as im:
        return np.asarray(im.convert("RGBA").resize((300, 57)))


def test_a_white_wordmark_on_a_bright_sky_gets_a_translucent_dark_plate():
    """A logo is a graphic: 3:1 (WCAG 1.4.11) for its white, grey or black strokes against what surrounds them.
    White letters on a bright sky fall short and get a dark plate just opaque enough; on a dark picture,
    none; the red icon alone is not judged (a brand colour reads by its hue); ``never`` and ``always``."""
    from autoposter.compose import LOGO_CONTRAST, LOGO_ILLEGIBLE, contrast, logo_plate, luminance
    logo = _logo()
    sky = np.full(logo.shape[:2] + (3,), 235, np.uint8)
    night = np.full(logo.shape[:2] + (3,), 25, np.uint8)
    bright = logo_plate(logo, sky)
    rgb, alpha = bright["plate"]
    assert rgb == (17, 17, 17) and 0.15 <= alpha < 1.0 and bright["legible"] >= 1 - LOGO_ILLEGIBLE
    assert logo_plate(logo, night)["plate"] is None
    assert logo_plate(logo, sky, "never")["plate"] is None
    assert logo_plate(logo, night, "always")["plate"][1] >= 0.3
    yellow = logo.copy()
    yellow[..., :3] = (255, 210, 0)            # a logo all in a light brand colour: under 3:1 on the sky by
    assert logo_plate(yellow, sky)["plate"] is None                       # lightness, yet it reads by its hue
    black = logo.copy()
    black[..., :3] = 0                                                    # a black wordmark on a dark picture:
    dark = logo_plate(black, night)                                       # a light plate, 3:1 as drawn
    assert dark["plate"][0] == (255, 255, 255) and dark["legible"] >= 1 - LOGO_ILLEGIBLE
    alpha = dark["plate"][1]
    drawn = alpha * 255 + (1 - alpha) * 25                               # the plate as Pillow blends it
    assert contrast(luminance((0, 0, 0)), luminance((drawn,) * 3)) >= LOGO_CONTRAST
    empty = logo.copy()
    empty[..., 3] = 0
    assert logo_plate(empty, night, "always") == {"legible": None, "plate": None}


def test_the_streaming_logo_is_drawn_on_a_plate_over_white_and_bare_over_black():
    tpl = load("streaming")
    meta = {"title": "Pioneers", "search_text": "pioneers"}
    for value, plated in ((245, True), (15, False)):
        poster, placements = compose(np.full((1080, 1080, 3), value, np.uint8), tpl, "feed", meta, [], None)
        logo = next(p for p in placements if p.name == "logo")
        assert (logo.extra["plate"] is not None) == plated
        x, y, w, h = logo.box.to_list(None)
        pad = max(2, int(h * 0.15))
        corner = poster[y - pad // 2, x + w // 2]                         # on the plate, above the letters
        assert (corner.mean() < value - 20) == plated


def test_a_light_plate_under_dark_text_reaches_aa_as_drawn():
    """Plates are blended in sRGB values, which comes out darker than a mix in linear light: dark text on a
    light plate is checked against the plate as drawn (with the old linear estimate it stopped at 3.96:1)."""
    stripes = np.zeros((40, 40, 3), np.uint8)
    stripes[:, ::2] = 200
    stripes[:, 1::2] = 90
    ink = choose_ink(stripes)
    rgb, alpha = ink["plate"]
    assert ink["color"] == (17, 17, 17) and rgb == (255, 255, 255)
    drawn = [alpha * np.array(rgb) + (1 - alpha) * v for v in (200, 90)]
    assert min(contrast(luminance(ink["color"]), luminance(d)) for d in drawn) >= WCAG_AA
