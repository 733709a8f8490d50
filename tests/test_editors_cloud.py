"""S14 in the cloud (the local cloud, IAM enforced): a console rerender publishes from the stored analysis
without extracting or analysing; an overrides file beside the upload pins and vetoes; a backfill of 50
objects, interrupted and resumed, starts each job exactly once."""
import json

import cv2
import numpy as np
import pytest

from autoposter_aws import keys
from autoposter_aws.backfill import State, backfill
from autoposter_local.cloud import LocalCloud
from autoposter_local.usage import report
from autoposter.video import VideoSource
from conftest import SAMPLE, photo, write_video


def test_a_console_rerender_skips_extraction_and_analysis(tmp_path):
    with LocalCloud({"TEMPLATES": "streaming"}) as cloud:
        key = "uploads/pioneers.mp4"
        started = cloud.deliver(cloud.upload(SAMPLE, key, {"title": "Pioneers"}))["results"][0]
        first = cloud.wait(started["execution_arn"])
        assert first["status"] == "SUCCEEDED"
        full = report(cloud, started["execution_arn"], VideoSource.local(SAMPLE), json.loads(first["output"]))
        calls = len(cloud.server.calls)
        arn = cloud.start({"rerender": {"job": started["job_id"], "templates": ["minimal", "cjk"],
                                        "title": "Computing Pioneers", "top_k": 2}}, name="rerender-1")
        d = cloud.wait(arn)
        assert d["status"] == "SUCCEEDED", d.get("cause")
        names = [n for n, _ in cloud.server.calls[calls:]]
        assert names == ["publish"]                                 # no extraction, no analysis
        out = json.loads(d["output"])
        assert out["rerender"] and out["set"] == keys.cdn_prefix(key) + "rerender-1/"
        m = cloud.get_json("cdn", out["manifest_key"])
        assert {p["template"] for p in m["posters"]} == {"minimal", "cjk"} and m["video"]["title"] == "Computing Pioneers"
        assert max(p["rank"] for p in m["posters"]) == 2
        assert cloud.status(key)["set"] == out["set"]                 # latest points at the rerender
        cloud.server.cpu = {"publish": cloud.server.cpu["publish"][-1:]}
        cloud.server.durations = {"publish": cloud.server.durations["publish"][-1:]}
        again = report(cloud, arn, VideoSource.local(SAMPLE), out)
        assert set(again["lambda"]) == {"publish"}
        # cheaper than the full run (the bench states the fraction: the posters it puts dominate a short video)
        assert again["cost_per_video_usd"] < full["cost_per_video_usd"], (again["cost_usd"], full["cost_usd"])
        assert again["cost_usd"]["extraction_compute"] == 0 and again["step_functions"]["children"] == 0


def test_an_overrides_file_beside_the_upload_pins_and_vetoes(tmp_path):
    with LocalCloud({"TEMPLATES": "minimal", "SCENARIOS": "story,feed"}) as cloud:
        key = "uploads/edited.mp4"
        doc = {"author": "Ana", "pins": [{"scenario": "story", "time": 9.0}], "vetoes": [{"scenario": "feed", "time": 3.0}],
               "languages": {"ar": {"title": "رواد الحوسبة"}}}
        cloud.s3.put_object(Bucket=cloud.buckets["input"], Key=keys.overrides(key), Body=json.dumps(doc).encode())
        started = cloud.deliver(cloud.upload(SAMPLE, key))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        m = cloud.get_json("cdn", json.loads(d["output"])["manifest_key"])
        story = [p for p in m["posters"] if p["scenario"] == "story" and not p.get("language")][0]
        assert story["frame_time"] == 9.0 and story["pinned"]["by"] == "Ana"
        assert all(abs(p["frame_time"] - 3.0) >= 1.5 for p in m["posters"] if p["scenario"] == "feed")
        assert {p.get("language", "") for p in m["posters"]} == {"", "ar"}
        bad = {"pins": [{"scenario": "story", "time": "soon"}]}            # a bad file refuses the upload, typed
        cloud.s3.put_object(Bucket=cloud.buckets["input"], Key=keys.overrides("uploads/bad.mp4"),
                            Body=json.dumps(bad).encode())
        r = cloud.deliver(cloud.upload(SAMPLE, "uploads/bad.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Overrides::FieldInvalid"
        for i, raw in enumerate([b'{"pins": [{"scenario": "story", "time": NaN}]}', b"\xff\xfe not utf-8", b"",
                                 b"{" * 40 + b"}" * 40, b" " * (2 << 20)]):   # the command line's file checks
            key = f"uploads/bad {i}.mp4"
            cloud.s3.put_object(Bucket=cloud.buckets["input"], Key=keys.overrides(key), Body=raw)
            r = cloud.deliver(cloud.upload(SAMPLE, key))["results"][0]
            assert r["status"] == "rejected" and r["code"] == "Overrides::Invalid", (raw[:20], r)


def tiny(tmp_path):
    a = cv2.resize(photo("astronaut"), (96, 96))
    return write_video(tmp_path / "tiny.mp4", [np.roll(a, i, axis=1) for i in range(8)], fps=8)


def test_a_backfill_interrupted_and_resumed_starts_each_job_once(tmp_path):
    video = tiny(tmp_path)
    env = {"TEMPLATES": "minimal", "SCENARIOS": "feed", "POWERTOOLS_METRICS_DISABLED": "true"}
    with LocalCloud(env) as cloud:
        for i in range(50):
            cloud.s3.upload_file(str(video), cloud.buckets["input"], f"uploads/library/clip {i:02d}.mp4")
        cloud.s3.put_object(Bucket=cloud.buckets["input"], Key="uploads/library/notes.txt", Body=b"not a video")
        handed = []

        def door(event):
            handed.append(event["Records"][0]["s3"]["object"]["key"])
            if len(handed) == 20:
                raise KeyboardInterrupt                    # the operator presses Ctrl-C
            return cloud.deliver(event)["results"][0]["status"]

        state = tmp_path / "state.json"
        url = f"s3://{cloud.buckets['input']}/uploads/library/"
        with pytest.raises(KeyboardInterrupt):
            backfill(cloud.s3, url, door, rate=0, state=State(str(state)))
        first = json.loads(state.read_text())["done"]
        assert len(first) == 19                              # the 20th was interrupted before it was handed over
        counts = backfill(cloud.s3, url, door, rate=0, state=State(str(state)))
        assert counts["objects"] == 50 and counts["skipped"] == 19 and counts["started"] == 31
        for e in cloud.executions():
            cloud.wait(e["executionArn"])
        names = [e["name"] for e in cloud.executions()]
        assert len(names) == len(set(names)) == 50            # every job started, none twice
        again = backfill(cloud.s3, url, door, mode="all", rate=0)   # no state: the door itself dedupes
        assert again["duplicate"] == 50 and len(cloud.executions()) == 50
        missing = backfill(cloud.s3, url, door, rate=0, cdn_bucket=cloud.buckets["cdn"])
        assert missing["skipped"] == 50                       # --missing-only: all published now
