"""End to end on one machine, IAM enforced: S3 upload → extract_frames → the real ASL in moto's
interpreter → Lambda tasks answered by the real handlers, each with its own role's policy →
published posters read back from the CDN bucket. Every test stands alone (any order)."""
import json

import cv2
import numpy as np
import pytest

from autoposter.cropping import SCENARIOS
from autoposter_local.cloud import LocalCloud

LINK = "https://videos.example.com/watch/pioneers"
TITLE = "Pioneers of Computing · 计算机先驱"


@pytest.fixture(scope="module")
def cloud_run(sample_video):
    from urllib.parse import quote
    with LocalCloud({"TEMPLATES": "streaming,cjk"}) as cloud:
        key = "uploads/Pioneers of Computing – épisode 1 (公开).mp4"
        event = cloud.upload(sample_video, key, {"title": quote(TITLE, safe=" "), "link": LINK})
        started = cloud.deliver(event)["results"][0]
        desc = cloud.wait(started["execution_arn"])
        # what the first execution did, before any other test adds to the same cloud
        cloud.first_calls, cloud.first_requests = list(cloud.server.calls), cloud.s3_requests()
        yield cloud, event, started, desc


def test_upload_to_published_set(cloud_run):
    cloud, event, started, desc = cloud_run
    assert "%" in event["Records"][0]["s3"]["object"]["key"]          # the event carried the key URL-encoded
    assert started["status"] == "started" and started["frames"] >= 10
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    out = json.loads(desc["output"])
    job = started["job_id"]
    keys = cloud.published(job)
    manifest = cloud.get_json("cdn", f"videos/{job}/manifest.json")
    assert out["posters"] == out["rendered"] == len(manifest["posters"]) >= 10     # only the chosen are rendered
    assert manifest["video"]["link"] == LINK and manifest["video"]["path"].startswith("uploads/Pioneers")
    assert manifest["video"]["title"] == TITLE                 # travelled percent-encoded through S3 metadata
    assert {p["template"] for p in manifest["posters"]} == {"streaming", "cjk"}
    assert {p["scenario"] for p in manifest["posters"]} == set(SCENARIOS)
    for p in manifest["posters"]:
        key = f"videos/{job}/{p['path']}"
        assert key in keys
        body = cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=key)["Body"].read()
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert (img.shape[1], img.shape[0]) == (p["width"], p["height"])
        assert p["layers"] and p["scores"]["total"] >= manifest["settings"]["total_min"]
        assert p["link"] == LINK
    # everything above went through the local S3 API server over HTTP (signed); the bucket is private:
    # an anonymous GET of the same manifest is refused
    assert cloud.s3.meta.endpoint_url == cloud.s3_endpoint
    from urllib.error import HTTPError
    from urllib.parse import quote
    from urllib.request import urlopen
    with pytest.raises(HTTPError) as denied:
        urlopen(f"{cloud.s3_endpoint}/{cloud.buckets['cdn']}/{quote(f'videos/{job}/manifest.json')}")
    assert denied.value.code == 403
    page = cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=f"videos/{job}/index.html")["Body"].read().decode()
    assert page.count(f'href="{LINK}"') >= len(manifest["posters"])
    assert set(keys) == {f"videos/{job}/{p['path']}" for p in manifest["posters"]} | \
        {f"videos/{job}/index.html", f"videos/{job}/manifest.json"}
    # the Lambda tasks really ran, each frame analysed once: one analyse call per batch, then publish
    names = [n for n, ok in cloud.first_calls]
    assert names.count("analyse") == started["batches"] and names.count("publish") == 1
    requests = cloud.first_requests
    assert requests["analyse"]["GetObject"] == started["batches"]          # a batch of frames is one GET


def test_same_event_twice_starts_one_execution(cloud_run):
    cloud, event, started, _ = cloud_run
    before = cloud.published(started["job_id"])
    again = cloud.deliver(event)["results"][0]
    assert again["status"] == "duplicate" and again["job_id"] == started["job_id"]
    assert [e["name"] for e in cloud.executions()].count(started["job_id"]) == 1
    assert cloud.published(started["job_id"]) == before


def test_rerun_with_the_same_input_gives_the_same_result(cloud_run):
    """S7: what 'New execution' with the same input from the console does."""
    cloud, _, started, desc = cloud_run
    job = started["job_id"]
    mkey = f"videos/{job}/manifest.json"
    first = cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=mkey)["Body"].read()
    name = f"{job}-rerun-{len(cloud.executions())}"
    rerun = cloud.sfn.start_execution(stateMachineArn=cloud.state_machine_arn, name=name, input=desc["input"])
    d2 = cloud.wait(rerun["executionArn"])
    assert d2["status"] == "SUCCEEDED"
    assert cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=mkey)["Body"].read() == first
    assert json.loads(d2["output"])["posters"] == json.loads(desc["output"])["posters"]
