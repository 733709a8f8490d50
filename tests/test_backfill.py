"""S14 backfill, the parts that need no cloud: what the door answered, read from a synchronous Lambda
invoke's response (botocore's own response shape: the Payload is a StreamingBody), counted honestly."""
import io
import json

from botocore.response import StreamingBody

from autoposter_aws.backfill import door_answer


def response(body, function_error=None):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    r = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw)), "ExecutedVersion": "$LATEST"}
    if function_error:
        r["FunctionError"] = function_error
    return r


def test_the_doors_answer_is_what_it_said():
    for status in ("started", "duplicate", "rejected", "ignored"):
        assert door_answer(response({"results": [{"status": status, "key": "uploads/a.mp4"}]})) == status


def test_a_door_that_raised_is_a_failure_and_nonsense_is_ignored():
    assert door_answer(response({"errorType": "RuntimeError", "errorMessage": "boom"}, "Unhandled")) == "failed"
    assert door_answer(response(b"not json")) == "ignored"
    assert door_answer(response({"results": []})) == "ignored"
    assert door_answer(response({})) == "ignored"


def test_a_failed_hand_over_is_tried_again_on_resume(tmp_path, monkeypatch):
    """What the door failed on is not recorded as done: the resumed backfill hands it over again, and
    only it (moto's S3 lists the bucket)."""
    import boto3
    from moto import mock_aws

    from autoposter_aws.backfill import State, backfill

    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(k, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="library")
        for name in ("a.mp4", "b.mp4", "c.mp4"):
            s3.put_object(Bucket="library", Key=f"uploads/{name}", Body=b"\0" * 16)
        handed = []

        def door(event):
            key = event["Records"][0]["s3"]["object"]["key"]
            handed.append(key)
            return "failed" if key == "uploads/b.mp4" and handed.count(key) == 1 else "started"

        state = State(str(tmp_path / "state.json"))
        first = backfill(s3, "s3://library/uploads/", door, rate=0, state=state)
        assert first["started"] == 2 and first["failed"] == 1
        again = backfill(s3, "s3://library/uploads/", door, rate=0, state=State(str(tmp_path / "state.json")))
        assert again["skipped"] == 2 and again["started"] == 1 and handed[-1] == "uploads/b.mp4"
