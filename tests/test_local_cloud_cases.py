"""The serverless flow in its other cases: the Distributed Map, a failing frame, every frame
failing, a non-video upload.

Each test runs its own local cloud (moto in process + the Lambda API server), so the
fault-injection setting of one cannot leak into another.
"""
import json

import cv2
import numpy as np

from autoposter_aws import storage
from autoposter_aws.local_cloud import LocalCloud
from conftest import photo, write_video


def small_video(tmp_path):
    shots = [photo("astronaut"), photo("grace_hopper"), photo("coffee")]
    frames = []
    for img in shots:
        img = cv2.resize(img, (480, 480))
        for i in range(12):
            frames.append(np.roll(img, i * 2, axis=1))
    return write_video(tmp_path / "small clip.mp4", frames, fps=8)


def test_one_failing_frame_still_publishes(tmp_path):
    with LocalCloud({"FAULT_INJECT_DETECT": "0", "TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "in/a b.mp4"))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        m = json.loads(cloud.s3.get_object(Bucket=cloud.buckets["cdn"],
                                           Key=f"videos/{started['job_id']}/manifest.json")["Body"].read())
        assert m["failed_frames"] == 1 and m["posters"]
        assert any(r["reason"].startswith("failed: InjectedFault") for r in m["rejected"])
        assert ("frame_failed", True) in cloud.server.calls


def test_every_frame_failing_fails_the_execution_and_publishes_nothing(tmp_path):
    with LocalCloud({"FAULT_INJECT_DETECT": "all", "TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "in/all-fail.mp4"))["results"][0]
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "FAILED"
        assert "frames failed" in d.get("cause", "") and "InjectedFault" in d.get("cause", "")
        assert cloud.published(started["job_id"]) == []


def test_upload_that_is_not_a_video(tmp_path):
    bad = tmp_path / "report.mp4"
    bad.write_text("quarterly numbers\n" * 200)
    with LocalCloud() as cloud:
        r = cloud.deliver(cloud.upload(bad, "in/report.mp4"))["results"][0]
        assert r["status"] == "rejected" and r["code"] == "Video::Unreadable"
        err = json.loads(cloud.s3.get_object(Bucket=cloud.buckets["work"], Key=f"errors/{r['job_id']}.json")
                         ["Body"].read())
        assert err["key"] == "in/report.mp4" and "not a video" in err["message"]
        assert cloud.executions() == []
        assert cloud.s3.list_objects_v2(Bucket=cloud.buckets["cdn"]).get("KeyCount", 0) == 0


def test_long_videos_take_the_distributed_map_with_an_s3_item_reader(tmp_path):
    with LocalCloud({"INLINE_MAP_LIMIT": "2", "TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        started = cloud.deliver(cloud.upload(small_video(tmp_path), "in/long.mp4"))["results"][0]
        assert started["frames"] > 2
        d = cloud.wait(started["execution_arn"])
        assert d["status"] == "SUCCEEDED", d.get("cause")
        assert json.loads(d["input"])["mode"] == "distributed" and "frames" not in json.loads(d["input"])
        names = [n for n, ok in cloud.server.calls]
        assert names.count("detect") == started["frames"] and names[-1] == "publish"
        assert json.loads(d["output"])["posters"] >= 1


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
        results = [json.loads(cloud.s3.get_object(Bucket=cloud.buckets["work"], Key=k)["Body"].read())
                   for k in storage.list_keys(cloud.buckets["work"], f"jobs/{job}/results/")]
        others = sorted({c["frame_time"] for r in results for c in r["candidates"]
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
