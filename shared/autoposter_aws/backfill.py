"""S14: backfill — start jobs for the videos already in a bucket, through the door an upload goes through.

    autoposter backfill s3://BUCKET/PREFIX/ --function NAME [--missing-only | --all] [--rate N]
                        [--state FILE] [--cdn-bucket NAME]

Each object is handed to the door function (``extract_frames``) as the S3 notification its upload
would have sent, and its answer read (the door only reads the header and starts the execution, so
waiting for it is short): the same checks, the same job keys, so an object whose job exists is a
duplicate and starts nothing. ``--missing-only`` (the default) skips, without calling the door,
objects whose CDN path already says ``published`` — with ``--cdn-bucket``; without it the door
itself answers ``duplicate`` for them. ``--all`` asks for every one (jobs that succeeded stay
duplicates unless their content or metadata changed). ``--rate`` starts at most N a second. The
state file records each object handed over (key and ETag), so an interrupted backfill resumes where
it stopped and never starts a job twice; a progress line and a summary (started, duplicates,
skipped, refused, failed) go to stderr.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

from autoposter.errors import SettingsError

SUFFIXES = (".mp4", ".MP4", ".mov", ".MOV", ".m4v", ".mkv", ".webm", ".ts", ".avi")   # the template's S3 filters


def parse_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or len(url) < 6:
        raise SettingsError(f"{url[:80]!r}: expected s3://BUCKET/PREFIX/", code="Settings::Invalid")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise SettingsError(f"{url[:80]!r}: no bucket", code="Settings::Invalid")
    return bucket, prefix


def notification(bucket: str, key: str, etag: str, size: int, region: str = "us-east-1") -> dict:
    """The S3 event an upload of ``key`` would have sent (key URL-encoded, as S3 sends it)."""
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region,
                         "eventName": "ObjectCreated:Backfill",
                         "s3": {"s3SchemaVersion": "1.0", "configurationId": "backfill",
                                "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag}}}]}


class State:
    """The objects already handed over, on disk after every one (atomic rewrite): a resume skips them."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None
        self.done: dict[str, str] = {}
        if self.path and self.path.is_file():
            try:
                self.done = dict(json.loads(self.path.read_text(encoding="utf-8"))["done"])
            except (OSError, ValueError, KeyError, TypeError):
                raise SettingsError(f"--state {self.path}: not a backfill state file", code="Settings::Invalid") from None

    def has(self, key: str, etag: str) -> bool:
        return self.done.get(key) == etag

    def add(self, key: str, etag: str) -> None:
        self.done[key] = etag
        if self.path:
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"done": self.done}, ensure_ascii=False))
            os.replace(tmp, self.path)


def objects(s3, bucket: str, prefix: str):
    token = None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, **kw)
        for o in page.get("Contents", []):
            yield o["Key"], o["ETag"].strip('"'), int(o["Size"])
        token = page.get("NextContinuationToken")
        if not token:
            return


def published(s3, cdn_bucket: str | None, key: str) -> bool:
    if not cdn_bucket:
        return False
    from . import keys
    try:
        doc = json.loads(s3.get_object(Bucket=cdn_bucket, Key=keys.status(key))["Body"].read())
    except Exception as exc:                    # no status yet (NoSuchKey), or unreadable: not published
        if "NoSuchKey" in str(type(exc).__name__) or "NoSuchKey" in str(exc) or "404" in str(exc):
            return False
        raise
    return doc.get("status") == "published"


def backfill(s3, url: str, invoke, mode: str = "missing", rate: float = 2.0, state: State | None = None,
             cdn_bucket: str | None = None, progress=None, region: str = "us-east-1") -> dict:
    """Hand every video under ``url`` to ``invoke`` (the door), at most ``rate`` a second; returns the counts."""
    bucket, prefix = parse_url(url)
    state = state or State(None)
    counts = {"started": 0, "duplicate": 0, "skipped": 0, "refused": 0, "failed": 0, "ignored": 0}
    todo = [(k, e, n) for k, e, n in objects(s3, bucket, prefix) if k.endswith(SUFFIXES)]
    gap = 1.0 / rate if rate > 0 else 0.0
    last = 0.0
    for i, (key, etag, size) in enumerate(todo):
        if state.has(key, etag) or (mode == "missing" and published(s3, cdn_bucket, key)):
            counts["skipped"] += 1
        else:
            wait = last + gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last = time.monotonic()
            status = invoke(notification(bucket, key, etag, size, region))
            counts[{"started": "started", "duplicate": "duplicate", "rejected": "refused",
                    "failed": "failed"}.get(status, "ignored")] += 1
            if status != "failed":                  # a failed hand-over is tried again when resumed
                state.add(key, etag)
        if progress:
            progress((i + 1) / len(todo), key[-40:])
    counts["objects"] = len(todo)
    return counts


def register(sub) -> None:
    b = sub.add_parser("backfill", help="start jobs for the videos already in a bucket (through the upload door)")
    b.add_argument("url", metavar="s3://BUCKET/PREFIX/")
    b.add_argument("--function", required=True, help="the door function's name (stack output ExtractFramesFunctionName)")
    which = b.add_mutually_exclusive_group()
    which.add_argument("--missing-only", dest="mode", action="store_const", const="missing",
                       help="skip objects whose CDN path says published (the default; needs --cdn-bucket to skip "
                            "without calling the door, which otherwise answers duplicate)")
    which.add_argument("--all", dest="mode", action="store_const", const="all", help="hand over every object")
    b.set_defaults(mode="missing")
    b.add_argument("--cdn-bucket", help="the CDN bucket, to know what is published (stack output CdnBucketName)")
    b.add_argument("--rate", type=float, default=2.0, help="objects handed over per second (default 2)")
    b.add_argument("--state", default=".autoposter-backfill.json", help="where progress is kept (resume)")
    b.set_defaults(fn=main)


def main(args) -> int:
    from .errors import run_operator
    return run_operator("backfill", _main, args)


def _main(args) -> int:
    if not 0 < args.rate <= 100:
        raise SettingsError(f"--rate {args.rate}: expected 0 < N ≤ 100 objects a second", code="Settings::Invalid")
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, ReadTimeoutError

    from autoposter.progress import Progress
    s3 = boto3.client("s3")
    # the door may sample a short video itself (its timeout is 300 s): wait for it, never invoke it twice
    lam = boto3.client("lambda", config=Config(read_timeout=330, retries={"total_max_attempts": 1}))

    def invoke(event: dict) -> str:
        try:
            return door_answer(lam.invoke(FunctionName=args.function, InvocationType="RequestResponse",
                                          Payload=json.dumps(event).encode()))
        except (ReadTimeoutError, BotoConnectionError):
            return "failed"
        except ClientError as exc:              # throttled or a service fault: this object, not the run
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("TooManyRequestsException", "ServiceException", "ResourceConflictException") \
                    or status >= 500:
                return "failed"
            raise

    bar = Progress("backfill", sys.stderr)
    counts = backfill(s3, args.url, invoke, args.mode, args.rate, State(args.state), args.cdn_bucket, bar,
                      s3.meta.region_name or "us-east-1")
    bar.done(f"{counts['objects']} objects")
    print(f"backfill: {counts['started']} started by {args.function}, {counts['duplicate']} duplicates, "
          f"{counts['skipped']} skipped (published or handed over before), {counts['refused']} refused "
          f"(the door's reasons are in each upload's videos/<key>/latest.json), {counts['failed']} failed; "
          f"state in {args.state}", file=sys.stderr)
    return 0 if not counts["failed"] else 1


def door_answer(response: dict) -> str:
    """What the door said of one object, from a synchronous Lambda invoke's response:
    ``started``, ``duplicate``, ``rejected``, ``ignored`` or ``failed`` (the function raised)."""
    if response.get("FunctionError"):
        return "failed"
    try:
        body = json.loads(response["Payload"].read() or b"{}")
        return str((body.get("results") or [{}])[0].get("status", "ignored"))
    except (ValueError, AttributeError, TypeError, KeyError, IndexError):
        return "ignored"
