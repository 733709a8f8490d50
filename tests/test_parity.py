"""Q9: one pipeline. The command line and the cloud (the real state machine in the local cloud, IAM
enforced) make the same posters from the same video: the same frames, crops, layer boxes and scores,
and the same bytes. On the sample (one segment: the planner samples it) and on real footage letterboxed
2.35:1 (bars added, not pure black) cut into 8-second segments decoded in windows, as a long film is:
the Extract map's workers must get the planner's whole plan (its scan mode and pinned times)."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from autoposter.analysis import Job
from autoposter.pipeline import run_video
from autoposter.settings import Settings
from autoposter_local.cloud import LocalCloud
from conftest import SAMPLE

TEMPLATES = "streaming,cjk"


def letterboxed(tmp: Path) -> Path:
    """The sample re-framed as a film: 2.35:1 picture inside 16:9, bars of luma ~16 with noise."""
    cap = cv2.VideoCapture(str(SAMPLE))
    fps = cap.get(cv2.CAP_PROP_FPS)
    w, h = 854, 480
    ah = round(w / 2.35)
    top = (h - ah) // 2
    rng = np.random.default_rng(7)
    out = tmp / "film 2.35.mp4"
    vw = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        canvas = (16 + rng.integers(0, 4, (h, w, 3))).astype(np.uint8)
        y0 = (frame.shape[0] - ah) // 2
        canvas[top:top + ah] = frame[y0:y0 + ah]
        vw.write(canvas)
    vw.release()
    return out


def cli(video: Path, out: Path, title: str, env: dict) -> tuple[dict, Path]:
    m = run_video(video, out, Job(title=title, link="https://example.com/v", templates=tuple(TEMPLATES.split(","))),
                  Settings.from_env(env))
    return m, out / "latest"


def cloud(video: Path, title: str, env: dict) -> tuple[dict, dict]:
    from urllib.parse import quote
    with LocalCloud({"TEMPLATES": TEMPLATES, "LINK_BASE": "https://example.com/", **env}) as c:
        started = c.deliver(c.upload(video, f"uploads/{video.name}", {"title": quote(title, safe=" "),
                                                                        "link": "https://example.com/v"}))["results"][0]
        d = c.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        assert started["segments"] == expected_segments(env), started
        out = json.loads(d["output"])
        files = {k[len(out["set"]):]: c.s3.get_object(Bucket=c.buckets["cdn"], Key=k)["Body"].read()
                 for k in c.listing("cdn", out["set"])}
        return json.loads(files["manifest.json"]), files


def same_posters(a: dict, b: dict) -> None:
    assert len(a["posters"]) == len(b["posters"]) >= 10
    for p, q in zip(a["posters"], b["posters"]):
        for k in ("path", "template", "scenario", "rank", "frame_time", "shot", "crop", "faces", "active", "upscale"):
            assert p[k] == q[k], (k, p["path"], p[k], q[k])
        assert [ly["box"] for ly in p["layers"]] == [ly["box"] for ly in q["layers"]], p["path"]
        for k, v in p["scores"].items():
            assert q["scores"][k] == pytest.approx(v, abs=1e-6) if v is not None else q["scores"][k] is None
    assert a["rejected"] == b["rejected"]


WINDOWS = {"AUTOPOSTER_FRAMES_SCAN": "windows", "AUTOPOSTER_RUN_SEGMENT_SECONDS": "8"}


def expected_segments(env: dict) -> int:
    return 3 if env else 1                               # 20.9 s in 8-second segments; the sample whole


@pytest.mark.parametrize("make,env", [(lambda tmp: SAMPLE, {}), (letterboxed, WINDOWS)],
                         ids=["sample", "letterboxed-film-in-windows"])
def test_the_command_line_and_the_cloud_make_the_same_posters(tmp_path, make, env):
    video = make(tmp_path)
    title = "Pioneers of Computing"
    mine, folder = cli(video, tmp_path / "cli", title, env)
    theirs, files = cloud(video, title, env)
    for m in (mine, theirs):
        assert (m["video"]["scan"], m["video"]["segments"]) == ("windows" if env else "full", expected_segments(env))
    same_posters(mine, theirs)
    for p in mine["posters"]:                         # the same bytes: same frames, same renderer, same encoder
        assert (folder / p["path"]).read_bytes() == files[p["path"]], p["path"]
    if "film" in video.name:                          # Q6: the active picture, found and kept
        v = mine["video"]
        assert v["letterboxed"]
        for p in mine["posters"]:
            x, y, w, h = p["active"]
            assert y >= round((480 - 854 / 2.35) / 2) and y + h <= 480 - round((480 - 854 / 2.35) / 2)
            cx, cy, cw, ch = p["crop"]
            if p["mode"] == "crop":
                assert cy >= y and cy + ch <= y + h, (p["path"], p["crop"], p["active"])
            else:                                     # a fit window reaches past the picture: backdrop, not bars
                img = cv2.imread(str(folder / p["path"]), cv2.IMREAD_GRAYSCALE)
                assert 0 < p["backdrop"] < 0.5 and min(img[:8].mean(), img[-8:].mean()) > 12, p["path"]
