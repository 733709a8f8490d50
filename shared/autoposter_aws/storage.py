"""S3 in a handful of calls; every other module goes through these."""
from __future__ import annotations

import functools
import json

import boto3
from botocore.exceptions import ClientError


@functools.lru_cache(maxsize=None)
def client(service: str):
    return boto3.client(service)


def s3():
    return client("s3")


def get_bytes(bucket: str, key: str) -> bytes:
    return s3().get_object(Bucket=bucket, Key=key)["Body"].read()


def get_json(bucket: str, key: str):
    return json.loads(get_bytes(bucket, key))


def put_bytes(bucket: str, key: str, data: bytes, content_type: str, cache: str | None = None) -> None:
    extra = {"CacheControl": cache} if cache else {}
    s3().put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, **extra)


def put_json(bucket: str, key: str, doc, cache: str | None = None) -> None:
    put_bytes(bucket, key, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"),
              "application/json; charset=utf-8", cache)


def exists(bucket: str, key: str) -> bool:
    try:
        s3().head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def head(bucket: str, key: str) -> dict:
    return s3().head_object(Bucket=bucket, Key=key)


def download(bucket: str, key: str, path: str) -> None:
    """Streamed to disk in parts (never the whole object in memory)."""
    s3().download_file(bucket, key, path)


def list_keys(bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def copy(src_bucket: str, src_key: str, bucket: str, key: str, content_type: str, cache: str | None = None) -> None:
    extra = {"CacheControl": cache} if cache else {}
    s3().copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": src_bucket, "Key": src_key},
                     MetadataDirective="REPLACE", ContentType=content_type, **extra)
