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
                    assert st["Effect"] == "Allow"
                    if all(a.startswith("logs:") for a in actions):
                        continue          # CloudWatch log delivery supports no resource-level permission
                    assert "Resource" in st and st["Resource"] != "*", (name, st)
            else:
                assert kind in ALLOWED_TEMPLATES, (name, kind)
                assert "*" not in _flat(body), (name, body)     # scoped to one named bucket/function/machine
    assert seen >= 8


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


def _build():
    import importlib.util
    spec = importlib.util.spec_from_file_location("build", ROOT / "statemachine" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


def test_asl_is_generated_and_fans_out_with_transient_retries_only():
    import subprocess
    r = subprocess.run([sys.executable, str(ROOT / "statemachine" / "build.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr                       # the committed file is what build.py writes
    asl = json.loads((ROOT / "statemachine" / "posters.asl.json").read_text())
    st = asl["States"]
    assert st["Extract"]["ItemsPath"] == "$.plan.segments" and st["Analyse"]["ItemsPath"] == "$.sampling.batches"
    for m in (st["Extract"], st["Analyse"]):
        assert "ItemReader" not in m and m["ResultPath"] is None       # results live in S3, never in the payload
        assert m["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "${ChildExecutionType}"}
        assert m["ToleratedFailurePercentagePath"] == "$.tolerated_failure"   # publish's number, from the input
        assert m["MaxConcurrencyPath"] == "$.concurrency"
        assert m["Catch"][0]["Next"] == "JobFailed"
    tasks = [t for m in (st["Extract"], st["Analyse"]) for t in m["ItemProcessor"]["States"].values()] + \
        [st[n] for n in ("Sample", "Publish", "JobFailed")]
    policies = {json.dumps(t["Retry"][0]["ErrorEquals"]) for t in tasks}
    assert len(policies) == 1                                # one notion of "transient"
    names = json.loads(policies.pop())
    assert "S3Transient" in names and "ServiceTransient" in names
    for never in ("States.ALL", "States.TaskFailed", "ClientError", "S3AccessDenied", "VideoError", "FramesFailed",
                  "Lambda.AWSLambdaException", "Lambda.AccessDeniedException", "PayloadInvalid"):
        assert never not in names                            # AccessDenied and bad input are never retried
    assert st["Analyse"]["ItemProcessor"]["States"]["AnalyseBatch"]["Catch"][0]["Next"] == "BatchFailed"
    assert st["Route"]["Type"] == "Choice" and st["Failed"]["Type"] == "Fail"


def test_express_children_stay_inside_their_five_minutes():
    """S13: every timeout and retry inside a child adds up to well under 5 minutes, and each task waits longer
    than its function runs (a function's own timeout, from template.yaml, is never cut short by the state)."""
    build = _build()
    budget = build.child_budget(build.definition())
    assert set(budget) == {"Extract", "Analyse"}
    assert max(budget.values()) <= build.EXPRESS_LIMIT - build.MARGIN
    timeouts = build.function_timeouts()
    asl = json.loads((ROOT / "statemachine" / "posters.asl.json").read_text())
    st = asl["States"]
    for fn, state in [("ExtractSegmentFunction", st["Extract"]["ItemProcessor"]["States"]["ExtractSegment"]),
                      ("AnalyseFunction", st["Analyse"]["ItemProcessor"]["States"]["AnalyseBatch"]),
                      ("BatchFailedFunction", st["Analyse"]["ItemProcessor"]["States"]["BatchFailed"])]:
        assert state["TimeoutSeconds"] > timeouts[fn]
    # a longer function timeout would break the budget, and build.py refuses to write the definition
    longer = {**timeouts, "AnalyseFunction": 200}
    assert max(build.child_budget(build.definition(longer)).values()) > build.EXPRESS_LIMIT - build.MARGIN


def test_a_segment_is_sized_well_inside_its_workers_timeout(tpl):
    """S11: at the worst bitrate the decode model covers, a segment's decoding takes frames.worker_seconds;
    the extraction worker's timeout leaves room for twice that."""
    from autoposter.frames import FrameSettings
    fn = resources(tpl, "AWS::Serverless::Function")["ExtractSegmentFunction"]["Properties"]
    assert FrameSettings().worker_seconds * 2 <= fn["Timeout"]


def test_the_door_has_a_dead_letter_queue_a_filter_and_no_reservation_by_default(tpl):
    fn = resources(tpl, "AWS::Serverless::Function")["ExtractFramesFunction"]["Properties"]
    assert fn["ReservedConcurrentExecutions"] == {"Fn::If": ["ReserveExtraction", {"Ref": "ExtractReservedConcurrency"},
                                                             {"Ref": "AWS::NoValue"}]}
    assert tpl["Parameters"]["ExtractReservedConcurrency"]["Default"] == 0      # deploys on a new account
    dest = fn["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert dest["Type"] == "SQS" and "ExtractFailuresQueue" in _flat(dest["Destination"])
    for ev in fn["Events"].values():                        # only uploads under the prefix, with a video suffix
        rules = {r["Name"]: r["Value"] for r in ev["Properties"]["Filter"]["S3Key"]["Rules"]}
        assert rules["prefix"] == {"Ref": "UploadPrefix"} and rules["suffix"].startswith(".")
    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert "MAX_UPLOAD_BYTES" in env and "MAX_VIDEO_SECONDS" in env and "INPUT_BUCKET" in env
    assert "FAULT_INJECT" not in json.dumps(tpl) and "FaultInject" not in json.dumps(tpl)
    assert tpl["Parameters"]["MaxVideoSeconds"]["Default"] >= 4 * 3600
    sm = resources(tpl, "AWS::Serverless::StateMachine")["PostersStateMachine"]["Properties"]
    assert sm["Logging"]["Destinations"] and sm["Type"] == "STANDARD"


def test_every_log_group_expires_and_goes_with_the_stack(tpl):
    groups = resources(tpl, "AWS::Logs::LogGroup")
    fns = resources(tpl, "AWS::Serverless::Function")
    assert len(groups) == len(fns) + 1                        # one per function and the state machine's
    for g in groups.values():
        assert g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for f in fns.values():
        assert f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups


def test_uploads_old_versions_and_work_expire(tpl):
    buckets = resources(tpl, "AWS::S3::Bucket")
    rules = {r["Id"]: r for r in buckets["InputBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-old-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == {"Ref": "NoncurrentUploadDays"}
    assert "expire-uploads" in rules
    work = buckets["WorkBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert work["ExpirationInDays"] == {"Ref": "WorkExpirationDays"}
    import re
    prefix = tpl["Parameters"]["BucketPrefix"]["AllowedPattern"]
    longest = "x" * int(re.search(r"\{1,(\d+)\}", prefix).group(1)) + "x"
    assert len(f"{longest}-input-123456789012-ap-southeast-5") <= 63          # every region's name fits


def test_cloudfront_sends_security_headers(tpl):
    dist = resources(tpl, "AWS::CloudFront::Distribution")["Distribution"]["Properties"]["DistributionConfig"]
    assert dist["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeaders"}
    cfg = resources(tpl, "AWS::CloudFront::ResponseHeadersPolicy")["SecurityHeaders"]["Properties"][
        "ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = cfg["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("style-src")[0]          # no inline script, ever
    assert cfg["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert cfg["ContentTypeOptions"]["Override"] and cfg["FrameOptions"]["FrameOption"] == "DENY"


def test_runtime_is_python313_on_arm64(tpl):
    glob = tpl["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13" and glob["Architectures"] == ["arm64"]
    for layer in resources(tpl, "AWS::Serverless::LayerVersion").values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]


def test_every_function_has_an_event_and_a_thin_handler():
    names = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())
    assert names == sorted(p.stem for p in (ROOT / "events").glob("*.json"))
    for n in names:
        code = [ln for ln in (ROOT / "functions" / n / "app.py").read_text().splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
        src = "\n".join(code)
        assert len(code) < 60 and "Logger" in src and "Metrics" in src and "Tracer" in src
        assert "boto3" not in src
