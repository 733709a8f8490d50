"""#17: full validation is the gate. Random templates (valid, and broken in every field: NaN, infinities,
huge and negative numbers, text that is not UTF-8, zero-width or a pile of combining marks, assets that
do not decode, fonts that are not fonts), random settings and random feedback go through the checks;
whatever passes must render (or score) without an error the checks could have seen, and whatever fails
fails typed."""
import json
import math
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st  # noqa: F401

from conftest import ROOT
from autoposter.cropping import SCENARIOS
from autoposter.errors import AutoposterError, SettingsError, TemplateError
from autoposter.geometry import Box

LOGO = ROOT / "shared/autoposter/templates/cjk/logo.png"
FONT = ROOT / "shared/autoposter/assets/fonts/DejaVuSans-Bold.ttf"

weird_chars = st.characters(categories=["Cs", "Mn", "Me", "Cf", "Zs", "Cc", "Lu", "Ll", "Lo", "Nd", "Po", "So"])
texts = st.one_of(st.sampled_from(["Pioneers", "计算机先驱", "رواد", "", " ", "\u200b" * 5, "a" + "\u0301" * 12,
                                   "line\n", "#ffffff\n", "mine\n"]),
                  st.text(weird_chars, max_size=40))
numbers = st.one_of(st.floats(0, 1), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-3, 3), st.sampled_from([0, 1e-9, 1e308, -0.0, 10 ** 30]))
fraction = st.floats(0, 1)


@st.composite
def valid_layer(draw, i: int):
    """A layer the checks should accept: a rectangle inside the canvas, a size inside it, a known source."""
    x, y = draw(fraction.map(lambda v: v * 0.5)), draw(fraction.map(lambda v: v * 0.5))
    w, h = draw(st.floats(0.1, 0.5)), draw(st.floats(0.1, 0.5))
    kind = draw(st.sampled_from(["free", "fixed"]))
    source = draw(st.sampled_from([{"field": "title"}, {"field": "tagline"}, {"text": "Brand"}, {"asset": "logo.png"},
                                   {"region": "face"}, {"text": "计算机"}]))
    ly = {"name": f"l{i}", "kind": kind, "source": source, "region": [x, y, w, h]}
    if kind == "free":
        ly["size"] = [w * draw(st.floats(0.5, 1)), h * draw(st.floats(0.5, 1))]
    elif draw(st.booleans()):
        ly["aspect"] = draw(st.floats(0.2, 5))
    if draw(st.booleans()):
        ly["style"] = {"color": draw(st.sampled_from(["auto", "#ffffff", "#102030"])),
                       "font": draw(st.sampled_from(["latin", "cjk", "font.ttf"]))}
    return ly


BREAKS = {                                   # one field of a valid layer (or the document) made hostile
    "region": st.lists(numbers, min_size=3, max_size=5), "size": st.lists(numbers, min_size=1, max_size=3),
    "aspect": numbers, "name": texts, "source": st.sampled_from(
        [{"text": "a\ud800"}, {"text": "\u200b" * 3}, {"text": "e" + "\u0301" * 20}, {"asset": "bad.png"},
         {"asset": "cut.jpg"}, {"asset": "empty.png"}, {"asset": "../outside.png"}, {"field": "title\n"}]),
    "style": st.sampled_from([{"color": "#FFFFFF\n"}, {"color": "red"}, {"font": "notafont.ttf"},
                              {"font": "missing.ttf"}, {"font": "../f.ttf"}]),
}


@st.composite
def template_docs(draw):
    """Mostly valid documents, about half of them with one field broken in one of the ways above."""
    n = draw(st.integers(1, 4))
    doc = {"name": "prop", "scenarios": draw(st.lists(st.sampled_from(list(SCENARIOS)), min_size=1, max_size=3,
                                                      unique=True)),
           "layers": [draw(valid_layer(i)) for i in range(n)]}
    if draw(st.booleans()):
        what = draw(st.sampled_from(sorted(BREAKS) + ["doc.name", "doc.scenarios"]))
        if what == "doc.name":
            doc["name"] = draw(texts)
        elif what == "doc.scenarios":
            doc["scenarios"] = draw(st.lists(st.sampled_from(list(SCENARIOS) + ["tiktok", ""]), max_size=3))
        else:
            doc["layers"][draw(st.integers(0, n - 1))][what] = draw(BREAKS[what])
    return doc


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("prop") / "tpl"
    d.mkdir()
    shutil.copy(LOGO, d / "logo.png")
    (d / "bad.png").write_bytes(LOGO.read_bytes()[:60])                 # a header, then nothing
    (d / "cut.jpg").write_bytes((ROOT / "examples/photos/coffee.jpg").read_bytes()[:500])
    (d / "empty.png").write_bytes(b"")
    shutil.copy(FONT, d / "font.ttf")
    (d / "notafont.ttf").write_text("not a font")
    shutil.copy(LOGO, d.parent / "outside.png")
    return d


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=template_docs(), title=texts, tagline=texts)
def test_a_template_that_passes_validation_renders_in_every_scenario(folder, doc, title, tagline):
    from autoposter import templates
    from autoposter.compose import compose
    from autoposter.inputs import check_text

    path = folder / "template.json"
    path.write_text(json.dumps(doc))                      # NaN and Infinity are written as JSON's extension
    try:
        tpl = templates.load(path)
    except TemplateError as exc:                          # refused: typed, one line, names the file
        assert "\n" not in exc.message and str(path) in exc.message
        return
    assert all(math.isfinite(v) for ly in tpl.layers for v in ly.region)
    try:
        meta = {"title": check_text("title", title), "tagline": check_text("tagline", tagline)}
    except SettingsError:
        meta = {"title": "Pioneers"}
    for sc in tpl.scenarios:
        s = SCENARIOS[sc]
        img = np.full((s.height, s.width, 3), 90, np.uint8)
        face = Box(s.width * 0.4, s.height * 0.3, s.width * 0.2, s.height * 0.15)
        poster, placements = compose(img, tpl, sc, meta, [face], face)
        assert poster.shape == img.shape
        for p in placements:
            assert all(math.isfinite(v) for v in (p.box.x, p.box.y, p.box.w, p.box.h))


setting_names = st.sampled_from(["AUTOPOSTER_FRAMES_RATE", "AUTOPOSTER_FACES_THRESHOLDS", "AUTOPOSTER_SCORE_TOP_K",
                                 "AUTOPOSTER_SCORE_W_SHARPNESS", "AUTOPOSTER_SCORE_W_EXPRESSION",
                                 "AUTOPOSTER_SCORE_W_AESTHETICS", "AUTOPOSTER_CROP_ALPHA", "AUTOPOSTER_FRAMES_SCAN",
                                 "AUTOPOSTER_SALIENCY_MODEL", "AUTOPOSTER_CROP_KEEP_GROUP", "AUTOPOSTER_BARS_MAX_BAR"])
setting_values = st.one_of(st.sampled_from(["0", "1", "0.5", "nan", "inf", "-1", "1e9", "", "auto", "u2netp", "yes",
                                            "0.6", "0.6,0.7", "0.6,0.7,0.7", "0.6,0.7,0.7,0.8", "x,y,z"]),
                           st.text(max_size=8))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(setting_names, setting_values, max_size=6))
def test_settings_that_pass_can_score_a_crop(env):
    from autoposter.scoring import total
    from autoposter.settings import Settings

    try:
        s = Settings.from_env(env)
    except SettingsError as exc:
        assert exc.code == "Settings::Invalid" and "\n" not in exc.message
        return
    assert len(s.faces.thresholds) == 3
    for expr in (0.5, None):
        t = total(0.5, 0.5, expr, s.score)
        assert math.isfinite(t) and 0 <= t <= 1


feedback_keys = st.one_of(st.sampled_from(["feed@1.0", "feed@1", "feed@1.00", "feed@1_0", "story@12.5", "v-0123456789",
                                           "v-xyz", "feed", "@1", "feed@-1", "feed@1e3", "feed@١"]), st.text(max_size=12))
feedback_values = st.one_of(st.fixed_dictionaries({"ctr": numbers}), st.fixed_dictionaries({"retention": numbers}),
                            st.just({}), st.just({"ctr": "high"}), st.just({"clicks": 3}), st.just([1]))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(feedback_keys, feedback_values, max_size=5))
def test_feedback_that_passes_gives_finite_scores(doc):
    from autoposter import editors
    from autoposter.inputs import check_feedback, parse_json

    try:
        fb = check_feedback(parse_json(json.dumps(doc)))
    except (SettingsError, ValueError) as exc:
        assert not isinstance(exc, SettingsError) or exc.code == "Feedback::Invalid"
        return
    from autoposter.scoring import ScoreSettings, blend_feedback
    scores = editors.feedback_scores(fb)
    assume(scores)
    for v in scores.values():
        b = blend_feedback(0.6, v.get("ctr"), v.get("retention"), ScoreSettings().feedback_weight)
        assert math.isfinite(b) and 0 <= b <= 1


def test_every_refusal_is_typed_not_a_crash(folder):
    """The property above only holds if nothing untyped escapes: a handful of fixed nasties."""
    from autoposter import templates
    for raw in ['{"name": "x", "scenarios": ["feed"], "layers": [{"name": "t", "kind": "fixed", "source": {"text": "B"},'
                ' "aspect": ' + "9" * 5000 + ', "region": [0, 0, 1, 1]}]}', "[" * 20 + "]" * 20, "\ufeff{}", "",
                '{"name": "x", "scenarios": ["feed"], "layers": [{"name": "t", "kind": "free", "source": {"field": '
                '"title"}, "region": [-Infinity, 0, 1, 1], "size": [0.5, 0.1]}]}']:
        (folder / "template.json").write_text(raw)
        with pytest.raises(AutoposterError) as e:
            templates.load(folder / "template.json")
        assert e.value.code.startswith("Template::")
