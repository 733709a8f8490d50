"""Least privilege, proven by execution: the local cloud runs each function, the state machine (its
Lambda invocations and its Distributed Maps' children) and S3's notification under exactly the
policies CloudFormation would create from template.yaml (through the SAM translator), with IAM
enforced; and every statement is needed — drop any one and a run fails with an error that names
AccessDenied. The statements the local cloud cannot exercise are listed in iam.UNEXERCISED."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from autoposter_aws import keys
from autoposter_aws.steps import job_id_for
from autoposter_local import iam
from autoposter_local.cloud import LocalCloud
from conftest import ROOT, photo, write_video

POLICIES = iam.principal_policies(ROOT / "template.yaml")
STATEMENTS = iam.statements(POLICIES)
ENV = {"TEMPLATES": "minimal", "SCENARIOS": "feed", "AUTOPOSTER_RUN_BATCH_SIZE": "1",
       "AUTOPOSTER_RUN_SEGMENT_SECONDS": "2", "AUTOPOSTER_FRAMES_MIN_SEGMENT": "1",
       "AUTOPOSTER_RUN_TOLERATED_FAILURE": "50", "POWERTOOLS_METRICS_DISABLED": "true"}


def four_second_video(tmp: Path) -> Path:
    a, b, c = (cv2.resize(photo(n), (192, 192)) for n in ("astronaut", "coffee", "grace_hopper"))
    return write_video(tmp / "four s.mp4", [np.roll(a, i, axis=1) for i in range(12)] +
                       [np.roll(b, i, axis=0) for i in range(10)] + [np.roll(c, i, axis=1) for i in range(10)], fps=8)


class Failed(Exception):
    pass


def check(ok: bool, why) -> None:
    if not ok:
        raise Failed(str(why)[:400])


def long_job(cloud, video, tmp, n):
    """Two segments (the second one's worker fails: a gap, tolerated), batches of one (the first fails:
    batch_failed), feedback stored for the job."""
    key = f"uploads/long-{n}.mp4"
    ev = cloud.upload(video, key)
    head = cloud.s3.head_object(Bucket=cloud.buckets["input"], Key=key)
    job = job_id_for(cloud.buckets["input"], key, head["ETag"].strip('"'), {})
    cloud.s3.put_object(Bucket=cloud.buckets["work"], Key=keys.feedback(job), Body=b'{"feed@0.0": {"ctr": 0.1}}')
    started = cloud.deliver(ev)["results"][0]
    check(started["status"] == "started" and started["segments"] == 2, started)
    d = cloud.wait(started["execution_arn"], timeout=120)
    check(d["status"] == "SUCCEEDED", f"{d['status']}: {d.get('error')}: {d.get('cause', '')}")
    out = json.loads(d["output"])
    m = cloud.get_json("cdn", out["manifest_key"])
    check(m["posters"] and m["video"]["failed_frames"] == 1 and m["video"]["segments"] == 2, m["video"])
    check(any(r["reason"].startswith("failed: InjectedFault") for r in m["rejected"]), "batch_failed recorded nothing")
    check([e["detail-type"] for e in cloud.events()] == ["Posters Published"], "no completion event")


def expired(cloud, video, tmp, n):
    """A short video (sampled by the door); its frames expire; a rerun of its execution fails typed."""
    key = f"uploads/short-{n}.mp4"
    started = cloud.deliver(cloud.upload(cloud.short, key))["results"][0]
    check(started["status"] == "started" and started["segments"] == 1, started)
    d = cloud.wait(started["execution_arn"], timeout=120)
    check(d["status"] == "SUCCEEDED", f"{d['status']}: {d.get('error')}: {d.get('cause', '')}")
    for k in cloud.listing("work", json.loads(d["input"])["store"] + "segments/"):     # the lifecycle rule runs
        cloud.s3.delete_object(Bucket=cloud.buckets["work"], Key=k)
    r = cloud.wait(cloud.start(json.loads(d["input"]), name=started["execution"] + "-late"), timeout=120)
    status = cloud.status(key) or {}
    check(r["status"] == "FAILED" and status.get("error", {}).get("code") == "Frames::Expired", status)
    cloud.events()


def failing_job(cloud, video, tmp, n):
    """Every analysis fails: JobFailed records the typed error at the upload's path and announces it."""
    key = f"uploads/fail-{n}.mp4"
    started = cloud.deliver(cloud.upload(video, key))["results"][0]
    check(started["status"] == "started", started)
    d = cloud.wait(started["execution_arn"], timeout=120)
    status = cloud.status(key) or {}
    check(d["status"] == "FAILED" and status.get("error", {}).get("code") == "Frames::TooManyFailed",
          f"{d.get('error')}: {d.get('cause', '')} / {status}")
    check([e["detail-type"] for e in cloud.events()] == ["Posters Failed"], "no failure event")


def refused(cloud, video, tmp, n):
    bad = tmp / f"notes-{n}.mp4"
    bad.write_text("not a video\n" * 50)
    r = cloud.deliver(cloud.upload(bad, f"uploads/notes-{n}.mp4"))["results"][0]
    check(r["status"] == "rejected" and cloud.status(f"uploads/notes-{n}.mp4")["status"] == "refused", r)
    check([e["detail-type"] for e in cloud.events()] == ["Posters Refused"], "no refusal event")
    gone = cloud.upload(bad, f"uploads/gone-{n}.mp4")                  # deleted before the door reads it
    cloud.s3.delete_object(Bucket=cloud.buckets["input"], Key=f"uploads/gone-{n}.mp4")
    r = cloud.deliver(gone)["results"][0]
    check(r.get("code") == "Video::NotFound", f"missing upload: {r}")
    cloud.events()


def crashed(cloud, video, tmp, n):
    """The door itself crashes: the event lands in the dead-letter queue (sent with the function's role)."""
    ev = cloud.upload(video, f"uploads/crash-{n}.mp4")
    try:
        cloud.deliver(ev)
    except RuntimeError:
        pass
    check(any(m["requestPayload"] == ev for m in cloud.dead_lettered()), "nothing reached the dead-letter queue")


SCENARIOS = {"long": long_job, "expired": expired, "failing": failing_job, "refused": refused, "crashed": crashed}
FIRST = {"job_failed": "failing", "extract_frames": "refused", "s3": "refused"}       # where a grant bites first


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("iam")
    faults = {"extract_segment": lambda e: e["segment"]["index"] == 1,
              "analyse": lambda e: (e["batch"]["batch"] == 0 and e["job_id"].startswith("long-"))
              or e["job_id"].startswith("fail-"),
              "extract_frames": lambda e: "crash-" in json.dumps(e)}
    with LocalCloud(ENV, faults=faults) as c:
        c.video, c.tmp, c.runs = four_second_video(tmp), tmp, 0
        a = cv2.resize(photo("grace_hopper"), (192, 192))
        c.short = write_video(tmp / "short.mp4", [np.roll(a, i, axis=1) for i in range(12)], fps=8)
        yield c


def run(cloud, order) -> str | None:
    """The scenarios in ``order``; None when all worked as designed, else the first failure's reason."""
    for name in order:
        cloud.runs += 1
        seen = len(cloud.server.errors)
        try:
            SCENARIOS[name](cloud, cloud.video, cloud.tmp, cloud.runs)
        except Exception as exc:              # AccessDenied surfaces wherever the missing grant bites: in the
            cloud.events()                    # execution's error, or in the handler that failed on the way
            handlers = "; ".join(f"{fn}: {kind}: {msg[:200]}" for fn, kind, msg in cloud.server.errors[seen:]
                                 if kind != "InjectedFault")
            return f"{name}: {type(exc).__name__}: {exc} [handlers: {handlers}]"
    return None


def test_translated_roles_are_scoped_and_complete():
    assert set(POLICIES) == {"extract_frames", "extract_segment", "sample", "analyse", "batch_failed", "publish",
                             "job_failed", "states", "s3"}
    flat = json.dumps(POLICIES)
    assert "${" not in flat and "Fn::" not in flat and '"Ref"' not in flat          # every intrinsic resolved
    for who, docs in POLICIES.items():
        for doc in docs:
            for st in doc["Statement"]:
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert all(a.startswith("logs:") or "*" not in a for a in acts), (who, st)
                if any(a.startswith(("s3:", "states:", "lambda:", "sqs:", "events:")) for a in acts):
                    assert st["Resource"] != "*", (who, st)
    pub = json.dumps(POLICIES["publish"])
    assert "cdn-123456789012-us-east-1/videos/*" in pub and "s3:DeleteObject" not in pub
    assert "states:RedriveExecution" in json.dumps(POLICIES["states"])
    assert len(STATEMENTS) >= 28


def test_the_whole_flow_runs_under_the_templates_policies(cloud):
    assert run(cloud, list(SCENARIOS)) is None
    assert cloud.s3_requests()["analyse"]["GetObject"] >= 1       # requests really carried the role's key


@pytest.mark.parametrize("who,policy,statement", STATEMENTS,
                         ids=[f"{w}-{POLICIES[w][p]['Statement'][s].get('Sid') or s}" for w, p, s in STATEMENTS])
def test_dropping_any_statement_makes_a_run_fail_with_access_denied(cloud, who, policy, statement):
    first = FIRST.get(who, "long")
    with cloud.revoke(who, policy, statement):
        why = run(cloud, [first] + [s for s in SCENARIOS if s != first])
    assert why is not None, f"every scenario succeeded without {who}'s statement {statement}"
    assert "AccessDenied" in why, why
