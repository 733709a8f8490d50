"""Settings of the serverless application, from environment variables (set by template.yaml)."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    work_bucket: str
    cdn_bucket: str
    state_machine_arn: str
    templates: tuple            # TEMPLATES, comma-separated (default "streaming")
    scenarios: tuple | None     # SCENARIOS, comma-separated (default: the templates' own)
    link_base: str              # LINK_BASE: link = LINK_BASE + key, unless the object has x-amz-meta-link
    inline_limit: int           # INLINE_MAP_LIMIT: up to this many frames run in an inline Map (default 40)
    tolerated_failure: float    # TOLERATED_FAILURE_PERCENT of frames that may fail (default 20)
    fault_detect: str           # FAULT_INJECT_DETECT: test hook, "" (off), "all" or frame indexes "0,3"

    @classmethod
    def from_env(cls, env=None) -> "Config":
        e = os.environ if env is None else env
        split = lambda v: tuple(x.strip() for x in v.split(",") if x.strip())  # noqa: E731
        return cls(
            work_bucket=e.get("WORK_BUCKET", ""),
            cdn_bucket=e.get("CDN_BUCKET", ""),
            state_machine_arn=e.get("STATE_MACHINE_ARN", ""),
            templates=split(e.get("TEMPLATES", "streaming")) or ("streaming",),
            scenarios=split(e.get("SCENARIOS", "")) or None,
            link_base=e.get("LINK_BASE", "https://example.com/videos/"),
            inline_limit=int(e.get("INLINE_MAP_LIMIT", "40")),
            tolerated_failure=float(e.get("TOLERATED_FAILURE_PERCENT", "20")),
            fault_detect=e.get("FAULT_INJECT_DETECT", ""),
        )
