"""S3 in a handful of calls; every other module goes through these.

botocore's errors are mapped to the typed errors of ``errors.py`` so the state machine
retries what is transient and nothing else. The SDK itself retries throttling a few
times first (standard retry mode).
"""
from __future__ import annotations

import functools
import json
import os

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError as BotoConnectionError

from .errors import TRANSIENT_CODES, S3AccessDenied, S3NotFound, S3Transient


def client(service: str):
    """One client per service per container; a session of its own reads the credentials the
    environment holds now (boto3's default session would keep the first ones it saw). Keyed by the
    access key too, so the local cloud, which runs each handler with its own role's keys, keeps one
    client per role instead of loading the service model again on every call."""
    return _client(service, os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SESSION_TOKEN", ""))


@functools.lru_cache(maxsize=64)
def _client(service: str, key_id: str, token: str):
    # checksums only where S3 requires them: computing one per PUT body cost publish ~7 ms a poster
    cfg = Config(retries={"mode": "standard", "max_attempts": 4}, request_checksum_calculation="when_required",
                 response_checksum_validation="when_required",
                 signature_version="s3v4" if service == "s3" else None)     # presigned URLs: SigV4, as S3 requires
    return boto3.session.Session().client(service, config=cfg)


client.cache_clear = _client.cache_clear


def s3():
    return client("s3")


def _typed(op: str, bucket: str, key: str, exc: Exception) -> Exception:
    where = f"{op} s3://{bucket}/{key}"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return S3AccessDenied(f"{where}: access denied ({code}); the function's role lacks this permission")
        if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
            return S3NotFound(f"{where}: no such object ({code})")
        if code in TRANSIENT_CODES or status.startswith("5"):
            return S3Transient(f"{where}: {code or status} (transient)")
        return exc
    if isinstance(exc, (BotoConnectionError, BotoCoreError)):
        return S3Transient(f"{where}: {type(exc).__name__}: {exc}")
    return exc


def _call(op: str, bucket: str, key: str, fn, **kw):
    try:
        return fn(**kw)
    except (ClientError, BotoCoreError) as exc:
        typed = _typed(op, bucket, key, exc)
        if typed is exc:
            raise
        raise typed from exc


def get_bytes(bucket: str, key: str) -> bytes:
    return _call("GetObject", bucket, key, s3().get_object, Bucket=bucket, Key=key)["Body"].read()


def get_range(bucket: str, key: str, start: int, end: int) -> bytes:
    """Bytes ``start``..``end`` (inclusive) of an object: one GET, for sniffing a file's kind."""
    try:
        return _call("GetObject", bucket, key, s3().get_object, Bucket=bucket, Key=key,
                     Range=f"bytes={start}-{end}")["Body"].read()
    except ClientError as exc:
        if start != 0 or not _unsatisfiable(exc):        # past the end of a non-empty object stays an error
            raise
        return b""                                                           # an empty object has no byte 0


def _unsatisfiable(exc: ClientError) -> bool:
    """S3 answers a range on an empty object (or past its end) with 416 InvalidRange."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return exc.response.get("Error", {}).get("Code") in ("InvalidRange", "416") or status == 416


def get_json(bucket: str, key: str):
    return json.loads(get_bytes(bucket, key))


def get_document(bucket: str, key: str, what: str, code: str, limit: int = 1 << 20):
    """A user's JSON document (an editor's overrides, feedback) or ``None`` when there is none: read with
    one ranged GET of at most ``limit`` + 1 bytes, and refused typed (``SettingsError`` with ``code``) when
    it is larger, not UTF-8, nested too deep or not JSON (NaN and Infinity included) — the checks the
    command line makes of the same files (``inputs.load_json_file``)."""
    from autoposter.errors import SettingsError
    from autoposter.inputs import LIMITS, json_depth, parse_json

    try:
        body = get_range(bucket, key, 0, limit)
    except S3NotFound:
        return None
    where = f"{what} s3://{bucket}/{key}"
    if len(body) > limit:
        raise SettingsError(f"{where} is over {limit:,} bytes (the limit)", code=code)
    try:
        text = body.decode("utf-8")
        if json_depth(text) > LIMITS["json_depth"]:
            raise SettingsError(f"{where} nests deeper than {LIMITS['json_depth']} levels", code=code)
        return parse_json(text)
    except (ValueError, RecursionError) as exc:
        raise SettingsError(f"{where} is not valid UTF-8 JSON ({str(exc).splitlines()[0][:80]})", code=code) from None


def get_json_or_none(bucket: str, key: str):
    """One GET; ``None`` when the object does not exist (no HEAD first)."""
    try:
        return get_json(bucket, key)
    except S3NotFound:
        return None


def put_bytes(bucket: str, key: str, data: bytes, content_type: str, cache: str | None = None) -> None:
    extra = {"CacheControl": cache} if cache else {}
    _call("PutObject", bucket, key, s3().put_object, Bucket=bucket, Key=key, Body=data, ContentType=content_type,
          **extra)


def put_json(bucket: str, key: str, doc, cache: str | None = None) -> None:
    put_bytes(bucket, key, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"),
              "application/json; charset=utf-8", cache)


def head(bucket: str, key: str) -> dict:
    return _call("HeadObject", bucket, key, s3().head_object, Bucket=bucket, Key=key)


def download(bucket: str, key: str, path: str, chunk: int = 8 << 20) -> None:
    """Streamed to disk in 8 MiB pieces (never the whole object in memory), one GET."""
    body = _call("GetObject", bucket, key, s3().get_object, Bucket=bucket, Key=key)["Body"]
    with open(path, "wb") as f:
        for part in body.iter_chunks(chunk):
            f.write(part)


def presigned_get(bucket: str, key: str, version_id: str | None = None, expires: int = 3600) -> str:
    """A URL OpenCV can read with Range requests (seeking), signed by this function's own role."""
    params = {"Bucket": bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
    return s3().generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


class S3Store:
    """The core's ``Store`` on a prefix of a bucket (a job's work in the work bucket)."""

    def __init__(self, bucket: str, prefix: str):
        self.bucket, self.prefix = bucket, prefix.rstrip("/") + "/"

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        put_bytes(self.bucket, self.prefix + key, data, content_type)

    def get(self, key: str, start: int | None = None, length: int | None = None) -> bytes:
        try:
            if start is None:
                return get_bytes(self.bucket, self.prefix + key)
            return get_range(self.bucket, self.prefix + key, start, start + (length or 1) - 1)
        except S3NotFound:
            raise KeyError(key) from None


class S3Publisher:
    """The core's ``Publisher`` on the CDN bucket: posters and gallery first, ``manifest.json`` last
    (a reader who finds the manifest finds every file it names), then the ``latest`` pointers."""

    def __init__(self, bucket: str, prefix: str, after=None):
        self.bucket, self.prefix, self.after = bucket, prefix.rstrip("/") + "/", after

    def publish(self, files: dict, manifest: dict) -> str:
        from autoposter.stores import dumps

        for rel, (data, ctype) in sorted(files.items(), key=lambda kv: kv[0] == "index.html"):
            cache = "public, max-age=31536000, immutable" if ctype.startswith("image/") else "public, max-age=60"
            put_bytes(self.bucket, self.prefix + rel, data, ctype, cache)
        put_bytes(self.bucket, self.prefix + "manifest.json", dumps(manifest), "application/json; charset=utf-8",
                  "public, max-age=60")
        if self.after:
            self.after(self.prefix)
        return f"s3://{self.bucket}/{self.prefix}"
