"""Settings of the serverless application, from environment variables (set by template.yaml).

Only what the cloud adds lives here (bucket names, the state machine, the door's limits, where
events go); the method's settings — including the batch size and the tolerated failure share,
which the command line uses too — are ``autoposter.settings.Settings``. Both are read by the one
parser in ``autoposter.settings`` (``env_value``): a bad value is ``Settings::Invalid`` naming
the variable. Every variable and its default is in the README ("Function settings").
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from autoposter.settings import env_value


def _split(v: str) -> tuple:
    return tuple(x.strip() for x in v.split(",") if x.strip())


@dataclass(frozen=True)
class Config:
    input_bucket: str           # INPUT_BUCKET: events for any other bucket are ignored
    work_bucket: str
    cdn_bucket: str
    state_machine_arn: str
    templates: tuple            # TEMPLATES, comma-separated (default "streaming")
    scenarios: tuple | None     # SCENARIOS, comma-separated (default: the templates' own)
    link_base: str              # LINK_BASE: link = LINK_BASE + key, unless the object has x-amz-meta-link
    max_upload_bytes: int       # MAX_UPLOAD_BYTES: larger uploads are refused from their HeadObject
    max_video_seconds: float    # MAX_VIDEO_SECONDS: longer videos are refused from their header
    cdn_base_url: str           # CDN_BASE_URL: https://<distribution>/ (URLs in events and status)
    event_bus: str              # EVENT_BUS: where completion events go ("" = none)
    max_attempts: int           # MAX_ATTEMPTS: re-uploads of a failed job that start a new attempt
    map_concurrency: int        # MAP_CONCURRENCY: children each Distributed Map runs at once

    @classmethod
    def from_env(cls, env=None) -> "Config":
        e = os.environ if env is None else env
        return cls(
            input_bucket=e.get("INPUT_BUCKET", ""),
            work_bucket=e.get("WORK_BUCKET", ""),
            cdn_bucket=e.get("CDN_BUCKET", ""),
            state_machine_arn=e.get("STATE_MACHINE_ARN", ""),
            templates=_split(e.get("TEMPLATES", "streaming")) or ("streaming",),
            scenarios=_split(e.get("SCENARIOS", "")) or None,
            link_base=e.get("LINK_BASE", "https://example.com/videos/"),
            max_upload_bytes=env_value(e, "MAX_UPLOAD_BYTES", 5 << 40, (1, 5 << 40)),
            max_video_seconds=env_value(e, "MAX_VIDEO_SECONDS", 4 * 3600.0, (1, 48 * 3600.0)),
            cdn_base_url=e.get("CDN_BASE_URL", ""),
            event_bus=e.get("EVENT_BUS", ""),
            max_attempts=env_value(e, "MAX_ATTEMPTS", 20, (1, 1000)),
            map_concurrency=env_value(e, "MAP_CONCURRENCY", 40, (1, 10000)),
        )
