"""The serverless flow in its other cases: batches of one frame, a failing batch, every batch
failing, a non-video upload, feedback, events for another bucket.

Each test runs its own local cloud (moto in process + the Lambda API server), so the
fault-injection setting of one cannot leak into another.
"""
import json

import cv2
import numpy as np

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


def test_one_failing_frame_still_publishes(tmp_path):
    with LocalCloud({"FAULT_INJECT": "0", "BATCH_SIZE": "1", "TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "in/a b.mp4"))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        m = json.loads(cloud.s3.get_object(Bucket=cloud.buckets["cdn"],
                                           Key=f"videos/{started['job_id']}/manifest.json")["Body"].read())
        assert m["failed_frames"] == 1 and m["posters"]
        assert any(r["reason"].startswith("failed: InjectedFault") for r in m["rejected"])
        assert ("batch_failed", True) in cloud.server.calls
        calls = [n for n, ok in cloud.server.calls]
        assert calls.count("analyse") == started["batches"] == started["frames"]    # one frame per item works


def test_every_frame_failing_fails_the_execution_and_publishes_nothing(tmp_path):
    with LocalCloud({"FAULT_INJECT": "all", "TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "in/all-fail.mp4"))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "FAILED" and d.get("error") == "FramesFailed"
        assert "frames failed" in d.get("cause", "") and "InjectedFault" in d.get("cause", "")
        assert [n for n, ok in cloud.server.calls].count("analyse") == 1          # a bad input is not retried
        assert cloud.published(started["job_id"]) == []


def test_upload_that_is_not_a_video(tmp_path):
    bad = tmp_path / "report.mp4"
    bad.write_text("quarterly numbers\n" * 200)
    with LocalCloud() as cloud:
        r = cloud.deliver(cloud.upload(bad, "in/report.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::Unreadable"
        err = cloud.get_json("work", f"errors/{r['job_id']}.json")
        assert err["key"] == "in/report.mp4" and "not a video" in err["message"]
        assert cloud.executions() == []
        assert cloud.s3.list_objects_v2(Bucket=cloud.buckets["cdn"]).get("KeyCount", 0) == 0


def test_many_batches_fan_out_as_child_executions(tmp_path):
    with LocalCloud({"BATCH_SIZE": "2", "TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "in/long.mp4"))["results"][0]
        assert started["batches"] >= 3
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        assert len(json.loads(d["input"])["batches"]) == started["batches"]
        names = [n for n, ok in cloud.server.calls]
        assert names.count("analyse") == started["batches"] and names[-1] == "publish"
        assert cloud.map_run_items(started["execution_arn"]) == started["batches"]
        assert json.loads(d["output"])["posters"] >= 1


def test_events_for_another_bucket_or_malformed_are_refused_without_work(tmp_path):
    with LocalCloud() as cloud:
        ev = cloud.upload(small_video(tmp_path), "jobs/x/frames/00000.tar", bucket=cloud.buckets["work"])
        r = cloud.deliver(ev)["results"][0]
        assert r["status"] == "ignored" and r["bucket"] == cloud.buckets["work"]
        r = cloud.deliver({"Records": [{"s3": {"bucket": {}}}]})["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Event::Malformed"
        assert cloud.deliver({"not": "s3"})["results"][0]["code"] == "Event::Malformed"
        missing = cloud.upload(small_video(tmp_path), "in/gone.mp4")
        cloud.s3.delete_object(Bucket=cloud.buckets["input"], Key="in/gone.mp4")
        r = cloud.deliver(missing)["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::NotFound"
        assert cloud.executions() == []


def test_feedback_stored_for_a_job_changes_the_next_ranking(tmp_path):
    """M13: click-through stored in the work bucket re-ranks when the execution is rerun."""
    with LocalCloud({"TEMPLATES": "minimal", "SCENARIOS": "feed", "AUTOPOSTER_SCORE_TOP_K": "1",
                     "AUTOPOSTER_SCORE_FEEDBACK_WEIGHT": "0.6"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "in/fb.mp4"))["results"][0]
        job = started["job_id"]
        d1 = cloud.wait(started["execution_arn"])
        assert d1["status"] == "SUCCEEDED"
        key = f"videos/{job}/manifest.json"
        first = json.loads(cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=key)["Body"].read())
        top = first["posters"][0]["frame_time"]
        analysis = cloud.get_json("work", f"jobs/{job}/analysis/00000.json")
        others = sorted({c["frame_time"] for f in analysis["frames"] for c in f["candidates"]
                         if c["rejected"] is None and abs(c["frame_time"] - top) > 1.5})
        assert others, "the clip should offer another acceptable frame"
        clicked = others[0]
        feedback = {f"feed@{top:.1f}": {"ctr": 0.0, "retention": 0.05},
                    f"feed@{clicked:.1f}": {"ctr": 0.15, "retention": 0.95}}
        cloud.s3.put_object(Bucket=cloud.buckets["work"], Key=f"feedback/{job}.json", Body=json.dumps(feedback))
        rerun = cloud.sfn.start_execution(stateMachineArn=cloud.state_machine_arn, name=job + "-fb",
                                          input=d1["input"])
        assert cloud.wait(rerun["executionArn"])["status"] == "SUCCEEDED"
        second = json.loads(cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=key)["Body"].read())
        assert second["posters"][0]["frame_time"] == clicked


def test_size_and_duration_caps_refuse_before_download_and_decoding(tmp_path):
    clip = small_video(tmp_path)
    with LocalCloud({"MAX_UPLOAD_BYTES": "1000"}) as cloud:
        r = cloud.deliver(cloud.upload(clip, "in/big.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::TooLarge" and "MAX_UPLOAD_BYTES" in r["message"]
        reads = cloud.s3_requests()["extract_frames"]
        assert reads.get("GetObject", 0) == 0 and reads.get("HeadObject") == 1     # never downloaded
        assert cloud.executions() == []
    with LocalCloud({"MAX_VIDEO_SECONDS": "2"}) as cloud:
        r = cloud.deliver(cloud.upload(clip, "in/long.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::TooLong"
        assert cloud.get_json("work", f"errors/{r['job_id']}.json")["key"] == "in/long.mp4"


def test_hostile_metadata_is_refused_and_recorded(tmp_path):
    clip = small_video(tmp_path)
    with LocalCloud() as cloud:
        r = cloud.deliver(cloud.upload(clip, "in/js.mp4", {"link": "javascript:alert(document.domain)"}))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Settings::Link"
        r = cloud.deliver(cloud.upload(clip, "in/long-title.mp4", {"title": "x" * 1900}))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Settings::TextTooLong"
        big = tmp_path / "minutes.mp4"                  # 30 MB of text: refused from its first 4 KB
        big.write_text("meeting minutes, item 1: budget\n" * 1_000_000)
        before = cloud.s3_requests()["extract_frames"].get("GetObject", 0)
        r = cloud.deliver(cloud.upload(big, "in/minutes.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::Unreadable" and "text file" in r["message"]
        assert cloud.s3_requests()["extract_frames"]["GetObject"] - before == 1    # the 4 KB sniff, never it all
        still = tmp_path / "still.mp4"
        still.write_bytes((ROOT / "examples" / "photos" / "coffee.jpg").read_bytes())
        r = cloud.deliver(cloud.upload(still, "in/still.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::NotAVideo"
        assert cloud.executions() == []
