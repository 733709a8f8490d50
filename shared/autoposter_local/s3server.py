"""moto's S3 API on a real HTTP port, behind a middleware that counts what each principal asks.

Every S3 request of a local-cloud run crosses this endpoint: the handlers' boto3 calls and
OpenCV's Range reads through presigned URLs alike. ``CountingApp`` counts requests by
(principal, operation) and the bytes each principal read (the usage report's S3 lines); the
principal is the access key's owner, from the SigV4 ``Authorization`` header or, for a
presigned URL, its ``X-Amz-Credential`` query parameter.

It also applies two things S3 does that moto 5.2.5 leaves out:

* a GET or HEAD of a missing key by a principal without ``s3:ListBucket`` on the bucket is
  answered 403, not 404;
* a presigned URL is authorised as its signer: moto's IAM check reads only the ``Authorization``
  header, so presigned GETs and HEADs (OpenCV's Range reads) are answered here — the signer's
  policy must allow ``s3:GetObject`` (and ``s3:GetObjectVersion`` for a version), the URL must
  not have expired, and a ``Range`` header gets a 206 with exactly those bytes.
"""
from __future__ import annotations

import threading
from collections import Counter
from urllib.parse import parse_qs


CHUNK = 64 * 1024
SEND_BUFFER = 256 * 1024


def s3_operation(method: str, path: str, query: str) -> str:
    """The S3 API operation of a path-style request (enough for costing)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) <= 1:
        if method == "GET":
            if "versions" in query:
                return "ListObjectVersions"
            return "ListObjectsV2" if "list-type=2" in query else "ListObjects"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, method)
    if "uploads" in query or "uploadId" in query:
        return {"POST": "MultipartUpload", "PUT": "UploadPart"}.get(method, "MultipartUpload")
    return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject",
            "POST": "PostObject"}.get(method, method)


def bucket_key(path: str) -> tuple[str, str]:
    """Bucket and key of a path-style request (WSGI hands the path as latin-1-decoded bytes)."""
    raw = path.encode("latin-1", "replace").decode("utf-8", "replace")
    bucket, _, key = raw.lstrip("/").partition("/")
    return bucket, key


def access_key(environ) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        return auth.split("Credential=")[1].split("/")[0]
    cred = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    return cred[0].split("/")[0] if cred else "anonymous"


class CountingApp:
    """WSGI middleware: requests by (principal, operation), bytes sent by principal; ``may`` and
    ``exists`` implement the missing-key rule for the ``guarded`` principals (the roles)."""

    def __init__(self, app, principals: dict, may=None, exists=None, guarded=frozenset()):
        self.app, self.principals, self.calls = app, principals, Counter()
        self.bytes_out: Counter = Counter()
        self.may, self.exists, self.guarded = may, exists, guarded
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        op = s3_operation(environ.get("REQUEST_METHOD", ""), path, environ.get("QUERY_STRING", ""))
        key = access_key(environ)
        who = self.principals.get(key, key)
        with self.lock:
            self.calls[(who, op)] += 1
        if op in ("GetObject", "HeadObject") and self.may and who in self.guarded:
            bucket, obj = bucket_key(path)
            if not self.exists(bucket, obj) and not self.may(who, "s3:ListBucket", f"arn:aws:s3:::{bucket}"):
                body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                        b"<Message>Access Denied (no s3:ListBucket: a missing key reads as denied)</Message></Error>")
                start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                                 ("Content-Length", str(len(body)))])
                return [body]
        presigned = "X-Amz-Credential=" in environ.get("QUERY_STRING", "")
        ranged = op == "GetObject" and environ.get("HTTP_RANGE", "").startswith("bytes=")
        if op in ("GetObject", "HeadObject") and (presigned or ranged) and self.may and who in self.guarded:
            return self._counted(self._serve(environ, start_response, who, path, presigned), who)
        out = self.app(environ, start_response)
        if op == "GetObject":
            return self._counted(out, who)
        return out

    def _serve(self, environ, start_response, who: str, path: str, presigned: bool):
        """A presigned read, or a ranged GET, answered from moto's object without loading all of it (a
        film is gigabytes): the signer's policy decides, a Range gets exactly its bytes."""
        from datetime import datetime, timezone

        from moto.s3.models import s3_backends

        q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        bucket, key = bucket_key(path)
        version = q.get("versionId")

        def deny(code: str, message: str, status: str = "403 Forbidden"):
            body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                    f"<Message>{message}</Message></Error>").encode()
            start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]

        if presigned:
            signed = datetime.strptime(q.get("X-Amz-Date", "19700101T000000Z"),
                                       "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            if (datetime.now(timezone.utc) - signed).total_seconds() > int(q.get("X-Amz-Expires", "0")):
                return deny("AccessDenied", "Request has expired")
        arn = f"arn:aws:s3:::{bucket}/{key}"
        for action in ("s3:GetObject",) + (("s3:GetObjectVersion",) if version else ()):
            if not self.may(who, action, arn):
                return deny("AccessDenied", f"{who} is not authorized to perform {action} on {arn}")
        try:
            obj = s3_backends["123456789012"]["aws"].get_object(bucket, key, version_id=version)
        except Exception:
            obj = None
        if obj is None:
            if self.may(who, "s3:ListBucket", f"arn:aws:s3:::{bucket}"):
                return deny("NoSuchKey", "The specified key does not exist.", "404 Not Found")
            return deny("AccessDenied", "Access Denied")
        size = obj.size
        headers = [("Accept-Ranges", "bytes"), ("Content-Type", "application/octet-stream"), ("ETag", obj.etag)]
        rng = environ.get("HTTP_RANGE", "")
        status, lo, hi = "200 OK", 0, size - 1
        if rng.startswith("bytes="):
            a, _, b = rng[6:].split(",")[0].partition("-")
            if a:
                lo, hi = int(a), min(size - 1, int(b)) if b else size - 1
            elif b:
                lo, hi = max(0, size - int(b)), size - 1
            if lo >= size:
                start_response("416 Requested Range Not Satisfiable", [("Content-Range", f"bytes */{size}"),
                                                                     ("Content-Length", "0")])
                return [b""]
            status = "206 Partial Content"
            headers.append(("Content-Range", f"bytes {lo}-{hi}/{size}"))
        headers.append(("Content-Length", str(hi + 1 - lo)))
        start_response(status, headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return []
        # in pieces, as S3 streams: a reader that closes the connection early (FFmpeg seeking) stops it
        return _pieces(obj, lo, hi)

    def _counted(self, body, who: str):
        try:
            for chunk in body:
                with self.lock:
                    self.bytes_out[who] += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close:
                close()


def _pieces(obj, lo: int, hi: int):
    """Bytes lo..hi of a moto object, read from its spooled buffer a piece at a time."""
    pos = lo
    while pos <= hi:
        with obj.lock:
            obj._value_buffer.seek(pos)
            piece = obj._value_buffer.read(min(CHUNK, hi + 1 - pos))
        if not piece:
            return
        pos += len(piece)
        yield piece


class S3Server:
    """moto's S3 API on a real HTTP port, behind ``CountingApp``."""

    def __init__(self, principals: dict, may=None, exists=None, guarded=frozenset()):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self.app = CountingApp(DomainDispatcherApplication(create_backend_app), principals, may, exists, guarded)
        self.server = make_server("127.0.0.1", 0, self.app, True, request_handler=MotoRequestHandler)
        # a send buffer about S3's in-flight window, so a reader that stops early is not counted as having
        # read what loopback's large default buffers would have swallowed (accepted sockets inherit it)
        import socket
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join()
