"""Every handler, invoked with its events/*.json file, against moto's S3 (in process).

The events are the ones documented for `sam local invoke`; running them in a chain proves
they match the keys the functions really write.
"""
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
           "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:autoposter-posters"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    with mock_aws():
        from autoposter_aws import storage
        storage.client.cache_clear()
        s3 = boto3.client("s3")
        for b in (INPUT, WORK, CDN):
            s3.create_bucket(Bucket=b)
        boto3.client("stepfunctions").create_state_machine(
            name="autoposter-posters", definition=(ROOT / "statemachine" / "posters.asl.json").read_text(),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/r")
        yield s3
        storage.client.cache_clear()
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def handler(name):
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "functions" / name / "app.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.handler


def test_handlers_chain_with_the_documented_events(aws, capsys):
    ev = event("extract_frames")
    key = "uploads/My Vidéo 01.mp4"                  # what the URL-encoded key in the event decodes to
    aws.put_object(Bucket=INPUT, Key=key, Body=SAMPLE.read_bytes())

    out = handler("extract_frames")(ev, Ctx())
    r = out["results"][0]
    assert r["status"] == "started" and r["frames"] >= 10 and r["batches"] == 1
    assert r["job_id"] == event("analyse")["job_id"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any("FramesExtracted" in m for m in emf)

    a = handler("analyse")(event("analyse"), Ctx())
    assert a == {"batch": 0, "ok": True, "frames": 2, "faces": a["faces"], "passed": a["passed"]}
    assert a["faces"] >= 1 and a["passed"] >= 1
    job = r["job_id"]
    doc = json.loads(aws.get_object(Bucket=WORK, Key=f"jobs/{job}/analysis/00000.json")["Body"].read())
    assert doc["ok"] and [f["frame"]["index"] for f in doc["frames"]] == [0, 16]

    p = handler("publish")(event("publish"), Ctx())
    assert p["posters"] >= 1 and p["rendered"] == p["posters"]
    manifest = json.loads(aws.get_object(Bucket=CDN, Key=p["manifest_key"])["Body"].read())
    assert {q["frame_time"] for q in manifest["posters"]} <= {0.0, 1.067}
    emf = [line for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any("FramesAnalysed" in m for m in emf) and any("PostersPublished" in m for m in emf)

    f = handler("batch_failed")(event("batch_failed"), Ctx())
    assert f == {"batch": 0, "ok": False, "error": "InjectedFault", "frames": 2}
    doc = json.loads(aws.get_object(Bucket=WORK, Key=f"jobs/{job}/analysis/00000.json")["Body"].read())
    assert doc["message"] == "InjectedFault: injected failure for batch 0"

    # batch 0 (every frame) now "failed": far beyond the tolerated share -> a typed error, nothing new published
    before = aws.list_objects_v2(Bucket=CDN)["KeyCount"]
    with pytest.raises(Exception) as e:
        handler("publish")(event("publish"), Ctx())
    assert type(e.value).__name__ == "FramesFailed" and "frames failed" in str(e.value)
    assert aws.list_objects_v2(Bucket=CDN)["KeyCount"] == before


def test_not_a_video_is_recorded_and_starts_nothing(aws):
    ev = event("extract_frames")
    ev["Records"][0]["s3"]["object"]["key"] = "uploads/notes%20%282%29.mp4"
    aws.put_object(Bucket=INPUT, Key="uploads/notes (2).mp4", Body=b"just some text\n" * 100)
    r = handler("extract_frames")(ev, Ctx())["results"][0]
    assert r["status"] == "rejected" and r["code"] == "Video::Unreadable"
    doc = json.loads(aws.get_object(Bucket=WORK, Key=f"errors/{r['job_id']}.json")["Body"].read())
    assert doc["key"] == "uploads/notes (2).mp4" and doc["code"] == "Video::Unreadable"
    assert "source" not in doc["message"] and "/tmp" not in doc["message"]      # names the key, not a temp file
    assert boto3.client("stepfunctions").list_executions(
        stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:autoposter-posters")["executions"] == []
