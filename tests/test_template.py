"""template.yaml and the ASL file: cfn-lint, least privilege, private encrypted buckets, CDN via OAC."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from conftest import ROOT

ALLOWED_TEMPLATES = {   # SAM policy templates in use, and the actions they expand to (all on the named resource)
    "S3ReadPolicy": {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion",
                     "s3:GetLifecycleConfiguration"},
    "StepFunctionsExecutionPolicy": {"states:StartExecution"},
    "LambdaInvokePolicy": {"lambda:InvokeFunction"},
}


@pytest.fixture(scope="module")
def tpl():
    doc, errors = decode(str(ROOT / "template.yaml"))
    assert not errors
    return doc


def resources(tpl, kind):
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == kind}


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    r = subprocess.run([str(cfn_lint), str(ROOT / "template.yaml")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _flat(v):
    return json.dumps(v, default=str)


def test_no_wildcard_actions_or_resources_in_function_and_state_machine_policies(tpl):
    kinds = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
    seen = 0
    for name, res in {**resources(tpl, kinds[0]), **resources(tpl, kinds[1])}.items():
        for pol in res["Properties"].get("Policies", []):
            assert isinstance(pol, dict) and len(pol) == 1, (name, pol)
            (kind, body), = pol.items()
            seen += 1
            if kind == "Statement":
                for st in body:
                    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                    assert all("*" not in a for a in actions), (name, st)
                    assert st["Resource"] != "*" and "Resource" in st, (name, st)
                    assert st["Effect"] == "Allow"
            else:
                assert kind in ALLOWED_TEMPLATES, (name, kind)
                assert "*" not in _flat(body), (name, body)     # scoped to one named bucket/function/machine
    assert seen >= 15


def test_buckets_private_and_encrypted(tpl):
    buckets = resources(tpl, "AWS::S3::Bucket")
    assert set(buckets) == {"InputBucket", "WorkBucket", "CdnBucket"}
    for name, b in buckets.items():
        p = b["Properties"]
        assert p["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        algo = p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert algo["SSEAlgorithm"] in ("AES256", "aws:kms")
        assert "AccessControl" not in p and "WebsiteConfiguration" not in p


def test_cdn_bucket_is_read_only_by_cloudfront_through_oac(tpl):
    policy = resources(tpl, "AWS::S3::BucketPolicy")["CdnBucketPolicy"]["Properties"]["PolicyDocument"]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    st = allows[0]
    assert st["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert st["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in _flat(st["Condition"]) and "distribution" in _flat(st["Condition"])
    dist = resources(tpl, "AWS::CloudFront::Distribution")["Distribution"]["Properties"]["DistributionConfig"]
    origin = dist["Origins"][0]
    assert "OriginAccessControlId" in origin and origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    assert dist["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    oac = resources(tpl, "AWS::CloudFront::OriginAccessControl")["OriginAccessControl"]["Properties"]
    assert oac["OriginAccessControlConfig"]["SigningBehavior"] == "always"


def test_state_machine_substitutions_and_outputs(tpl):
    sm = resources(tpl, "AWS::Serverless::StateMachine")["PostersStateMachine"]["Properties"]
    asl = (ROOT / sm["DefinitionUri"]).read_text()
    json.loads(asl)
    for var in sm["DefinitionSubstitutions"]:
        assert "${%s}" % var in asl
    import re
    assert set(re.findall(r"\$\{(\w+)\}", asl)) <= set(sm["DefinitionSubstitutions"])
    assert {"InputBucketName", "CdnBucketName", "DistributionDomain", "StateMachineArn"} <= set(tpl["Outputs"])


def test_asl_fans_out_with_retries_catch_and_small_payloads():
    asl = json.loads((ROOT / "statemachine" / "posters.asl.json").read_text())
    states = asl["States"]
    inline, dist = states["FramesInline"], states["FramesDistributed"]
    assert dist["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert dist["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert "ToleratedFailurePercentagePath" in dist
    for m in (inline, dist):
        assert m["ResultPath"] is None                  # results live in S3, never in the payload
        it = m["ItemProcessor"]["States"]
        for step in ("Detect", "Crop", "Compose"):
            assert it[step]["Retry"][0]["BackoffRate"] > 1
            assert it[step]["Catch"][0]["Next"] == "FrameFailed"
            assert it[step]["Parameters"]["Payload.$"] == "$"


def test_every_function_has_an_event_and_a_thin_handler():
    names = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())
    assert names == sorted(p.stem for p in (ROOT / "events").glob("*.json"))
    for n in names:
        code = [ln for ln in (ROOT / "functions" / n / "app.py").read_text().splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
        src = "\n".join(code)
        assert len(code) < 60 and "Logger" in src and "Metrics" in src and "Tracer" in src
        assert "boto3" not in src
