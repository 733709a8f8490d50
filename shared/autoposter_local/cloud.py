"""The serverless flow on one machine, with no AWS account and no Docker, under the template's IAM.

* S3 and Step Functions: moto, in process (``mock_aws``), with its ASL interpreter on — it
  executes the real ``statemachine/posters.asl.json``. S3 is also served over HTTP by a
  werkzeug server around moto's app (``AWS_ENDPOINT_URL_S3``), so every S3 request — the
  handlers' and the caller's — crosses a real S3 API endpoint;
  a thin middleware there counts requests by operation and by principal (the usage report).
* IAM, enforced: each function runs with the access key of an IAM user whose inline policies
  are exactly its role's policies as CloudFormation would create them from ``template.yaml``
  (``iam.py``); the interpreter's S3 calls (key ``ak``) carry the state machine role's
  policies; only the harness itself is an administrator. moto checks every S3 and Step
  Functions request against them, so a missing grant fails here as it would on AWS.
* Lambda: a small HTTP server speaks the Lambda Invoke API and calls the real handlers in
  this process (as ``sam local start-lambda`` does for Step Functions Local), after checking
  the state machine role may invoke that function. ``AWS_ENDPOINT_URL_LAMBDA`` points the
  interpreter at it.
* The S3 upload event is delivered to ``extract_frames`` as S3 would: a notification record
  with the key URL-encoded, invoked with the function's own credentials.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import os
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote_plus, unquote

from . import iam

REGION, ACCOUNT = iam.REGION, iam.ACCOUNT
FUNCTIONS = ("extract_frames", "analyse", "batch_failed", "publish")
ARN_SUBS = {"AnalyseFunctionArn": "analyse", "BatchFailedFunctionArn": "batch_failed",
            "PublishFunctionArn": "publish"}
_COUNTER = itertools.count()


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for p in here.parents:
        if (p / "statemachine").is_dir() and (p / "functions").is_dir():
            return p
    raise FileNotFoundError("local-cloud runs from a source checkout (statemachine/ and functions/ not found)")


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@dataclass
class Context:
    """Enough of the Lambda context for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 1769
    function_version: str = "$LATEST"

    def __post_init__(self):
        self.invoked_function_arn = function_arn(self.function_name)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def s3_operation(method: str, path: str, query: str) -> str:
    """The S3 API operation of a path-style request (enough for costing)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) <= 1:
        if method == "GET":
            return "ListObjectsV2" if "list-type=2" in query else "ListObjects"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, method)
    if "uploads" in query or "uploadId" in query:
        return {"POST": "MultipartUpload", "PUT": "UploadPart"}.get(method, "MultipartUpload")
    return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject",
            "POST": "PostObject"}.get(method, method)


class CountingApp:
    """WSGI middleware: counts S3 requests by (principal, operation); the principal is the
    access key's owner, read from the request's SigV4 Authorization header.

    It also applies one documented S3 rule moto leaves out: a GET or HEAD of a missing key by
    a principal without ``s3:ListBucket`` on the bucket is answered 403, not 404 (``may``
    decides, ``exists`` looks the key up)."""

    def __init__(self, app, principals: dict, may=None, exists=None, guarded=frozenset()):
        self.app, self.principals, self.calls = app, principals, Counter()
        self.may, self.exists, self.guarded = may, exists, guarded      # guarded: the roles, not the harness
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        key = auth.split("Credential=")[1].split("/")[0] if "Credential=" in auth else "anonymous"
        path = environ.get("PATH_INFO", "")
        op = s3_operation(environ.get("REQUEST_METHOD", ""), path, environ.get("QUERY_STRING", ""))
        who = self.principals.get(key, key)
        with self.lock:
            self.calls[(who, op)] += 1
        if op in ("GetObject", "HeadObject") and self.may and who in self.guarded:
            bucket, _, obj = unquote(path.lstrip("/")).partition("/")
            if not self.exists(bucket, obj) and not self.may(who, "s3:ListBucket", f"arn:aws:s3:::{bucket}"):
                body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                        b"<Message>Access Denied (no s3:ListBucket: a missing key reads as denied)</Message></Error>")
                start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                                 ("Content-Length", str(len(body)))])
                return [body]
        return self.app(environ, start_response)


class S3Server:
    """moto's S3 API on a real HTTP port, behind ``CountingApp``."""

    def __init__(self, principals: dict, may=None, exists=None, guarded=frozenset()):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self.app = CountingApp(DomainDispatcherApplication(create_backend_app), principals, may, exists, guarded)
        self.server = make_server("127.0.0.1", 0, self.app, True, request_handler=MotoRequestHandler)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join()


class LambdaInvokeServer:
    """Answers the Lambda Invoke API by calling handlers in this process, one at a time,
    each with its own role's credentials; records every call's duration."""

    def __init__(self, cloud: "LocalCloud"):
        self.cloud = cloud
        self.calls: list[tuple[str, bool]] = []
        self.durations: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        server = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def do_POST(self):
                parts = self.path.split("/")
                if len(parts) < 5 or parts[2] != "functions" or not parts[4].startswith("invocations"):
                    self.send_error(404, "unknown path")
                    return
                name = unquote(parts[3]).split(":function:")[-1].split(":")[0]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, payload = server.invoke(name, body, caller="states")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def invoke(self, name: str, body: bytes, caller: str):
        fn = self.cloud.handlers.get(name)
        if fn is None:
            err = {"Type": "User", "message": f"Function not found: {name}"}
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, json.dumps(err).encode()
        if caller and not self.cloud.may(caller, "lambda:InvokeFunction", function_arn(name)):
            err = {"Type": "User", "message": f"{caller} is not authorized to perform lambda:InvokeFunction "
                                              f"on {function_arn(name)}"}
            return 403, {"x-amzn-ErrorType": "AccessDeniedException"}, json.dumps(err).encode()
        event = json.loads(body or b"{}")
        with self._lock:
            t0 = time.perf_counter()
            try:
                result = self.cloud.run_as(name, fn, event)
                ok, status, headers, payload = True, 200, {"X-Amz-Executed-Version": "$LATEST"}, \
                    json.dumps(result).encode()
            except Exception as exc:  # what Lambda reports for an unhandled error
                err = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                       "stackTrace": traceback.format_exc().splitlines()[-6:]}
                ok, status, headers, payload = False, 200, {"X-Amz-Function-Error": "Unhandled",
                                                            "X-Amz-Executed-Version": "$LATEST"}, \
                    json.dumps(err).encode()
            self.durations.setdefault(name, []).append(time.perf_counter() - t0)
            self.calls.append((name, ok))
            return status, headers, payload

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def template_environment(template_path: Path) -> dict:
    """The functions' Globals environment from template.yaml, parameters at their defaults: the local
    functions run with the settings a deployed stack gives them (one onnxruntime thread, the gates,
    the batch size…). Bucket names and ARNs are the local stack's; the model folder is the checkout's."""
    from cfnlint.decode import decode

    tpl, _ = decode(str(template_path))
    params = {k: str(v.get("Default", "")) for k, v in tpl.get("Parameters", {}).items()}
    out = {}
    for k, v in tpl["Globals"]["Function"]["Environment"]["Variables"].items():
        if isinstance(v, dict) and set(v) == {"Ref"} and v["Ref"] in params:
            out[k] = params[v["Ref"]]
        elif isinstance(v, (str, int, float)) and k != "AUTOPOSTER_MODEL_DIR":
            out[k] = str(v)
    return out


def scope_step_functions_requests() -> None:
    """moto checks Step Functions requests against resource ``*``, where AWS uses the state machine
    or execution the request names; teach it the latter, so ARN-scoped grants (the template's
    ``StepFunctionsExecutionPolicy``) are evaluated as on AWS."""
    from moto.stepfunctions.responses import StepFunctionResponse

    def _determine_resource(self) -> str:
        try:
            body = json.loads(self.body or "{}")
        except ValueError:
            return "*"
        return body.get("stateMachineArn") or body.get("executionArn") or "*"

    StepFunctionResponse._determine_resource = _determine_resource


class LocalCloud:
    """Buckets, the state machine and the functions, all on this machine, IAM enforced.

    ``policy_edit(policies)`` may change the principals' policies before they are installed
    (the policy-mutation test drops one statement at a time).
    """

    def __init__(self, env: dict | None = None, policy_edit=None, enforce_iam: bool = True):
        self.root = repo_root()
        names = {b: f"{iam.STACK}-{b}-{ACCOUNT}-{REGION}" for b in ("input", "work", "cdn")}
        self.buckets = names
        self.extra_env = dict(env or {})
        self.policy_edit = policy_edit
        self.enforce_iam = enforce_iam
        self._saved: dict = {}
        self.keys: dict[str, tuple[str, str]] = {}

    # -- setup ------------------------------------------------------------------------
    def __enter__(self) -> "LocalCloud":
        from moto import mock_aws

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        base_env = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                    "AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup",
                    "POWERTOOLS_SERVICE_NAME": "autoposter", "POWERTOOLS_METRICS_NAMESPACE": "Autoposter",
                    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
                    "INPUT_BUCKET": self.buckets["input"], "WORK_BUCKET": self.buckets["work"],
                    "CDN_BUCKET": self.buckets["cdn"],
                    "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{iam.STACK}-posters",
                    "LINK_BASE": "https://videos.example.com/watch/"}
        base_env.update(template_environment(self.root / "template.yaml"))
        base_env.update(self.extra_env)
        self._set_env(base_env)
        os.environ.pop("AWS_SESSION_TOKEN", None)      # IAM user keys: no session token
        self.mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self.mock.start()
        import boto3

        self.policies = iam.principal_policies(self.root / "template.yaml")
        if self.policy_edit:
            self.policy_edit(self.policies)
        admin = self._principals(boto3)
        self.s3_server = S3Server({k: who for who, (k, _) in self.keys.items()}, self.may, self._exists,
                                  frozenset(self.policies))
        self.s3_endpoint = self.s3_server.url
        self._set_env({"AWS_ENDPOINT_URL_S3": self.s3_endpoint})
        session = boto3.Session(aws_access_key_id=admin[0], aws_secret_access_key=admin[1], region_name=REGION)
        self.s3, self.sfn = session.client("s3"), session.client("stepfunctions")
        for b in self.buckets.values():
            self.s3.create_bucket(Bucket=b)
        self.handlers = {name: self._load(name) for name in FUNCTIONS}
        self.server = LambdaInvokeServer(self).start()
        self._set_env({"AWS_ENDPOINT_URL_LAMBDA": self.server.url})
        definition = (self.root / "statemachine" / "posters.asl.json").read_text()
        for var, fn in ARN_SUBS.items():
            definition = definition.replace("${%s}" % var, function_arn(fn))
        definition = definition.replace("${ChildExecutionType}", "STANDARD")   # moto runs STANDARD children only
        self.state_machine_arn = self.sfn.create_state_machine(
            name=f"{iam.STACK}-posters", definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{iam.STACK}-states")["stateMachineArn"]
        if self.enforce_iam:
            from moto.core.authorization import enable_iam_authentication
            scope_step_functions_requests()
            self._iam = enable_iam_authentication()
            self._iam.__enter__()
        return self

    def _principals(self, boto3) -> tuple[str, str]:
        """IAM users: one per function role, the state machine role (key ``ak``), an admin for the harness."""
        from moto.iam.models import iam_backends

        client = boto3.client("iam", region_name=REGION)
        admin_doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        for who, docs in [("harness", [admin_doc])] + list(self.policies.items()):
            client.create_user(UserName=f"role-{who}")
            for i, doc in enumerate(d for d in docs if d["Statement"]):
                client.put_user_policy(UserName=f"role-{who}", PolicyName=f"p{i}",
                                       PolicyDocument=json.dumps({"Version": "2012-10-17", **doc}))
            k = client.create_access_key(UserName=f"role-{who}")["AccessKey"]
            self.keys[who] = (k["AccessKeyId"], k["SecretAccessKey"])
        # moto's interpreter signs its own S3 calls (an ItemReader, if the definition had one) with key "ak"
        user = iam_backends[ACCOUNT]["aws"].get_user("role-states")
        user.access_keys[0].access_key_id, user.access_keys[0].secret_access_key = "ak", "sk"
        self.keys["states"] = ("ak", "sk")
        return self.keys["harness"]

    @staticmethod
    def _exists(bucket: str, key: str) -> bool:
        from moto.s3.models import s3_backends
        try:
            return key in s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys
        except Exception:
            return False

    def may(self, who: str, action: str, resource: str) -> bool:
        """Does ``who``'s policy allow ``action`` on ``resource`` (IAM's evaluation, as moto implements it)?"""
        if not self.enforce_iam:
            return True
        from moto.iam.access_control import IAMPolicy, PermissionResult

        results = [IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource) for doc in self.policies[who]]
        return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results

    def run_as(self, name: str, fn, event):
        """Call a handler with its role's credentials in the environment, as Lambda provides them."""
        from autoposter_aws import storage

        key, secret = self.keys[name]
        saved = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = key, secret
        storage.client.cache_clear()
        try:
            return fn(event, Context(name))
        finally:
            os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = saved
            storage.client.cache_clear()

    def __exit__(self, *exc):
        if self.enforce_iam:
            self._iam.__exit__(None, None, None)
        self.server.stop()
        self.s3_server.stop()
        self.mock.stop()
        from autoposter_aws import storage
        storage.client.cache_clear()
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        return False

    def _set_env(self, values: dict) -> None:
        for k, v in values.items():
            self._saved.setdefault(k, os.environ.get(k))
            os.environ[k] = v

    def _load(self, name: str):
        """Import functions/<name>/app.py afresh (module-level settings read this cloud's env)."""
        path = self.root / "functions" / name / "app.py"
        spec = importlib.util.spec_from_file_location(f"autoposter_fn_{name}_{next(_COUNTER)}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.handler

    # -- the flow ---------------------------------------------------------------------------
    def upload(self, path: str | Path, key: str, metadata: dict | None = None, bucket: str | None = None) -> dict:
        """Put the video in the input bucket; return the S3 notification S3 would send."""
        bucket = bucket or self.buckets["input"]
        with open(path, "rb") as f:
            self.s3.put_object(Bucket=bucket, Key=key, Body=f, Metadata=metadata or {})
        head = self.s3.head_object(Bucket=bucket, Key=key)
        return {"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
            "eventTime": "2026-11-24T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "upload",
                   "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}",
                              "ownerIdentity": {"principalId": "LOCAL"}},
                   "object": {"key": quote_plus(key, safe="/"), "size": head["ContentLength"],
                              "eTag": head["ETag"].strip('"'), "sequencer": "0A1B2C3D4E5F678901"}}}]}

    def deliver(self, event: dict) -> dict:
        """Invoke extract_frames with the S3 event (as S3's asynchronous invocation would)."""
        status, headers, payload = self.server.invoke("extract_frames", json.dumps(event).encode(), caller="")
        out = json.loads(payload)
        if "X-Amz-Function-Error" in headers:
            raise RuntimeError(f"extract_frames failed: {out['errorType']}: {out['errorMessage']}")
        return out

    def history(self, execution_arn: str) -> list[dict]:
        events, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **kw)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    def transitions(self, execution_arn: str) -> int:
        """States entered by an execution (what Standard workflows are billed by)."""
        return sum(1 for e in self.history(execution_arn) if e["type"].endswith("StateEntered"))

    def map_run_items(self, execution_arn: str) -> int:
        """Items the execution's Distributed Map runs processed: one child execution each."""
        runs = self.sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
        return sum(self.sfn.describe_map_run(mapRunArn=r["mapRunArn"])["itemCounts"]["total"] for r in runs)

    def executions(self) -> list[dict]:
        return self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]

    def wait(self, execution_arn: str, timeout: float = 600) -> dict:
        t0 = time.monotonic()
        while True:
            d = self.sfn.describe_execution(executionArn=execution_arn)
            if d["status"] != "RUNNING":
                return d
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"execution {execution_arn} still RUNNING after {timeout:.0f}s")
            time.sleep(0.1)

    def published(self, job_id: str) -> list[str]:
        keys, token = [], None
        while True:
            kw = {"ContinuationToken": token} if token else {}
            page = self.s3.list_objects_v2(Bucket=self.buckets["cdn"], Prefix=f"videos/{job_id}/", **kw)
            keys += [o["Key"] for o in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                return sorted(keys)

    def get_json(self, bucket: str, key: str):
        return json.loads(self.s3.get_object(Bucket=self.buckets.get(bucket, bucket), Key=key)["Body"].read())

    def download(self, job_id: str, out_dir: str | Path) -> list[Path]:
        out = Path(out_dir)
        files = []
        prefix = f"videos/{job_id}/"
        for key in self.published(job_id):
            dest = out / key[len(prefix):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(self.buckets["cdn"], key, str(dest))
            files.append(dest)
        return files

    def s3_requests(self) -> dict:
        """S3 requests by principal and operation, the harness's own left out."""
        out: dict = {}
        for (who, op), n in self.s3_server.app.calls.items():
            if who not in ("harness", "setup", "anonymous"):
                out.setdefault(who, Counter())[op] += n
        return {k: dict(v) for k, v in out.items()}


