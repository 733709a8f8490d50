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
