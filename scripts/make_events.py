"""Write events/*.json: one event per function for `sam local invoke` (and tests/test_handlers.py).

They describe one upload, ``uploads/My Vidéo 01.mp4`` (URL-encoded in the S3 event,
as S3 sends it), to a stack deployed with BucketPrefix=autoposter in account
123456789012, us-east-1. With the default batch size, the sample's 21 candidate frames
make batch 0; the analyse event names two of them (frames 0 and 16), so it runs in a
couple of seconds. The publish event is the execution's input, as extract_frames starts it
(made by running the extraction on the sample in moto). The later events follow the keys
extract_frames writes.

    python scripts/make_events.py
"""
import json
import sys
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))
from autoposter_aws import keys  # noqa: E402
from autoposter_aws.steps import job_id_for  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
INPUT, WORK = f"autoposter-input-{ACCOUNT}-{REGION}", f"autoposter-work-{ACCOUNT}-{REGION}"
KEY, ETAG = "uploads/My Vidéo 01.mp4", "5f3c8a3d2b7e4c1f9a0b6d8e7c6a5b4d"


def publish_event() -> dict:
    """The execution's input — what the state machine hands publish — from a real extraction of the
    sample in moto (Step Functions records the input; nothing executes)."""
    import os

    import boto3
    from moto import mock_aws
    os.environ.update(AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t", AWS_DEFAULT_REGION=REGION)
    with mock_aws():
        from autoposter.settings import Settings
        from autoposter_aws import steps, storage
        from autoposter_aws.config import Config
        storage.client.cache_clear()
        s3 = boto3.client("s3")
        for b in (INPUT, WORK):
            s3.create_bucket(Bucket=b)
        s3.put_object(Bucket=INPUT, Key=KEY, Body=(ROOT / "examples" / "sample.mp4").read_bytes())
        sfn = boto3.client("stepfunctions")
        arn = sfn.create_state_machine(name="autoposter-posters", roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
                                       definition=(ROOT / "statemachine" / "posters.asl.json").read_text())["stateMachineArn"]
        cfg = Config.from_env({"INPUT_BUCKET": INPUT, "WORK_BUCKET": WORK, "STATE_MACHINE_ARN": arn})
        started = steps.extract(INPUT, KEY, ETAG, cfg, Settings.from_env({}), sfn)
        storage.client.cache_clear()
        return json.loads(sfn.describe_execution(executionArn=started["execution_arn"])["input"])


def main() -> None:
    job = job_id_for(INPUT, KEY, ETAG)
    batch = {"batch": 0, "key": keys.frames_batch(job, 0),
             "frames": [{"index": 0, "time": 0.0, "after_cut": False}, {"index": 16, "time": 1.067, "after_cut": False}]}
    item = {"job_id": job, "work_bucket": WORK, "scenarios": ["story", "feed", "portrait", "landscape", "cover"],
            "templates": ["streaming"],
            "batch": batch}
    events = {
        "extract_frames": {"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
            "eventTime": "2026-11-24T10:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "upload",
                   "bucket": {"name": INPUT, "arn": f"arn:aws:s3:::{INPUT}", "ownerIdentity": {"principalId": "A"}},
                   "object": {"key": quote_plus(KEY, safe="/"), "size": 4029594, "eTag": ETAG,
                              "sequencer": "0062E99A88DC407460"}}}]},
        "analyse": item,
        "batch_failed": {**item, "error": {"Error": "InjectedFault", "Cause": json.dumps(
            {"errorType": "InjectedFault", "errorMessage": "injected failure for batch 0", "stackTrace": []})}},
        "publish": publish_event(),
    }
    out = ROOT / "events"
    out.mkdir(exist_ok=True)
    for name, ev in events.items():
        (out / f"{name}.json").write_text(json.dumps(ev, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(events)} events for job {job}")


if __name__ == "__main__":
    main()
