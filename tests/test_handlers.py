"""Every handler, invoked with its events/*.json file, against moto's S3 (in process).

The events are the ones documented for `sam local invoke` (scripts/make_events.py captured them
from a local-cloud run); running them in a chain proves they match the keys the functions really
write and read.
"""
import copy
import importlib.util
import json
import os

import boto3
import pytest
from moto import mock_aws

from conftest import ROOT, SAMPLE

EVENTS = ROOT / "events"
ACCOUNT, REGION = "123456789012", "us-east-1"
INPUT, WORK, CDN = (f"autoposter-{b}-{ACCOUNT}-{REGION}" for b in ("input", "work", "cdn"))
KEY = "uploads/My Vidéo 01.mp4"                  # what the URL-encoded key in the event decodes to


def event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


class Ctx:
    function_name, memory_limit_in_mb, aws_request_id = "fn", 1024, "req-1"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"


@pytest.fixture()
def aws():
    env = {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION,
           "INPUT_BUCKET": INPUT, "WORK_BUCKET": WORK, "CDN_BUCKET": CDN, "POWERTOOLS_TRACE_DISABLED": "true",
           "POWERTOOLS_METRICS_NAMESPACE": "Autoposter", "POWERTOOLS_SERVICE_NAME": "autoposter",
           "TEMPLATES": "streaming", "UPLOAD_PREFIX": "uploads/",
           "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:autoposter-posters"}
    saved = {k: os.environ.get(k) for k in (*env, "AWS_ENDPOINT_URL_S3")}
    os.environ.update(env)
    with mock_aws():
        from autoposter_aws import storage
        from autoposter_local.s3server import S3Server
        server = S3Server({})               # S3 over HTTP: presigned URLs are read by OpenCV, as on AWS
        os.environ["AWS_ENDPOINT_URL_S3"] = server.url
        storage.client.cache_clear()
        s3 = boto3.client("s3")
        for b in (INPUT, WORK, CDN):
            s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=INPUT, VersioningConfiguration={"Status": "Enabled"})
        boto3.client("stepfunctions").create_state_machine(
            name="autoposter-posters", definition=(ROOT / "statemachine" / "posters.asl.json").read_text(),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/r")
        yield s3
        server.stop()
        storage.client.cache_clear()
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def handler(name):
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "functions" / name / "app.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.handler


def test_handlers_chain_with_the_documented_events(aws, capsys):
    aws.put_object(Bucket=INPUT, Key=KEY, Body=SAMPLE.read_bytes(), Metadata={"title": "My%20Vid%C3%A9o"})
    out = handler("extract_frames")(event("extract_frames"), Ctx())
    r = out["results"][0]
    assert r["status"] == "started" and r["frames"] >= 10 and r["batches"] == 1 and r["segments"] == 1
    assert r["job_id"] == event("analyse")["job_id"] == event("publish")["input"]["job_id"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any("JobsStarted" in m for m in emf)
    store = event("analyse")["store"]
    assert aws.head_object(Bucket=WORK, Key=store + "segments/00000.tar")["ContentLength"] > 0

    a = handler("analyse")(event("analyse"), Ctx())
    assert a == {"batch": 0, "ok": True, "frames": r["frames"], "faces": a["faces"], "passed": a["passed"]}
    assert a["faces"] >= 1 and a["passed"] >= 1
    doc = json.loads(aws.get_object(Bucket=WORK, Key=store + "analysis/00000.json")["Body"].read())
    assert doc["ok"] and len(doc["frames"]) == r["frames"]

    p = handler("publish")(event("publish"), Ctx())
    assert p["posters"] >= 5 and p["manifest_key"].startswith("videos/uploads/My Vidéo 01.mp4/")
    manifest = json.loads(aws.get_object(Bucket=CDN, Key=p["manifest_key"])["Body"].read())
    assert manifest["video"]["path"] == KEY and len(manifest["posters"]) == p["posters"]
    status = json.loads(aws.get_object(Bucket=CDN, Key="videos/uploads/My Vidéo 01.mp4/latest.json")["Body"].read())
    assert status["status"] == "published" and status["set"] == p["set"]
    emf = [line for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any("FramesAnalysed" in m for m in emf) and any("PostersPublished" in m for m in emf)

    f = handler("batch_failed")(event("batch_failed"), Ctx())
    assert f == {"batch": 0, "ok": False, "error": "Frame::Unreadable", "frames": r["frames"]}
    doc = json.loads(aws.get_object(Bucket=WORK, Key=store + "analysis/00000.json")["Body"].read())
    assert doc["message"].startswith("frame 3.000s of segment 0")

    # batch 0 (every frame) now "failed": far beyond the tolerated share -> a typed error, nothing new published
    before = aws.list_objects_v2(Bucket=CDN)["KeyCount"]
    from autoposter.errors import FramesFailed
    with pytest.raises(FramesFailed) as e:
        handler("publish")(event("publish"), Ctx())
    assert e.value.code == "Frames::TooManyFailed" and "frames failed" in e.value.message
    assert aws.list_objects_v2(Bucket=CDN)["KeyCount"] == before

    j = handler("job_failed")(event("job_failed"), Ctx())
    assert j["status"] == "failed" and j["error"]["code"] == "Frames::TooManyFailed"
    status = json.loads(aws.get_object(Bucket=CDN, Key="videos/uploads/My Vidéo 01.mp4/latest.json")["Body"].read())
    assert status == j


def test_the_long_path_extract_segments_then_sample(aws):
    """A video planned in two segments (the events' plan): each worker reads its part through a presigned URL,
    then Sample makes the Analyse map's items from both."""
    put = aws.put_object(Bucket=INPUT, Key=KEY, Body=SAMPLE.read_bytes(), Metadata={"title": "My%20Vid%C3%A9o"})
    seg1 = event("extract_segment")
    seg1["source"]["version_id"] = put["VersionId"]            # the version this upload made (the event's is another)
    seg0 = copy.deepcopy(seg1)
    seg0["segment"] = event("sample")["plan"]["segments"][0]
    extract, sample = handler("extract_segment"), handler("sample")
    outs = [extract(e, Ctx()) for e in (seg0, seg1)]
    assert [o["segment"] for o in outs] == [0, 1] and all(o["decoded"] > 0 for o in outs)
    items = sample(event("sample"), Ctx())
    assert items["frames"] >= 10 and items["batches"][0]["batch"] == 0
    assert {f["seg"] for b in items["batches"] for f in b["frames"]} == {0, 1}
    from autoposter_aws.payloads import Batch
    assert all(Batch.from_dict(b).frames for b in items["batches"])


def test_not_a_video_is_recorded_and_starts_nothing(aws):
    ev = event("extract_frames")
    ev["Records"][0]["s3"]["object"]["key"] = "uploads/notes%20%282%29.mp4"
    aws.put_object(Bucket=INPUT, Key="uploads/notes (2).mp4", Body=b"just some text\n" * 100)
    r = handler("extract_frames")(ev, Ctx())["results"][0]
    assert r["status"] == "rejected" and r["code"] == "Video::Unreadable"
    doc = json.loads(aws.get_object(Bucket=CDN, Key="videos/uploads/notes (2).mp4/latest.json")["Body"].read())
    assert doc["status"] == "refused" and doc["key"] == "uploads/notes (2).mp4"
    assert doc["error"]["code"] == "Video::Unreadable" and "http" not in doc["error"]["message"]
    assert boto3.client("stepfunctions").list_executions(
        stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:autoposter-posters")["executions"] == []


def test_objects_outside_the_upload_prefix_are_ignored(aws):
    ev = event("extract_frames")
    ev["Records"][0]["s3"]["object"]["key"] = "overrides/uploads/x.mp4.json"
    r = handler("extract_frames")(ev, Ctx())["results"][0]
    assert r["status"] == "ignored"
