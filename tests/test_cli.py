"""The command line on the sample video and on bad inputs (exit codes are documented in cli.py)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autoposter.cropping import SCENARIOS
from autoposter.geometry import Box
from autoposter.layout import free_box, region_px
from autoposter.render import to_poster_space
from autoposter.templates import load
from conftest import ROOT, photo, write_video

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "autoposter.cli", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory, sample_video):
    tmp = tmp_path_factory.mktemp("run")
    out = tmp / "out"
    r = cli("run", sample_video, "--out", out, "--template", "streaming,cjk", "--title", "Pioneers of Computing",
            "--link", "https://example.com/v/42", "--debug", cwd=tmp)
    assert r.returncode == 0, r.stderr
    return tmp, out / "latest", json.loads((out / "latest" / "manifest.json").read_text()), r


def test_manifest_sizes_files_and_link(sample_run):
    tmp, out, m, r = sample_run
    assert m["video"]["link"] == "https://example.com/v/42"
    assert len(m["posters"]) >= 10
    scen = {(p["template"], p["scenario"]) for p in m["posters"]}
    assert {s for _, s in scen} == set(SCENARIOS)
    from PIL import Image
    for p in m["posters"]:
        sc = SCENARIOS[p["scenario"]]
        assert (p["width"], p["height"]) == (sc.width, sc.height)
        with Image.open(out / p["path"]) as im:
            assert im.size == (sc.width, sc.height)
        assert (out / p["debug"]).is_file()
        assert {"sharpness", "expression", "aesthetics", "total"} <= set(p["scores"]) <= {"sharpness", "expression", "aesthetics", "quality", "total", "penalty"}
        assert p["scores"]["total"] >= m["settings"]["total_min"]
        assert p["rank"] <= 3 and p["link"] == "https://example.com/v/42"
    assert "https://example.com/v/42" in (out / "index.html").read_text()
    assert "template" in r.stdout and "manifest" in r.stdout          # summary table
    assert not [p for p in out.parent.rglob(".staging*")]


def test_every_crop_holds_its_face_group_when_it_fits(sample_run):
    _, _, m, _ = sample_run
    with_faces = 0
    for p in m["posters"]:
        crop = Box.from_list(p["crop"])
        if p["group"]:
            g = Box.from_list(p["group"])
            if math.ceil(g.x2) - math.floor(g.x) <= crop.w and math.ceil(g.y2) - math.floor(g.y) <= crop.h:
                assert crop.contains(g, tol=0.5), p["path"]
                with_faces += 1
    assert with_faces >= 5


def test_free_layers_hide_no_face_when_a_free_spot_exists(sample_run):
    _, _, m, _ = sample_run
    checked = 0
    for p in m["posters"]:
        sc = SCENARIOS[p["scenario"]]
        crop = Box.from_list(p["crop"])
        faces = [to_poster_space(Box.from_list(f), crop, sc) for f in p["faces"]]
        faces = [f for f in (f.intersection(Box(0, 0, sc.width, sc.height)) for f in faces) if f]
        tpl = load(p["template"])
        for layer in p["layers"]:
            if layer["kind"] != "free":
                continue
            spec = next(ly for ly in tpl.layers if ly.name == layer["name"])
            region = region_px(spec.region_for(p["scenario"]), sc.width, sc.height)
            w, h = spec.size_for(p["scenario"])
            probe = free_box(np.zeros((sc.height, sc.width), np.uint8), region,
                             (round(w * sc.width), round(h * sc.height)), faces, None)
            if probe.overlap == 0 and faces:
                box = Box.from_list(layer["box"])
                assert all(box.intersection(f) is None for f in faces), (p["path"], layer)
                checked += 1
    assert checked >= 5


def test_templates_and_settings_commands(tmp_path):
    r = cli("templates", cwd=tmp_path)
    assert r.returncode == 0 and "streaming" in r.stdout and "cjk" in r.stdout and "minimal" in r.stdout
    r = cli("settings", cwd=tmp_path)
    assert "AUTOPOSTER_SCORE_TOP_K" in r.stdout


def _before(tmp):
    return sorted(p.name for p in Path(tmp).iterdir())


@pytest.mark.parametrize("name,make,code,words", [
    ("empty.mp4", lambda p: p.write_bytes(b""), 3, "Video::Empty"),
    ("text.mp4", lambda p: p.write_text("hello\n" * 100), 3, "Video::Unreadable"),
    ("trunc.mp4", lambda p: p.write_bytes((ROOT / "examples" / "sample.mp4").read_bytes()[:200_000]), 3,
     "Video::Unreadable"),
    ("tiny.mp4", lambda p: write_video(p, [np.full((16, 16, 3), 90, np.uint8)] * 4), 3, "Video::TooSmall"),
    ("grey.mp4", lambda p: write_video(p, [np.full((240, 320, 3), 128, np.uint8)] * 30), 6, "near_uniform"),
])
def test_bad_inputs_fail_clearly_and_write_nothing_outside_out(tmp_path, name, make, code, words):
    src = tmp_path / name
    make(src)
    before = _before(tmp_path)
    r = cli("run", src, "--out", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == code, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert words in last and last.startswith("autoposter: ")
    assert set(_before(tmp_path)) == set(before)                # a failed run leaves no folder behind


def test_one_frame_video_and_no_face_video(tmp_path):
    one = write_video(tmp_path / "one.mp4", [photo("astronaut")])
    r = cli("run", one, "--out", tmp_path / "o1", "--template", "minimal", "--scenario", "feed", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "o1" / "latest" / "manifest.json").read_text())
    assert len(m["posters"]) == 1 and m["posters"][0]["faces"]
    nof = write_video(tmp_path / "nof.mp4", [photo("coffee")] * 10 + [photo("chelsea")] * 10, fps=5)
    r = cli("run", nof, "--out", tmp_path / "o2", "--template", "minimal", "--scenario", "story", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "o2" / "latest" / "manifest.json").read_text())
    assert m["posters"] and all(p["faces"] == [] and p["scores"]["expression"] is None for p in m["posters"])


def test_bad_arguments(tmp_path, sample_video):
    r = cli("run", sample_video, "--out", tmp_path / "o", "--scenario", "tiktok", cwd=tmp_path)
    assert r.returncode == 2 and "Settings::UnknownScenario" in r.stderr
    r = cli("run", sample_video, "--out", tmp_path / "o", "--template", "nope", cwd=tmp_path)
    assert r.returncode == 4 and "Template::NotFound" in r.stderr


def test_frames_sampled_counts_every_candidate_frame(sample_run):
    """Every frame the workers took is accounted for: analysed, over the budget, or skipped with a reason."""
    _, _, m, _ = sample_run
    v = m["video"]
    skipped = [r for r in m["rejected"] if "scenario" not in r]
    assert {r["reason"] for r in skipped} <= {"near_black", "near_uniform", "near_duplicate", "same_moment"}
    assert v["frames_sampled"] == v["frames_analysed"] + v["over_budget"] + len(skipped) > 0


def test_a_partial_read_is_said_in_one_line_and_in_the_manifest(tmp_path):
    """A damaged file whose container announces 100 frames but only 40 decode (like OpenCV's tree.avi)."""
    import cv2
    img = cv2.resize(photo("astronaut"), (320, 240))
    full = tmp_path / "full.avi"
    vw = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(100):
        vw.write(np.roll(img, i * 3, axis=1))
    vw.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[:int(full.stat().st_size * 0.4)])
    r = cli("run", cut, "--out", tmp_path / "o", "--template", "minimal", "--scenario", "feed", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "warning: only" in lines[0] and "of the 100 frames" in lines[0], r.stderr
    v = json.loads((tmp_path / "o" / "latest" / "manifest.json").read_text())["video"]
    assert v["partial_read"] and v["frames_expected"] == 100 and v["frames_decoded"] < 60


HIDE = """
import sys, importlib.abc
HIDDEN = {"moto", "boto3", "botocore", "cfnlint", "samtranslator"}
class Hide(importlib.abc.MetaPathFinder):          # a plain `pip install .`: no moto, no boto3
    def __init__(self, inner):
        self.inner = inner
    def __getattr__(self, name):                    # find_distributions: the entry points stay visible
        return getattr(self.inner, name)
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            return None
        return self.inner.find_spec(name, path, target)
sys.meta_path[:] = [Hide(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]
from autoposter.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("argv", [["local-cloud", "examples/sample.mp4", "--out", "OUT"],
                                  ["backfill", "s3://b/p/", "--function", "f"], ["teardown", "--stack", "s"]])
def test_commands_of_an_extra_not_installed_say_which_in_one_line(tmp_path, argv):
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    r = subprocess.run([sys.executable, "-c", HIDE, *argv], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "shared")}, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Settings::MissingExtra" in lines[0] and "pip install" in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


def test_a_signal_during_a_native_import_still_exits_128_plus_the_signal():
    """SIGTERM/SIGHUP/SIGQUIT raise SystemExit(128 + n) from the handler; when that lands while
    onnxruntime initialises, Python wraps it in an ImportError — still the signal's exit."""
    from autoposter.cli import _signal_exit
    try:
        try:
            raise SystemExit(131)
        except SystemExit as stop:
            raise ImportError("initialization failed") from stop
    except ImportError as wrapped:
        assert _signal_exit(wrapped).code == 131
    assert _signal_exit(ImportError("no module named x")) is None
    assert _signal_exit(SystemExit(2)) is None                    # argparse's own exit is not a signal
