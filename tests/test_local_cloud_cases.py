"""The serverless flow in its other cases: batches of one frame, a failing batch, every batch failing,
a failed job uploaded again, a new title, a non-video upload, feedback, events for another bucket.

Each test runs its own local cloud (moto in process + the Lambda API server); failures are injected
from outside the product (``LocalCloud(faults=…)``), so nothing of the kind ships.
"""
import json

import cv2
import numpy as np

from autoposter_aws import keys
from autoposter_local.cloud import LocalCloud
from conftest import ROOT, photo, write_video


def small_video(tmp_path):
    shots = [photo("astronaut"), photo("grace_hopper"), photo("coffee")]
    frames = []
    for img in shots:
        img = cv2.resize(img, (480, 480))
        for i in range(12):
            frames.append(np.roll(img, i * 2, axis=1))
    return write_video(tmp_path / "small clip.mp4", frames, fps=8)


def first_batch(event) -> bool:
    return event["batch"]["batch"] == 0


def test_one_failing_frame_still_publishes(tmp_path):
    env = {"AUTOPOSTER_RUN_BATCH_SIZE": "1", "TEMPLATES": "minimal", "SCENARIOS": "feed"}
    with LocalCloud(env, faults={"analyse": first_batch}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "uploads/a b.mp4"))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        m = cloud.get_json("cdn", json.loads(d["output"])["manifest_key"])
        assert m["video"]["failed_frames"] == 1 and m["posters"]
        assert any(r["reason"].startswith("failed: InjectedFault") for r in m["rejected"])
        assert ("batch_failed", True) in cloud.server.calls
        calls = [n for n, ok in cloud.server.calls]
        assert calls.count("analyse") == started["batches"] == started["frames"]    # one frame per item works


def test_every_frame_failing_fails_the_execution_typed_and_findable(tmp_path):
    with LocalCloud({"TEMPLATES": "minimal", "SCENARIOS": "feed"}, faults={"analyse": lambda e: True}) as cloud:
        key = "uploads/all-fail.mp4"
        started = cloud.deliver(cloud.upload(small_video(tmp_path), key))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "FAILED" and d.get("error") == "FramesFailed"
        assert "frames failed" in d.get("cause", "") and "InjectedFault" in d.get("cause", "")
        assert [n for n, ok in cloud.server.calls].count("analyse") == 1          # a bad input is not retried
        status = cloud.status(key)
        assert status["status"] == "failed" and status["error"]["code"] == "Frames::TooManyFailed"
        assert cloud.listing("cdn", keys.cdn_prefix(key)) == [keys.status(key)]   # no poster, only the status
        assert [e["detail-type"] for e in cloud.events()] == ["Posters Failed"]


def test_a_failed_job_uploaded_again_starts_a_new_attempt(tmp_path):
    """S12: a FAILED job is retried by uploading again; the same event twice is still one execution."""
    clip = small_video(tmp_path)
    broken = {"on": True}
    with LocalCloud({"TEMPLATES": "minimal", "SCENARIOS": "feed"},
                    faults={"analyse": lambda e: broken["on"]}) as cloud:
        ev = cloud.upload(clip, "uploads/retry.mp4")
        first = cloud.deliver(ev)["results"][0]
        assert cloud.wait(first["execution_arn"])["status"] == "FAILED"
        broken["on"] = False
        second = cloud.deliver(cloud.upload(clip, "uploads/retry.mp4"))["results"][0]
        assert second["status"] == "started" and second["job_id"] == first["job_id"]
        assert second["execution"] == first["job_id"] + "-2"
        assert cloud.wait(second["execution_arn"])["status"] == "SUCCEEDED"
        again = cloud.deliver(ev)["results"][0]                       # attempt 2 succeeded: a duplicate now
        assert again["status"] == "duplicate" and len(cloud.executions()) == 2
        assert cloud.status("uploads/retry.mp4")["status"] == "published"


def test_a_new_title_is_a_new_job(tmp_path):
    clip = small_video(tmp_path)
    with LocalCloud({"TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        a = cloud.deliver(cloud.upload(clip, "uploads/t.mp4", {"title": "First"}))["results"][0]
        cloud.wait(a["execution_arn"])
        b = cloud.deliver(cloud.upload(clip, "uploads/t.mp4", {"title": "Second"}))["results"][0]
        assert b["status"] == "started" and b["job_id"] != a["job_id"]
        assert cloud.wait(b["execution_arn"])["status"] == "SUCCEEDED"
        m = cloud.get_json("cdn", cloud.status("uploads/t.mp4")["set"] + "manifest.json")
        assert m["video"]["title"] == "Second"


def test_upload_that_is_not_a_video(tmp_path):
    bad = tmp_path / "report.mp4"
    bad.write_text("quarterly numbers\n" * 200)
    with LocalCloud() as cloud:
        r = cloud.deliver(cloud.upload(bad, "uploads/report.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::Unreadable"
        status = cloud.status("uploads/report.mp4")
        assert status["status"] == "refused" and "not a video" in status["error"]["message"]
        assert cloud.executions() == []
        assert cloud.listing("cdn") == [keys.status("uploads/report.mp4")]
        assert [e["detail-type"] for e in cloud.events()] == ["Posters Refused"]


def test_many_batches_fan_out_as_child_executions(tmp_path):
    with LocalCloud({"AUTOPOSTER_RUN_BATCH_SIZE": "2", "TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "uploads/long.mp4"))["results"][0]
        assert started["batches"] >= 3
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        assert len(json.loads(d["input"])["sampling"]["batches"]) == started["batches"]
        names = [n for n, ok in cloud.server.calls]
        assert names.count("analyse") == started["batches"] and names[-1] == "publish"
        assert cloud.map_run_items(started["execution_arn"]) == started["batches"]
        assert json.loads(d["output"])["posters"] >= 1


def test_events_for_another_bucket_or_prefix_or_malformed_are_refused_without_work(tmp_path):
    with LocalCloud() as cloud:
        ev = cloud.upload(small_video(tmp_path), "jobs/x/segments/00000.tar", bucket=cloud.buckets["work"])
        r = cloud.deliver(ev)["results"][0]
        assert r["status"] == "ignored" and r["bucket"] == cloud.buckets["work"]
        r = cloud.deliver(cloud.upload(small_video(tmp_path), "elsewhere/x.mp4"))["results"][0]
        assert r["status"] == "ignored"
        r = cloud.deliver({"Records": [{"s3": {"bucket": {}}}]})["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Event::Malformed"
        assert cloud.deliver({"not": "s3"})["results"][0]["code"] == "Event::Malformed"
        missing = cloud.upload(small_video(tmp_path), "uploads/gone.mp4")
        cloud.s3.delete_object(Bucket=cloud.buckets["input"], Key="uploads/gone.mp4")
        r = cloud.deliver(missing)["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::NotFound"
        assert cloud.executions() == []


def test_feedback_stored_for_a_job_changes_the_next_ranking(tmp_path):
    """M13: click-through stored in the work bucket re-ranks when the execution is rerun."""
    with LocalCloud({"TEMPLATES": "minimal", "SCENARIOS": "feed", "AUTOPOSTER_SCORE_TOP_K": "1",
                     "AUTOPOSTER_SCORE_FEEDBACK_WEIGHT": "0.6"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "uploads/fb.mp4"))["results"][0]
        job = started["job_id"]
        d1 = cloud.wait(started["execution_arn"])
        assert d1["status"] == "SUCCEEDED"
        first = cloud.get_json("cdn", json.loads(d1["output"])["manifest_key"])
        top = first["posters"][0]["frame_time"]
        store = json.loads(d1["input"])["store"]
        analysis = cloud.get_json("work", store + "analysis/00000.json")
        others = sorted({c["frame_time"] for f in analysis["frames"] for c in f["candidates"]
                         if not c["rejected"] and abs(c["frame_time"] - top) > 1.5})
        assert others, "the clip should offer another acceptable frame"
        clicked = others[0]
        feedback = {f"feed@{top:.1f}": {"ctr": 0.0, "retention": 0.05},
                    f"feed@{clicked:.1f}": {"ctr": 0.15, "retention": 0.95}}
        cloud.s3.put_object(Bucket=cloud.buckets["work"], Key=keys.feedback(job), Body=json.dumps(feedback))
        d2 = cloud.wait(cloud.start(json.loads(d1["input"]), name=started["execution"] + "-fb"))
        assert d2["status"] == "SUCCEEDED", d2.get("cause")
        second = cloud.get_json("cdn", json.loads(d2["output"])["manifest_key"])
        assert second["posters"][0]["frame_time"] == clicked


def test_size_and_duration_caps_refuse_before_anything_is_read(tmp_path):
    clip = small_video(tmp_path)
    with LocalCloud({"MAX_UPLOAD_BYTES": "1000"}) as cloud:
        r = cloud.deliver(cloud.upload(clip, "uploads/big.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::TooLarge" and "MAX_UPLOAD_BYTES" in r["message"]
        reads = cloud.s3_requests()["extract_frames"]
        # the video never read: one HEAD, and one GET — of the editor's overrides file beside it (none here)
        assert reads.get("GetObject", 0) == 1 and reads.get("HeadObject") == 1
        assert cloud.executions() == []
    with LocalCloud({"MAX_VIDEO_SECONDS": "2"}) as cloud:
        r = cloud.deliver(cloud.upload(clip, "uploads/long.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::TooLong"
        assert cloud.status("uploads/long.mp4")["error"]["code"] == "Video::TooLong"
        assert "PutObject" not in cloud.s3_requests()["extract_frames"] or \
            not cloud.listing("work")                                             # refused from the header: no work


def test_hostile_metadata_is_refused_and_recorded(tmp_path):
    clip = small_video(tmp_path)
    with LocalCloud() as cloud:
        r = cloud.deliver(cloud.upload(clip, "uploads/js.mp4", {"link": "javascript:alert(document.domain)"}))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Settings::Link"
        r = cloud.deliver(cloud.upload(clip, "uploads/long-title.mp4", {"title": "x" * 1900}))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Settings::TextTooLong"
        big = tmp_path / "minutes.mp4"                  # 30 MB of text: refused from its first 4 KB
        big.write_text("meeting minutes, item 1: budget\n" * 1_000_000)
        before = cloud.s3_requests()["extract_frames"].get("GetObject", 0)
        read = cloud.s3_bytes_read().get("extract_frames", 0)
        r = cloud.deliver(cloud.upload(big, "uploads/minutes.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::Unreadable" and "text file" in r["message"]
        # the overrides file beside it, then the 4 KB sniff: never the whole upload
        assert cloud.s3_requests()["extract_frames"]["GetObject"] - before == 2
        assert cloud.s3_bytes_read()["extract_frames"] - read <= 4096 + 512        # (and the 404 answer)
        still = tmp_path / "still.mp4"
        still.write_bytes((ROOT / "examples" / "photos" / "coffee.jpg").read_bytes())
        r = cloud.deliver(cloud.upload(still, "uploads/still.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::NotAVideo"
        assert cloud.executions() == []


def test_a_film_read_keyframes_only_is_read_by_the_door(tmp_path):
    """A keys plan is one segment: the door reads the film (keyframes only) and starts the execution with
    its sampling; no Extract map, and what the worker found is in the manifest."""
    env = {"AUTOPOSTER_FRAMES_KEYS_SHARE": "0.01", "TEMPLATES": "minimal", "SCENARIOS": "feed"}
    with LocalCloud(env) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "uploads/film keys.mp4"))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        assert "sampling" in json.loads(d["input"])
        names = [n for n, ok in cloud.server.calls]
        assert "extract_segment" not in names and "sample" not in names and names[-1] == "publish"
        video = cloud.get_json("cdn", json.loads(d["output"])["manifest_key"])["video"]
        assert video["scan"] == "keys" and 0 < video["key_interval"] <= 2.5 and not video["partial_read"]
        assert video["frames_decoded"] < video["frames_expected"] == video["frames_decoded"] + video["frames_skipped"]
