"""The serverless flow on one machine, with no AWS account and no Docker, under the template's IAM.

* S3, Step Functions and EventBridge: moto, in process (``mock_aws``), with its ASL interpreter
  on — it executes the real ``statemachine/posters.asl.json``. S3 is served over HTTP too
  (``s3server``), so every S3 request — the handlers', OpenCV's Range reads through presigned
  URLs, the caller's — crosses a real S3 API endpoint and is counted.
* IAM, enforced for every role: each function runs with the access key of an IAM user whose
  inline policies are exactly its role's as CloudFormation would create them from
  ``template.yaml`` (``iam.py``); the state machine's Lambda invocations (``lambda_api``) and its
  Distributed Maps' child executions (``patches``) are checked against the state machine role's
  policies. A missing grant fails here as it would on AWS, with an error that names AccessDenied.
* Lambda: ``lambda_api`` answers the Invoke API by calling the real handlers in this process
  with their own credentials and the template's environment (``stack``).
* The S3 upload event is delivered to ``extract_frames`` as S3 would: a notification record
  with the key URL-encoded, invoked with the function's own credentials.
"""
from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote_plus

from . import iam, stack
from .lambda_api import Context, LambdaInvokeServer, function_arn
from .s3server import S3Server

REGION, ACCOUNT = iam.REGION, iam.ACCOUNT
LARGE = 256 << 20                 # uploads larger than this are streamed into moto's store (see upload)
_COUNTER = itertools.count()


class InjectedFault(Exception):
    """A failure the local cloud injects into a handler (``LocalCloud(faults=…)``): tests only."""


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for p in here.parents:
        if (p / "statemachine").is_dir() and (p / "functions").is_dir():
            return p
    raise FileNotFoundError("local-cloud runs from a source checkout (statemachine/ and functions/ not found)")


class LocalCloud:
    """Buckets, the state machine, the event bus and the functions, all on this machine, IAM enforced.

    ``policy_edit(policies)`` may change the principals' policies before they are installed
    (the policy-mutation test drops one statement at a time). ``faults`` injects failures from
    outside the product: ``{function: predicate(event)}`` makes that function raise
    ``InjectedFault`` for the events the predicate picks (the deployed code has no such hook).
    """

    def __init__(self, env: dict | None = None, policy_edit=None, enforce_iam: bool = True,
                 faults: dict | None = None):
        self.faults = dict(faults or {})
        self.root = repo_root()
        self.template = self.root / "template.yaml"
        self.params = stack.parameters(self.template)
        prefix = self.params.get("BucketPrefix", iam.STACK)
        self.buckets = {b: f"{prefix}-{b}-{ACCOUNT}-{REGION}" for b in ("input", "work", "cdn")}
        self.event_bus = f"{iam.STACK}-events"
        self.extra_env = dict(env or {})
        self.policy_edit = policy_edit
        self.enforce_iam = enforce_iam
        self._saved: dict = {}
        self.keys: dict[str, tuple[str, str]] = {}

    # -- setup ------------------------------------------------------------------------
    def __enter__(self) -> "LocalCloud":
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)            # a half-started cloud leaves nothing running
            raise

    def _start(self) -> "LocalCloud":
        from moto import mock_aws
        import cv2

        cv2.setNumThreads(1)                    # one vCPU, as a 1769 MB Lambda has: CPU time is the handler's own
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # the ASL interpreter logs, at ERROR, every Choice test of a path that is absent (IsPresent: false)
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        base_env = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                    "AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup",
                    "POWERTOOLS_SERVICE_NAME": "autoposter", "POWERTOOLS_METRICS_NAMESPACE": "Autoposter",
                    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "INFO",   # as deployed; counted
                    "INPUT_BUCKET": self.buckets["input"], "WORK_BUCKET": self.buckets["work"],
                    "CDN_BUCKET": self.buckets["cdn"], "EVENT_BUS": self.event_bus,
                    "CDN_BASE_URL": "https://cdn.local/",
                    "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{iam.STACK}-posters",
                    "LINK_BASE": "https://videos.example.com/watch/"}
        base_env.update(stack.environment(self.template))
        for folder in stack.functions(self.template).values():
            base_env.update({k: v for k, v in stack.environment(self.template, folder).items()
                             if k not in base_env})
        # handlers run here one at a time: a Map that started many children would make them wait in line,
        # and the wait would count against each task's timeout (on AWS they run at once). After the
        # template's own environment, which sets MapConcurrency's default (40).
        base_env["MAP_CONCURRENCY"] = "1"
        base_env.update(self.extra_env)
        self._set_env(base_env)
        os.environ.pop("AWS_SESSION_TOKEN", None)      # IAM user keys: no session token
        self.mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self.mock.start()
        import boto3

        self.policies = iam.principal_policies(self.template)
        if self.policy_edit:
            self.policy_edit(self.policies)
        admin = self._principals(boto3)
        self.s3_server = S3Server({k: who for who, (k, _) in self.keys.items()}, self.may, self._exists,
                                  frozenset(self.policies))
        self.s3_endpoint = self.s3_server.url
        self._set_env({"AWS_ENDPOINT_URL_S3": self.s3_endpoint})
        session = boto3.Session(aws_access_key_id=admin[0], aws_secret_access_key=admin[1], region_name=REGION)
        self.s3, self.sfn = session.client("s3"), session.client("stepfunctions")
        self.events_client, self.sqs = session.client("events"), session.client("sqs")
        for b in self.buckets.values():
            self.s3.create_bucket(Bucket=b)
        self.s3.put_bucket_versioning(Bucket=self.buckets["input"], VersioningConfiguration={"Status": "Enabled"})
        self.dead_letters = self.sqs.create_queue(QueueName="ExtractFailuresQueue")["QueueUrl"]
        self._event_sink()
        self.handlers = {f: self._load(f) for f in stack.functions(self.template).values()}
        self._count_logs()
        self.server = LambdaInvokeServer(self.handlers, self.run_as, self.may).start()
        self._set_env({"AWS_ENDPOINT_URL_LAMBDA": self.server.url})
        definition = (self.root / "statemachine" / "posters.asl.json").read_text()
        for var, value in stack.substitutions(self.template).items():
            if var == "ChildExecutionType":
                value = "STANDARD"                                  # moto runs STANDARD children only
            elif value.startswith("function:"):
                value = function_arn(value.split(":", 1)[1])
            definition = definition.replace("${%s}" % var, value)
        self.state_machine_arn = self.sfn.create_state_machine(
            name=f"{iam.STACK}-posters", definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{iam.STACK}-states")["stateMachineArn"]
        if self.enforce_iam:
            from moto.core.authorization import enable_iam_authentication

            from .patches import check_map_runs, scope_step_functions_requests
            scope_step_functions_requests()
            check_map_runs(self.may, self.state_machine_arn)
            self._iam = enable_iam_authentication()
            self._iam.__enter__()
        return self

    class _LogSink:
        """Where the handlers' log lines go here: counted (the usage report's log ingestion), not shown."""

        def __init__(self):
            self.bytes = 0

        def write(self, text: str) -> int:
            self.bytes += len(text.encode("utf-8"))
            return len(text)

        def flush(self) -> None:
            pass

    def _count_logs(self) -> None:
        self._logs = self._LogSink()
        lg = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "autoposter"))
        for h in lg.handlers:
            if isinstance(h, logging.StreamHandler):
                with h.lock:                    # not setStream: it flushes the old stream, which may be closed
                    h.stream = self._logs

    @property
    def log_bytes(self) -> int:
        return self._logs.bytes

    def _event_sink(self) -> None:
        """The application's bus, with a rule that copies every autoposter event to a queue (``events()``)."""
        self.events_client.create_event_bus(Name=self.event_bus)
        q = self.sqs.create_queue(QueueName="autoposter-events-sink")["QueueUrl"]
        self._queue = q
        arn = self.sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events_client.put_rule(Name="all", EventBusName=self.event_bus,
                                    EventPattern=json.dumps({"source": ["autoposter"]}))
        self.events_client.put_targets(Rule="all", EventBusName=self.event_bus, Targets=[{"Id": "q", "Arn": arn}])

    def events(self) -> list[dict]:
        """Every event the application sent so far (``detail-type`` and ``detail``), oldest first."""
        out = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=m["ReceiptHandle"])

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
        """Is there a current version (a delete marker is none: S3 answers as for a missing key)?"""
        from moto.s3.models import FakeDeleteMarker, s3_backends
        try:
            obj = s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys.get(key)
        except Exception:
            return False
        return obj is not None and not isinstance(obj, FakeDeleteMarker)

    def may(self, who: str, action: str, resource: str) -> bool:
        """Does ``who``'s policy allow ``action`` on ``resource`` (IAM's evaluation, as moto implements it)?"""
        if not self.enforce_iam:
            return True
        from moto.iam.access_control import IAMPolicy, PermissionResult

        results = [IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource) for doc in self.policies[who]]
        return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results

    def run_as(self, name: str, fn, event):
        """Call a handler with its role's credentials in the environment, as Lambda provides them."""
        pick = self.faults.get(name)
        if pick is not None and pick(event):
            raise InjectedFault(f"injected failure in {name}")
        key, secret = self.keys[name]
        saved = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = key, secret
        try:                                    # storage keeps one client per access key: per role here
            return fn(event, Context(name))
        finally:
            os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = saved

    def __exit__(self, *exc):
        if getattr(self, "_iam", None) is not None:
            self._iam.__exit__(None, None, None)
            self._iam = None
        for part in ("server", "s3_server"):
            if getattr(self, part, None) is not None:
                getattr(self, part).stop()
                setattr(self, part, None)
        if getattr(self, "mock", None) is not None:
            self.mock.stop()
            self.mock = None
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
        if Path(path).stat().st_size > LARGE:
            self._put_large(path, bucket, key, metadata or {})
        else:
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
                              "eTag": head["ETag"].strip('"'), "versionId": head.get("VersionId", ""),
                              "sequencer": "0A1B2C3D4E5F678901"}}}]}

    def _put_large(self, path, bucket: str, key: str, metadata: dict) -> None:
        """A film of gigabytes into moto's bucket, streamed to its spooled buffer (a single PUT holds 5 GB
        at most and moto would assemble a multipart upload in memory; the upload is not what is measured)."""
        import shutil
        from moto.s3.models import s3_backends
        backend = s3_backends[ACCOUNT]["aws"]
        obj = backend.put_object(bucket, key, b"")
        obj.set_metadata({f"x-amz-meta-{k.lower()}": v for k, v in metadata.items()})
        with obj.lock, open(path, "rb") as f:
            obj._value_buffer.seek(0)
            obj._value_buffer.truncate()
            shutil.copyfileobj(f, obj._value_buffer, 16 << 20)
            obj.contentsize = obj._value_buffer.tell()
            obj._etag = None

    def deliver(self, event: dict) -> dict:
        """Invoke extract_frames with the S3 event as S3's asynchronous invocation would: only if the
        function's resource-based policy lets S3 invoke it; an invocation that fails goes, with the
        function's role, to its on-failure destination (the dead-letter queue), as Lambda sends it."""
        status, headers, payload = self.server.invoke("extract_frames", json.dumps(event).encode(),
                                                      caller="s3")
        out = json.loads(payload)
        if status == 403:
            raise RuntimeError(f"S3 cannot invoke extract_frames: {out.get('message')}")
        if "X-Amz-Function-Error" in headers:
            self._dead_letter(event, out)
            raise RuntimeError(f"extract_frames failed: {out['errorType']}: {out['errorMessage']}")
        return out

    def _dead_letter(self, event: dict, error: dict) -> None:
        import boto3
        key, secret = self.keys["extract_frames"]
        sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret)
        body = {"requestContext": {"condition": "RetriesExhausted", "functionArn": function_arn("extract_frames")},
                "responsePayload": error, "requestPayload": event}
        sqs.send_message(QueueUrl=self.dead_letters, MessageBody=json.dumps(body))

    def dead_lettered(self) -> list[dict]:
        msgs = self.sqs.receive_message(QueueUrl=self.dead_letters, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in msgs]

    @contextlib.contextmanager
    def revoke(self, who: str, policy: int, statement: int):
        """Run with one statement of ``who``'s policies removed (the policy-mutation test), then restore it."""
        import boto3
        from moto.iam.models import iam_backends
        doc = self.policies[who][policy]
        saved = doc["Statement"].pop(statement)
        iam_client = boto3.client("iam", region_name=REGION, aws_access_key_id=self.keys["harness"][0],
                                  aws_secret_access_key=self.keys["harness"][1])
        user = iam_backends[ACCOUNT]["aws"].get_user(f"role-{who}")
        names = sorted(user.policies)
        try:
            with self._admin():
                for n in names:
                    iam_client.delete_user_policy(UserName=f"role-{who}", PolicyName=n)
                for i, d in enumerate(x for x in self.policies[who] if x["Statement"]):
                    iam_client.put_user_policy(UserName=f"role-{who}", PolicyName=f"p{i}",
                                               PolicyDocument=json.dumps({"Version": "2012-10-17", **d}))
            yield saved
        finally:
            doc["Statement"].insert(statement, saved)
            with self._admin():
                for n in sorted(user.policies):
                    iam_client.delete_user_policy(UserName=f"role-{who}", PolicyName=n)
                for i, d in enumerate(x for x in self.policies[who] if x["Statement"]):
                    iam_client.put_user_policy(UserName=f"role-{who}", PolicyName=f"p{i}",
                                               PolicyDocument=json.dumps({"Version": "2012-10-17", **d}))

    @contextlib.contextmanager
    def _admin(self):
        saved = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = self.keys["harness"]
        try:
            yield
        finally:
            os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = saved

    def start(self, execution_input: dict, name: str | None = None) -> str:
        """Start an execution by hand, as a person would from the console (a rerender, a rerun)."""
        kw = {"name": name} if name else {}
        return self.sfn.start_execution(stateMachineArn=self.state_machine_arn, input=json.dumps(execution_input),
                                        **kw)["executionArn"]

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

    def listing(self, bucket: str, prefix: str = "") -> list[str]:
        keys, token = [], None
        while True:
            kw = {"ContinuationToken": token} if token else {}
            page = self.s3.list_objects_v2(Bucket=self.buckets.get(bucket, bucket), Prefix=prefix, **kw)
            keys += [o["Key"] for o in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                return sorted(keys)

    def status(self, key: str) -> dict | None:
        """``videos/<key>/latest.json``: where an upload's posters are, or why there are none."""
        from autoposter_aws import keys
        try:
            return self.get_json("cdn", keys.status(key))
        except self.s3.exceptions.NoSuchKey:
            return None

    def get_json(self, bucket: str, key: str):
        return json.loads(self.s3.get_object(Bucket=self.buckets.get(bucket, bucket), Key=key)["Body"].read())

    def download(self, prefix: str, out_dir: str | Path) -> list[Path]:
        """Every object under a CDN ``prefix`` (a published set) into ``out_dir``."""
        out = Path(out_dir)
        files = []
        for key in self.listing("cdn", prefix):
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

    def s3_bytes_read(self) -> dict:
        """Bytes each principal read from S3 (GET bodies, ranged reads included)."""
        return {k: v for k, v in self.s3_server.app.bytes_out.items() if k not in ("harness", "setup", "anonymous")}
