"""Teardown: empty the stack's buckets — every object version and delete marker — so `sam delete` can
remove them (CloudFormation deletes only empty buckets).

    autoposter teardown --stack autoposter [--yes]

The buckets are the stack's own outputs (``InputBucketName``, ``WorkBucketName``, ``CdnBucketName``),
never a name typed by hand; without ``--yes`` it lists what it would delete and stops. Deletion goes
1,000 keys a request (``DeleteObjects``) over ``ListObjectVersions`` pages, so versioned buckets
(the input bucket keeps old versions until its lifecycle rule expires them) empty completely.
"""
from __future__ import annotations

import sys

from autoposter.errors import SettingsError

OUTPUTS = ("InputBucketName", "WorkBucketName", "CdnBucketName")


def versions(s3, bucket: str):
    """(key, version id) of every object version and delete marker in ``bucket``."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            yield v["Key"], v["VersionId"]


def empty_bucket(s3, bucket: str, progress=None) -> int:
    """Delete every version and delete marker in ``bucket``; returns how many were deleted. Each round
    lists the first page again (at most 1,000) and deletes it, until a listing comes back empty: no
    pagination marker is relied on while keys vanish under it. Per-key errors are raised (a bucket
    half-emptied says so)."""
    done = 0
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=1000)
        batch = [(v["Key"], v["VersionId"]) for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if not batch:
            return done
        for i in range(0, len(batch), 1000):
            part = batch[i:i + 1000]
            r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k, "VersionId": v} for k, v in part],
                                                         "Quiet": True})
            if r.get("Errors"):
                e = r["Errors"][0]
                raise RuntimeError(f"s3://{bucket}/{e.get('Key')}: {e.get('Code')}: {e.get('Message')} "
                                   f"({len(r['Errors'])} keys not deleted)")
            done += len(part)
            if progress:
                progress(done)


def stack_buckets(cfn, stack: str) -> list[str]:
    outs = {o["OutputKey"]: o["OutputValue"]
            for o in cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
    missing = [k for k in OUTPUTS if k not in outs]
    if missing:
        raise SettingsError(f"stack {stack} has no output {', '.join(missing)} (is it an autoposter stack?)",
                            code="Settings::Invalid")
    return [outs[k] for k in OUTPUTS]


def register(sub) -> None:
    t = sub.add_parser("teardown", help="empty the stack's buckets (versions included) before `sam delete`")
    t.add_argument("--stack", required=True, help="the stack's name (sam deploy's --stack-name)")
    t.add_argument("--yes", action="store_true", help="delete; without it, only say what would go")
    t.set_defaults(fn=main)


def main(args) -> int:
    from .errors import run_operator
    return run_operator("teardown", _main, args)


def _main(args) -> int:
    import boto3
    s3 = boto3.client("s3")
    buckets = stack_buckets(boto3.client("cloudformation"), args.stack)
    for b in buckets:
        if not args.yes:
            n = sum(1 for _ in versions(s3, b))
            print(f"s3://{b}: {n} object versions and delete markers would be deleted")
            continue
        n = empty_bucket(s3, b, lambda k, b=b: print(f"\rs3://{b}: {k} deleted", end="", file=sys.stderr))
        print(f"s3://{b}: emptied ({n} versions and delete markers)")
    if not args.yes:
        print("nothing deleted; run again with --yes, then `sam delete --stack-name " + args.stack + "`")
    return 0
