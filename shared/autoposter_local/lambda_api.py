"""The Lambda Invoke API on a local port, calling the real handlers in this process.

This is what ``sam local start-lambda`` is to Step Functions Local: moto's ASL interpreter
sends its ``lambda:invoke`` tasks here (``AWS_ENDPOINT_URL_LAMBDA``). Each call is first checked
against the calling role's policy (the state machine's, for the interpreter): a denied invoke is
403 ``AccessDeniedException``, which the interpreter reports as ``Lambda.AccessDeniedException`` —
an error named AccessDenied, never retried. Each handler runs with its own role's credentials,
one at a time, and its CPU time is measured (the usage report bills that, not wall-clock time).
"""
from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from .iam import ACCOUNT, REGION


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


class LambdaInvokeServer:
    """Answers the Lambda Invoke API; records each call's wall and CPU seconds."""

    def __init__(self, handlers: dict, run_as, may):
        self.handlers, self.run_as, self.may = handlers, run_as, may
        self.calls: list[tuple[str, bool]] = []
        self.errors: list[tuple[str, str, str]] = []          # (function, errorType, errorMessage) of failed calls
        self.durations: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
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
                for k, v in {"x-amzn-RequestId": str(uuid.uuid4()), **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def invoke(self, name: str, body: bytes, caller: str):
        fn = self.handlers.get(name)
        if fn is None:
            err = {"Type": "User", "message": f"Function not found: {name}"}
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, json.dumps(err).encode()
        if caller and not self.may(caller, "lambda:InvokeFunction", function_arn(name)):
            err = {"Type": "User", "message": f"AccessDenied: {caller} is not authorized to perform "
                                              f"lambda:InvokeFunction on {function_arn(name)}"}
            self.errors.append((name, "AccessDeniedException", err["message"]))
            return 403, {"x-amzn-ErrorType": "AccessDeniedException"}, json.dumps(err).encode()
        event = json.loads(body or b"{}")
        with self._lock:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                result = self.run_as(name, fn, event)
                ok, status, headers, payload = True, 200, {"X-Amz-Executed-Version": "$LATEST"}, \
                    json.dumps(result).encode()
            except Exception as exc:  # what Lambda reports for an unhandled error
                err = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                       "stackTrace": traceback.format_exc().splitlines()[-6:]}
                self.errors.append((name, type(exc).__name__, str(exc)[:500]))
                ok, status, headers, payload = False, 200, {"X-Amz-Function-Error": "Unhandled",
                                                            "X-Amz-Executed-Version": "$LATEST"}, \
                    json.dumps(err).encode()
            self.durations.setdefault(name, []).append(time.perf_counter() - t0)
            self.cpu.setdefault(name, []).append(time.thread_time() - c0)
            self.calls.append((name, ok))
            return status, headers, payload

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
