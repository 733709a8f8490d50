"""The serverless flow on one machine, with no AWS account and no Docker.

* S3 and Step Functions: moto, in process (``mock_aws``), with its ASL interpreter
  switched on (``stepfunctions.execute_state_machine``) — it executes the real
  ``statemachine/posters.asl.json``. The same backends are also served over HTTP by
  moto's ``ThreadedMotoServer``, and ``AWS_ENDPOINT_URL_S3`` points every S3 client
  (the handlers', the interpreter's ItemReader, the caller's) at it: S3 traffic goes
  through a real S3 API endpoint that other tools (``aws --endpoint-url``) can use too.
* Lambda: a small HTTP server that speaks the Lambda Invoke API
  (``POST /2015-03-31/functions/{name}/invocations``) and calls the real handlers in
  ``functions/*/app.py`` in this process, the way ``sam local start-lambda`` serves
  Step Functions Local. ``AWS_ENDPOINT_URL_LAMBDA`` points the interpreter at it.
* The S3 upload event is delivered to ``extract_frames`` as S3 would: a
  notification record with the key URL-encoded.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import os
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote_plus, unquote

REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTIONS = ("extract_frames", "detect", "crop", "compose", "frame_failed", "publish")
ARN_SUBS = {"DetectFunctionArn": "detect", "CropFunctionArn": "crop", "ComposeFunctionArn": "compose",
            "FrameFailedFunctionArn": "frame_failed", "PublishFunctionArn": "publish"}
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
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"

    def __post_init__(self):
        self.invoked_function_arn = function_arn(self.function_name)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class LambdaInvokeServer:
    """Answers the Lambda Invoke API by calling handlers in this process (one at a time)."""

    def __init__(self, handlers: dict):
        self.handlers = handlers
        self.calls: list[tuple[str, bool]] = []
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
                status, headers, payload = server.invoke(name, body)
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

    def invoke(self, name: str, body: bytes):
        fn = self.handlers.get(name)
        if fn is None:
            err = {"Type": "User", "message": f"Function not found: {name}"}
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, json.dumps(err).encode()
        event = json.loads(body or b"{}")
        with self._lock:
            try:
                result = fn(event, Context(name))
                self.calls.append((name, True))
                return 200, {"X-Amz-Executed-Version": "$LATEST"}, json.dumps(result).encode()
            except Exception as exc:  # what Lambda reports for an unhandled error
                self.calls.append((name, False))
                err = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                       "stackTrace": traceback.format_exc().splitlines()[-6:]}
                return 200, {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"}, \
                    json.dumps(err).encode()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class LocalCloud:
    """Buckets, the state machine and the functions, all on this machine. Use as a context manager."""

    def __init__(self, env: dict | None = None, prefix: str = "autoposter"):
        self.root = repo_root()
        self.buckets = {"input": f"{prefix}-input", "work": f"{prefix}-work", "cdn": f"{prefix}-cdn"}
        self.extra_env = dict(env or {})
        self._saved: dict = {}

    # -- setup ------------------------------------------------------------------------
    def __enter__(self) -> "LocalCloud":
        from moto import mock_aws

        base_env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                    "POWERTOOLS_SERVICE_NAME": "autoposter", "POWERTOOLS_METRICS_NAMESPACE": "Autoposter",
                    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
                    "WORK_BUCKET": self.buckets["work"], "CDN_BUCKET": self.buckets["cdn"],
                    "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:autoposter-posters",
                    "LINK_BASE": "https://videos.example.com/watch/"}
        base_env.update(self.extra_env)
        self._set_env(base_env)
        self.mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self.mock.start()
        import logging

        from moto.server import ThreadedMotoServer
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
        self.moto_server.start()
        host, port = self.moto_server.get_host_and_port()
        self.s3_endpoint = f"http://{host}:{port}"
        self._set_env({"AWS_ENDPOINT_URL_S3": self.s3_endpoint})
        import boto3
        from . import storage
        storage.client.cache_clear()
        self.s3 = boto3.client("s3", region_name=REGION)
        from collections import Counter
        self.s3_calls: Counter = Counter()      # S3 requests made by the functions, by operation (for costing)
        storage.s3().meta.events.register(
            "before-call.s3", lambda model, **kw: self.s3_calls.update([model.name]))
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        for b in self.buckets.values():
            self.s3.create_bucket(Bucket=b)
        self.handlers = {name: self._load(name) for name in FUNCTIONS}
        self.server = LambdaInvokeServer(self.handlers).start()
        self._set_env({"AWS_ENDPOINT_URL_LAMBDA": self.server.url})
        definition = (self.root / "statemachine" / "posters.asl.json").read_text()
        for var, fn in ARN_SUBS.items():
            definition = definition.replace("${%s}" % var, function_arn(fn))
        self.state_machine_arn = self.sfn.create_state_machine(
            name="autoposter-posters", definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/autoposter-sfn")["stateMachineArn"]
        return self

    def __exit__(self, *exc):
        self.server.stop()
        self.moto_server.stop()
        self.mock.stop()
        from . import storage
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
    def upload(self, path: str | Path, key: str, metadata: dict | None = None) -> dict:
        """Put the video in the input bucket; return the S3 notification S3 would send."""
        with open(path, "rb") as f:
            self.s3.put_object(Bucket=self.buckets["input"], Key=key, Body=f, Metadata=metadata or {})
        head = self.s3.head_object(Bucket=self.buckets["input"], Key=key)
        return {"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
            "eventTime": "2026-11-24T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "upload",
                   "bucket": {"name": self.buckets["input"], "arn": f"arn:aws:s3:::{self.buckets['input']}",
                              "ownerIdentity": {"principalId": "LOCAL"}},
                   "object": {"key": quote_plus(key, safe="/"), "size": head["ContentLength"],
                              "eTag": head["ETag"].strip('"'), "sequencer": "0A1B2C3D4E5F678901"}}}]}

    def deliver(self, event: dict) -> dict:
        """Invoke extract_frames with the S3 event (as S3's asynchronous invocation would)."""
        return self.handlers["extract_frames"](event, Context("extract_frames"))

    def transitions(self, execution_arn: str) -> int:
        """State transitions of an execution (what Standard workflows are billed by)."""
        events, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **kw)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return sum(1 for e in events if e["type"].endswith("StateEntered"))

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
            time.sleep(0.2)

    def published(self, job_id: str) -> list[str]:
        from . import storage
        return sorted(storage.list_keys(self.buckets["cdn"], f"videos/{job_id}/"))

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


def main(args) -> int:
    """``autoposter local-cloud VIDEO --out DIR``: upload, run the state machine, download the set."""
    import logging
    import sys

    logging.getLogger("moto").setLevel(logging.ERROR)     # the interpreter's notes on unsupported fields
    env = {"POWERTOOLS_METRICS_DISABLED": "true"}         # EMF lines would bury the summary
    if args.template:
        env["TEMPLATES"] = args.template
    if args.scenario:
        env["SCENARIOS"] = args.scenario
    key = f"uploads/{Path(args.video).name}"
    meta = {k: v for k, v in (("title", args.title), ("link", args.link)) if v}
    meta = {k: v.encode("ascii", "replace").decode() for k, v in meta.items()}   # S3 metadata is ASCII
    t0 = time.monotonic()
    with LocalCloud(env) as cloud:
        print(f"local-cloud: moto S3 API at {cloud.s3_endpoint}, Step Functions in process, "
              f"Lambda API at {cloud.server.url}", file=sys.stderr)
        event = cloud.upload(args.video, key, meta)
        started = cloud.deliver(event)["results"][0]
        if started["status"] == "rejected":
            print(f"autoposter: {started['code']}: {started['message']}", file=sys.stderr)
            return 3
        print(f"local-cloud: {started['frames']} frames extracted; execution {started['job_id']} started",
              file=sys.stderr)
        d = cloud.wait(started["execution_arn"])
        calls = len(cloud.server.calls)
        if d["status"] != "SUCCEEDED":
            print(f"autoposter: execution {d['status']}: {d.get('error', '')}: {d.get('cause', '')}", file=sys.stderr)
            return 1
        out = json.loads(d["output"])
        files = cloud.download(started["job_id"], args.out)
        print(f"execution SUCCEEDED in {time.monotonic() - t0:.1f}s: {out['posters']} posters, {calls} Lambda "
              f"invocations; {len(files)} files from s3://autoposter-cdn/videos/{started['job_id']}/ -> {args.out}")
        if getattr(args, "serve", False):
            print(f"local-cloud: serving S3 at {cloud.s3_endpoint} until Ctrl-C "
                  f"(aws --endpoint-url {cloud.s3_endpoint} s3 ls s3://autoposter-cdn --recursive)", file=sys.stderr)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0 if out["posters"] else 6
