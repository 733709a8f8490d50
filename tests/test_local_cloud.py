"""End to end on one machine, IAM enforced: S3 upload → extract_frames → the real ASL in moto's
interpreter → Lambda tasks answered by the real handlers, each with its own role's policy →
published posters read back from the CDN bucket at the upload's path. Every test stands alone."""
import json
from urllib.parse import quote

import cv2
import numpy as np
import pytest

from autoposter.cropping import SCENARIOS
from autoposter_aws import keys
from autoposter_local.cloud import LocalCloud

LINK = "https://videos.example.com/watch/pioneers"
TITLE = "Pioneers of Computing · 计算机先驱"
KEY = "uploads/Pioneers of Computing – épisode 1 (公开).mp4"


@pytest.fixture(scope="module")
def cloud_run(sample_video):
    with LocalCloud({"TEMPLATES": "streaming,cjk"}) as cloud:
        event = cloud.upload(sample_video, KEY, {"title": quote(TITLE, safe=" "), "link": LINK})
        started = cloud.deliver(event)["results"][0]
        desc = cloud.wait(started["execution_arn"])
        # what the first execution did, before any other test adds to the same cloud
        cloud.first_calls, cloud.first_requests = list(cloud.server.calls), cloud.s3_requests()
        cloud.first_events = cloud.events()
        cloud.first_status = cloud.status(KEY)
        cloud.first_latest = cloud.s3.get_object(Bucket=cloud.buckets["cdn"],
                                                 Key=keys.cdn_prefix(KEY) + "index.html")["Body"].read().decode()
        yield cloud, event, started, desc


def test_upload_to_published_set(cloud_run):
    cloud, event, started, desc = cloud_run
    assert "%" in event["Records"][0]["s3"]["object"]["key"]          # the event carried the key URL-encoded
    assert started["status"] == "started" and started["frames"] >= 10
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    assert json.loads(desc["input"])["concurrency"] == 1    # here handlers run one at a time: Maps start one child
    out = json.loads(desc["output"])
    status = cloud.first_status                                         # the upload's path says where its posters are
    assert status["status"] == "published" and status["set"] == out["set"] == \
        keys.cdn_prefix(KEY) + started["execution"] + "/"
    files = cloud.listing("cdn", out["set"])
    manifest = cloud.get_json("cdn", out["manifest_key"])
    assert out["posters"] == len(manifest["posters"]) >= 10
    assert manifest["video"]["link"] == LINK and manifest["video"]["path"] == KEY
    assert manifest["video"]["title"] == TITLE                 # travelled percent-encoded through S3 metadata
    assert {p["template"] for p in manifest["posters"]} == {"streaming", "cjk"}
    assert {p["scenario"] for p in manifest["posters"]} == set(SCENARIOS)
    for p in manifest["posters"]:
        key = out["set"] + p["path"]
        assert key in files
        body = cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=key)["Body"].read()
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert (img.shape[1], img.shape[0]) == (p["width"], p["height"])
        assert p["layers"] and p["scores"]["total"] >= manifest["settings"]["total_min"]
        assert p["link"] == LINK
    assert set(files) == {out["set"] + p["path"] for p in manifest["posters"]} | \
        {out["set"] + f for f in ("index.html", "manifest.json", "contact_sheet.jpg")}
    page = cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=out["set"] + "index.html")["Body"].read().decode()
    assert page.count(f'href="{LINK}"') >= len(manifest["posters"])
    assert quote(started["execution"]) + "/" in cloud.first_latest          # the upload's page → latest set
    # everything above went through the local S3 API server over HTTP (signed); the bucket is private
    assert cloud.s3.meta.endpoint_url == cloud.s3_endpoint
    from urllib.error import HTTPError
    from urllib.request import urlopen
    with pytest.raises(HTTPError) as denied:
        urlopen(f"{cloud.s3_endpoint}/{cloud.buckets['cdn']}/{quote(out['manifest_key'])}")
    assert denied.value.code == 403
    # the Lambda tasks really ran, each frame analysed once: one analyse call per batch, then publish
    names = [n for n, ok in cloud.first_calls]
    assert names.count("analyse") == started["batches"] and names.count("publish") == 1
    assert cloud.first_requests["analyse"]["GetObject"] == started["batches"]      # one ranged GET per batch
    # and a downstream system heard of it
    done = [e for e in cloud.first_events if e["detail-type"] == "Posters Published"]
    assert len(done) == 1 and done[0]["detail"]["key"] == KEY and done[0]["detail"]["manifest"].endswith(
        quote(out["manifest_key"]))


def test_same_event_twice_starts_one_execution(cloud_run):
    cloud, event, started, _ = cloud_run
    before = cloud.listing("cdn", keys.cdn_prefix(KEY))
    again = cloud.deliver(event)["results"][0]
    assert again["status"] == "duplicate" and again["job_id"] == started["job_id"]
    assert [e["name"] for e in cloud.executions()].count(started["execution"]) == 1
    assert cloud.listing("cdn", keys.cdn_prefix(KEY)) == before


def test_rerun_with_the_same_input_gives_the_same_posters(cloud_run):
    """S7: what 'New execution' with the same input from the console does: a new set, the same posters."""
    cloud, _, started, desc = cloud_run
    first = cloud.get_json("cdn", json.loads(desc["output"])["manifest_key"])
    arn = cloud.start(json.loads(desc["input"]), name=started["execution"] + "-rerun")
    d2 = cloud.wait(arn)
    assert d2["status"] == "SUCCEEDED", d2.get("cause")
    second = cloud.get_json("cdn", json.loads(d2["output"])["manifest_key"])
    assert [(p["path"], p["crop"], p["scores"]) for p in second["posters"]] == \
        [(p["path"], p["crop"], p["scores"]) for p in first["posters"]]
    assert cloud.status(KEY)["set"].endswith(started["execution"] + "-rerun/")      # latest points at the rerun
