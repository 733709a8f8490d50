"""M8–M9 templates: schema, bundled files, and errors that name the file, field and expectation."""
import json

import jsonschema
import pytest

from autoposter.errors import TemplateError
from autoposter.templates import BUNDLED, bundled_names, load, schema


def test_three_bundled_templates_cover_every_scenario():
    names = bundled_names()
    assert {"streaming", "minimal", "cjk"} <= set(names)
    for n in names:
        t = load(n)
        assert set(t.scenarios) == {"story", "feed", "portrait", "landscape", "cover"}


def test_bundled_templates_pass_the_reference_json_schema_validator():
    for n in bundled_names():
        doc = json.loads((BUNDLED / n / "template.json").read_text())
        jsonschema.validate(doc, schema())


def good() -> dict:
    return json.loads((BUNDLED / "minimal" / "template.json").read_text())


def write(tmp_path, doc) -> str:
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(p)


@pytest.mark.parametrize("mutate,code,words", [
    (lambda d: d["layers"][0].pop("region"), "Template::FieldMissing", ["layers[0].region", "fractions"]),
    (lambda d: d.pop("name"), "Template::FieldMissing", ["name", "identifier"]),
    (lambda d: d["layers"][0].update(kind="floating"), "Template::FieldInvalid", ["layers[0].kind", "fixed"]),
    (lambda d: d.update(scenarios=["tiktok"]), "Template::FieldInvalid", ["scenarios[0]", "story"]),
    (lambda d: d["layers"][0].update(region=[0.5, 0, 0.9, 1]), "Template::FieldInvalid", ["layers[0].region", "x+w"]),
    (lambda d: d["layers"][0].update(region=[0, 0, 1]), "Template::FieldInvalid", ["layers[0].region"]),
    (lambda d: d["layers"][0].pop("size"), "Template::FieldMissing", ["layers[0].size", "free layer"]),
    (lambda d: d["layers"][0].update(size=[1.0, 0.1]), "Template::FieldInvalid", ["layers[0].size", "fit"]),
    (lambda d: d["layers"][0].update(source={"asset": "nope.png"}), "Template::AssetMissing", ["nope.png"]),
    (lambda d: d["layers"][0].update(source={}), "Template::FieldInvalid", ["layers[0].source", "exactly one"]),
    (lambda d: d["layers"][0].update(colour="red"), "Template::FieldUnknown", ["layers[0].colour"]),
    (lambda d: d["layers"][0]["style"].update(color="red"), "Template::FieldInvalid", ["style.color", "#rrggbb"]),
    (lambda d: d["layers"].append(dict(d["layers"][0])), "Template::FieldInvalid", ["layers[1].name", "unique"]),
])
def test_invalid_templates_name_file_field_and_expectation(tmp_path, mutate, code, words):
    doc = good()
    mutate(doc)
    path = write(tmp_path, doc)
    with pytest.raises(TemplateError) as e:
        load(path)
    assert e.value.code == code
    msg = str(e.value)
    assert path in msg and "\n" not in msg
    for w in words:
        assert w in msg


def test_unparseable_and_missing_templates(tmp_path):
    with pytest.raises(TemplateError) as e:
        load(write(tmp_path, "{not json"))
    assert e.value.code == "Template::Unparseable" and "line 1" in e.value.message
    with pytest.raises(TemplateError) as e:
        load("no-such-template")
    assert e.value.code == "Template::NotFound" and "streaming" in e.value.message


def test_our_validator_agrees_with_jsonschema_on_the_invalid_cases(tmp_path):
    bad = good()
    bad["layers"][0]["kind"] = "floating"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema())
