"""S14 on the command line: pins and vetoes win over scores, a rerender reuses the kept analysis, one job
publishes a set per language with the right fonts, variants differ on purpose and feedback promotes one."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autoposter.cli", *map(str, args)], env=ENV, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def manifest(out):
    return json.loads((out / "latest" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def edited(tmp_path_factory, sample_video):
    out = tmp_path_factory.mktemp("editors") / "out"
    r = cli("run", sample_video, "--out", out, "--template", "streaming", "--title", "Pioneers", "--quiet",
            "--pin", "story@9", "--pin", "feed:0.8,0.3", "--veto", "landscape@0", "--author", "Ana",
            "--language", "ar=رواد الحوسبة|فيلم وثائقي", "--language", "zh=计算机先驱")
    assert r.returncode == 0, r.stderr
    return out, manifest(out)


def test_a_pinned_moment_and_a_pinned_focus_lead_their_formats(edited):
    _, m = edited
    story = [p for p in m["posters"] if p["scenario"] == "story" and not p.get("language")]
    assert story[0]["frame_time"] == 9.0 and story[0]["pinned"]["by"] == "Ana"
    assert story[0]["pinned"]["method_choice"]["frame_time"] != 9.0           # what the method would have chosen
    feed = [p for p in m["posters"] if p["scenario"] == "feed" and not p.get("language")][0]
    x, y, w, h = feed["crop"]
    assert feed["pinned"]["focus"] == [0.8, 0.3]
    assert x + w / 2 == pytest.approx(min(0.8 * 854, 854 - w / 2), abs=1)     # centred on the focus (inside the frame)
    assert feed["crop"] != feed["pinned"]["method_choice"]["crop"]
    assert m["overrides"]["author"] == "Ana" and m["overrides"]["vetoed_crops"] >= 1


def test_a_vetoed_moment_is_never_published(edited):
    _, m = edited
    assert all(abs(p["frame_time"] - 0.0) >= 1.5 for p in m["posters"] if p["scenario"] == "landscape")


def test_one_job_publishes_a_set_per_language_with_the_right_fonts(edited):
    out, m = edited
    by = {}
    for p in m["posters"]:
        by.setdefault(p.get("language", ""), []).append(p)
    assert set(by) == {"", "ar", "zh"} and len(by["ar"]) == len(by["zh"]) == len(by[""])
    fonts = {lang: {ly.get("font") for p in ps for ly in p["layers"] if ly["name"] == "title"} for lang, ps in by.items()}
    assert fonts["ar"] == {"DejaVuSans-Bold.ttf"} and fonts["zh"] == {"wqy-microhei.ttc"}
    assert all(p["path"].startswith("ar/") for p in by["ar"]) and (out / "latest" / by["zh"][0]["path"]).is_file()
    page = (out / "latest" / "index.html").read_text()
    assert "· ar (" in page and "· zh (" in page                       # the gallery shows both sets


def test_render_reuses_the_kept_analysis(edited, tmp_path):
    out, before = edited[0].parent / "render-copy", edited[1]                 # the other tests read the original
    shutil.copytree(edited[0], out, symlinks=True)
    jobs = out / ".autoposter" / "jobs"
    kept = {p: p.stat().st_mtime_ns for p in jobs.rglob("*") if p.is_file()}
    assert any(p.name == "sampling.json" for p in kept)
    r = cli("render", out, "--template", "minimal,cjk", "--title", "Computing Pioneers", "--quiet")
    assert r.returncode == 0, r.stderr
    m = manifest(out)
    assert {p["template"] for p in m["posters"]} == {"minimal", "cjk"} and m["video"]["title"] == "Computing Pioneers"
    assert m["analysis"] == before["analysis"]
    assert {p: p.stat().st_mtime_ns for p in jobs.rglob("*") if p.is_file()} == kept     # nothing analysed again
    assert m["overrides"]["pins"] == before["overrides"]["pins"]                        # the editor's choices stay


def test_variants_differ_on_purpose_and_feedback_promotes_one(tmp_path, sample_video):
    out = tmp_path / "out"
    r = cli("run", sample_video, "--out", out, "--template", "minimal", "--scenario", "feed,story", "--variants", "3",
            "--quiet")
    assert r.returncode == 0, r.stderr
    m = manifest(out)
    for sc in ("feed", "story"):
        ps = [p for p in m["posters"] if p["scenario"] == sc]
        assert len(ps) == 3 and len({p["variant"] for p in ps}) == 3
        assert len({p["shot"] for p in ps}) == 3 or len({len(p["faces"]) for p in ps}) > 1   # other shot or subject
    r = cli("render", out, "--quiet")                                     # stable ids: the same choice, the same id
    assert r.returncode == 0 and [p["variant"] for p in manifest(out)["posters"]] == [p["variant"] for p in m["posters"]]
    last = [p for p in m["posters"] if p["scenario"] == "feed"][-1]
    fb = tmp_path / "fb.json"
    fb.write_text(json.dumps({last["variant"]: {"ctr": 0.2, "retention": 0.95}}))
    r = cli("render", out, "--feedback", fb, "--quiet")
    assert r.returncode == 0, r.stderr
    feed = [p for p in manifest(out)["posters"] if p["scenario"] == "feed"]
    assert feed[0]["variant"] == last["variant"] and feed[0]["promoted"]


@pytest.mark.parametrize("args,code", [
    (["--pin", "story@abc"], "Overrides::Invalid"),
    (["--pin", "tiktok@3"], "Overrides::Invalid"),
    (["--pin", "feed:1.5,0.2"], "Overrides::Invalid"),
    (["--veto", "feed"], "Overrides::Invalid"),
    (["--language", "english=Title"], "Overrides::Invalid"),
    (["--variants", "4"], "Settings::Invalid"),
    (["--overrides", "OVERRIDES"], "Overrides::FieldUnknown"),
])
def test_editor_input_is_checked_before_any_work(tmp_path, sample_video, args, code):
    bad = tmp_path / "ov.json"
    bad.write_text(json.dumps({"author": "x", "pins": [{"scenario": "feed", "time": 3, "tiem": 4}]}))
    args = [str(bad) if a == "OVERRIDES" else a for a in args]
    r = cli("run", sample_video, "--out", tmp_path / "out", "--quiet", *args)
    assert r.returncode == 2 and code in r.stderr.strip().splitlines()[-1], r.stderr
    assert not (tmp_path / "out").exists()


def test_pinning_a_moment_the_analysis_never_saw_says_how(edited):
    out, _ = edited
    r = cli("render", out, "--pin", "story@24", "--quiet")                  # past the last analysed frame
    assert r.returncode == 2 and "Pin::NotAnalysed" in r.stderr and "--pin" in r.stderr


def test_render_without_a_kept_analysis_is_a_typed_error(tmp_path):
    r = cli("render", tmp_path / "nothing", "--quiet")
    assert r.returncode == 2 and "Render::NoAnalysis" in r.stderr
