"""Property tests: whatever a user or uploader hands the validators — random templates, settings,
feedback, links, metadata, titles — the answer is a typed error or a valid result, never another
exception."""
import json
import math

from hypothesis import HealthCheck, given, settings, strategies as st

from autoposter.errors import AutoposterError, TemplateError
from autoposter.inputs import check_feedback, check_link, check_text, clean_text, parse_meta
from autoposter.settings import Settings
from autoposter.templates import parse

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda c: st.one_of(st.lists(c, max_size=5),
                                                             st.dictionaries(st.text(max_size=12), c, max_size=5)),
                           max_leaves=30)
rect = st.lists(st.floats(-0.5, 1.5, allow_nan=False), min_size=0, max_size=5)
layer = st.fixed_dictionaries(
    {"name": st.text(max_size=8), "kind": st.sampled_from(["fixed", "free", "other"]),
     "source": st.one_of(st.dictionaries(st.sampled_from(["asset", "field", "text", "region", "x"]),
                                         st.text(max_size=20), max_size=2), json_values),
     "region": rect},
    optional={"size": rect, "aspect": st.floats(allow_nan=True, allow_infinity=True), "align": st.text(max_size=6),
              "style": st.dictionaries(st.sampled_from(["font", "color", "plate", "max_lines", "zz"]), json_scalars),
              "by_scenario": st.dictionaries(st.sampled_from(["feed", "story", "tiktok"]),
                                             st.dictionaries(st.sampled_from(["region", "size", "q"]), rect))})
template_docs = st.one_of(json_values, st.fixed_dictionaries(
    {"name": st.sampled_from(["ok", "Bad Name", ""]),
     "scenarios": st.lists(st.sampled_from(["feed", "story", "portrait", "landscape", "cover", "tiktok"]),
                           max_size=6),
     "layers": st.lists(layer, max_size=4)}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template_docs)
def test_any_template_document_is_valid_or_a_typed_error(tmp_path_factory, doc):
    folder = tmp_path_factory.mktemp("tpl", numbered=True)
    try:
        t = parse(doc, folder, "t.json")
    except TemplateError as exc:
        assert exc.code.startswith("Template::") and "\n" not in str(exc)
        return
    assert t.layers and all(0 < ly.region[2] <= 1 for ly in t.layers)


setting_names = st.sampled_from([env for env, _, _ in Settings.from_env({}).table()])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(setting_names, st.one_of(st.text(max_size=12), st.floats().map(str),
                                                st.integers(-10**9, 10**9).map(str)), max_size=4))
def test_any_environment_gives_settings_or_a_typed_error(env):
    try:
        s = Settings.from_env(env)
    except AutoposterError as exc:
        assert exc.code == "Settings::Invalid" and exc.exit_code == 2
        return
    assert 0 < s.frames.rate <= 30 and 1 <= s.score.top_k <= 50 and math.isfinite(s.crop.alpha)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_feedback_document_is_checked(doc):
    try:
        out = check_feedback(doc)
    except AutoposterError as exc:
        assert exc.code == "Feedback::Invalid"
        return
    assert all(0 <= x <= 1 for v in out.values() for x in v.values())


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60) | st.sampled_from(["javascript:alert(1)", "JAVASCRIPT:x", " https://a.b", "http:/x",
                                                "https://example.com/w?v=1", "data:,x", "//example.com"]))
def test_any_link_is_http_or_a_typed_error(link):
    try:
        out = check_link(link)
    except AutoposterError as exc:
        assert exc.code == "Settings::Link"
        return
    assert out == "" or out.split(":", 1)[0].lower() in ("http", "https")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=6), st.text(max_size=400))
def test_any_meta_and_title(pairs, title):
    try:
        meta = parse_meta(pairs)
        t = check_text("title", title)
    except AutoposterError as exc:
        assert exc.code in ("Settings::Invalid", "Settings::TextTooLong", "Settings::TextInvalid", "Settings::Link")
        return
    assert len(t) <= 300 and all(len(v) <= 300 for v in meta.values())
    assert not any(c in t for c in "\u202e\u202d\u2066\u0000")
    assert clean_text(t) == t                                         # cleaning is idempotent
    json.dumps(meta)
