"""Settings of the serverless application, from environment variables (set by template.yaml).

Every variable has a documented default (README, "Function settings"); a bad value is a
``Settings::Invalid`` error naming the variable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from autoposter.errors import SettingsError


def _num(env, name: str, default, kind=int, lo=None, hi=None):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        v = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}", code="Settings::Invalid") from None
    if v != v or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise SettingsError(f"{name}={raw!r} is out of range [{lo}, {hi}]", code="Settings::Invalid")
    return v


@dataclass(frozen=True)
class Config:
    input_bucket: str           # INPUT_BUCKET: events for any other bucket are ignored
    work_bucket: str
    cdn_bucket: str
    state_machine_arn: str
    templates: tuple            # TEMPLATES, comma-separated (default "streaming")
    scenarios: tuple | None     # SCENARIOS, comma-separated (default: the templates' own)
    link_base: str              # LINK_BASE: link = LINK_BASE + key, unless the object has x-amz-meta-link
    batch_size: int             # BATCH_SIZE: frames per Map item (default 30; 1 works)
    tolerated_failure: float    # TOLERATED_FAILURE_PERCENT of frames that may fail (default 20)
    max_upload_bytes: int       # MAX_UPLOAD_BYTES: larger uploads are refused before download (4 GiB)
    max_video_seconds: float    # MAX_VIDEO_SECONDS: longer videos are refused before decoding (5400)
    fault_inject: str           # FAULT_INJECT: test hook, "" (off), "all" or batch numbers "0,3"

    @classmethod
    def from_env(cls, env=None) -> "Config":
        e = os.environ if env is None else env
        split = lambda v: tuple(x.strip() for x in v.split(",") if x.strip())  # noqa: E731
        return cls(
            input_bucket=e.get("INPUT_BUCKET", ""),
            work_bucket=e.get("WORK_BUCKET", ""),
            cdn_bucket=e.get("CDN_BUCKET", ""),
            state_machine_arn=e.get("STATE_MACHINE_ARN", ""),
            templates=split(e.get("TEMPLATES", "streaming")) or ("streaming",),
            scenarios=split(e.get("SCENARIOS", "")) or None,
            link_base=e.get("LINK_BASE", "https://example.com/videos/"),
            batch_size=_num(e, "BATCH_SIZE", 30, int, 1, 200),
            tolerated_failure=_num(e, "TOLERATED_FAILURE_PERCENT", 20.0, float, 0, 100),
            max_upload_bytes=_num(e, "MAX_UPLOAD_BYTES", 4 << 30, int, 1),
            max_video_seconds=_num(e, "MAX_VIDEO_SECONDS", 5400.0, float, 1),
            fault_inject=e.get("FAULT_INJECT", ""),
        )
