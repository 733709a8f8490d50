"""Least privilege, proven by execution: the local cloud runs each function under exactly the
policy CloudFormation would give its role (template.yaml through the SAM translator), with
moto enforcing IAM; and every S3 statement is needed — drop any one and a run fails."""
import json
from pathlib import Path

import numpy as np
import pytest

from autoposter_local import iam
from autoposter_local.cloud import LocalCloud
from conftest import ROOT, photo, write_video

POLICIES = iam.principal_policies(ROOT / "template.yaml")
STATEMENTS = iam.s3_statements(POLICIES)


def two_second_video(tmp: Path) -> Path:
    import cv2
    a, b = (cv2.resize(photo(n), (320, 320)) for n in ("astronaut", "coffee"))
    return write_video(tmp / "two s.mp4", [np.roll(a, i, axis=1) for i in range(8)] +
                       [np.roll(b, i, axis=0) for i in range(8)], fps=8)


def full_run(cloud: LocalCloud, video: Path, tmp: Path) -> tuple[bool, str]:
    """Every path that touches S3: a video whose first batch fails (Catch → batch_failed; the
    tolerance lets the rest publish), an upload that is refused (errors/) and one deleted before
    it is read (a 404 only with s3:ListBucket). True when all of it worked as designed;
    otherwise what went wrong."""
    try:
        started = cloud.deliver(cloud.upload(video, "in/clip.mp4"))["results"][0]
        if started["status"] != "started":
            return False, f"extract: {started}"
        d = cloud.wait(started["execution_arn"], timeout=120)
        if d["status"] != "SUCCEEDED":
            return False, f"execution {d['status']}: {d.get('error')}: {d.get('cause', '')[:200]}"
        m = cloud.get_json("cdn", f"videos/{started['job_id']}/manifest.json")
        if not m["posters"] or m["failed_frames"] != 1:
            return False, f"manifest: {len(m['posters'])} posters, {m['failed_frames']} failed frames"
        failure = cloud.get_json("work", f"jobs/{started['job_id']}/analysis/00000.json")
        if failure.get("error") != "InjectedFault":          # batch_failed recorded why, not just "no result"
            return False, f"failure record: {failure}"
        bad = tmp / "notes.mp4"
        bad.write_text("not a video\n" * 50)
        r = cloud.deliver(cloud.upload(bad, "in/notes.mp4"))["results"][0]
        if r["status"] != "rejected":
            return False, f"refusal: {r}"
        cloud.get_json("work", f"errors/{r['job_id']}.json")
        gone = cloud.upload(bad, "in/gone.mp4")                  # deleted before extraction reads it
        cloud.s3.delete_object(Bucket=cloud.buckets["input"], Key="in/gone.mp4")
        r = cloud.deliver(gone)["results"][0]
        if r.get("code") != "Video::NotFound":
            return False, f"missing upload: {r}"
        return True, "ok"
    except Exception as exc:                      # AccessDenied surfaces wherever the missing grant bites
        return False, f"{type(exc).__name__}: {str(exc)[:300]}"


ENV = {"TEMPLATES": "minimal", "SCENARIOS": "feed", "BATCH_SIZE": "1", "FAULT_INJECT": "0",
       "TOLERATED_FAILURE_PERCENT": "50", "POWERTOOLS_METRICS_DISABLED": "true"}


def test_translated_roles_are_scoped_and_complete():
    assert set(POLICIES) == {"extract_frames", "analyse", "batch_failed", "publish", "states"}
    flat = json.dumps(POLICIES)
    assert "${" not in flat and "Fn::" not in flat and '"Ref"' not in flat          # every intrinsic resolved
    for who, docs in POLICIES.items():
        for doc in docs:
            for st in doc["Statement"]:
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert all(a.startswith("logs:") or "*" not in a for a in acts), (who, st)
                if any(a.startswith(("s3:", "states:", "lambda:", "sqs:")) for a in acts):
                    assert st["Resource"] != "*", (who, st)
    # publish may write result-free: posters to the CDN prefix; it reads the work bucket's jobs/ and feedback/
    pub = json.dumps(POLICIES["publish"])
    assert "cdn-123456789012-us-east-1/videos/*" in pub and "s3:DeleteObject" not in pub
    assert len(STATEMENTS) >= 10


def test_the_whole_flow_runs_under_the_templates_policies(tmp_path):
    with LocalCloud(ENV) as cloud:
        ok, why = full_run(cloud, two_second_video(tmp_path), tmp_path)
        assert ok, why
        assert cloud.s3_requests()["analyse"]["GetObject"] >= 1      # requests really carried the role's key


@pytest.mark.parametrize("who,policy,statement", STATEMENTS,
                         ids=[f"{w}-{POLICIES[w][p]['Statement'][s].get('Sid', s)}" for w, p, s in STATEMENTS])
def test_dropping_any_s3_statement_makes_a_run_fail(tmp_path, who, policy, statement):
    def drop(policies):
        del policies[who][policy]["Statement"][statement]

    with LocalCloud(ENV, policy_edit=drop) as cloud:
        ok, why = full_run(cloud, two_second_video(tmp_path), tmp_path)
    assert not ok, f"the run succeeded without {who}'s statement {statement}"
    print(why)
