"""The contract between the states: what the planner starts, what each Map item carries.

One dataclass per payload, parsed where it arrives: a payload that does not match is
``Payload::Invalid`` — typed, so the state machine does not retry it (retrying cannot mend a
malformed input). ``events/*.json`` are instances of these, made by scripts/make_events.py.
The frames themselves never travel: items name where they are (a segment's pack, a byte range).
"""
from __future__ import annotations

import json

from dataclasses import dataclass, field

from autoposter.errors import AutoposterError
from autoposter.frames import Plan, Segment
from autoposter.video import VideoHeader
from autoposter.sampling import FrameRef


class PayloadInvalid(AutoposterError):
    code = "Payload::Invalid"


def _get(d: dict, key: str, kind, where: str, default=...):
    if not isinstance(d, dict) or key not in d:
        if default is not ...:
            return default
        raise PayloadInvalid(f"{where}: {key} is missing")
    v = d[key]
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if not isinstance(v, kind) or (kind is not bool and isinstance(v, bool)):
        raise PayloadInvalid(f"{where}: {key} is {type(v).__name__}, expected {getattr(kind, '__name__', kind)}")
    return v


def _parse(where: str, fn, value):
    try:
        return fn(value)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise PayloadInvalid(f"{where}: {type(exc).__name__}: {exc}"[:300]) from None


@dataclass(frozen=True)
class Source:
    """The upload: bucket, key and the version read (a re-upload mid-job never mixes two files)."""

    bucket: str
    key: str
    etag: str = ""
    version_id: str | None = None

    def to_dict(self) -> dict:
        return {"bucket": self.bucket, "key": self.key, "etag": self.etag, "version_id": self.version_id}

    @classmethod
    def from_dict(cls, d: dict) -> "Source":
        return cls(_get(d, "bucket", str, "source"), _get(d, "key", str, "source"),
                   _get(d, "etag", str, "source", ""), d.get("version_id") if isinstance(d, dict) else None)


@dataclass(frozen=True)
class JobRef:
    """What every state of one job knows: its id, where its work lives, what it renders."""

    job_id: str
    work_bucket: str
    store: str                    # prefix of the job's work in the work bucket (jobs/<job>/<settings>/)
    templates: tuple
    scenarios: tuple

    @classmethod
    def from_dict(cls, d: dict, where: str = "input") -> "JobRef":
        return cls(_get(d, "job_id", str, where), _get(d, "work_bucket", str, where), _get(d, "store", str, where),
                   tuple(_get(d, "templates", list, where)), tuple(_get(d, "scenarios", list, where)))

    def to_dict(self) -> dict:
        return {"job_id": self.job_id, "work_bucket": self.work_bucket, "store": self.store,
                "templates": list(self.templates), "scenarios": list(self.scenarios)}


@dataclass(frozen=True)
class ExecutionInput:
    """What the planner starts an execution with. Long videos carry ``plan`` (the Extract map runs
    over its segments); short ones were sampled by the planner and carry ``sampling`` already."""

    ref: JobRef
    source: Source
    job: dict                     # Job.to_dict()
    cdn_prefix: str               # videos/<key>/ — where this upload's posters and status live
    tolerated_failure: float      # the Maps' ToleratedFailurePercentage and publish's, one number
    concurrency: int = 40         # children each Map runs at once (MapConcurrency)
    plan: dict | None = None
    sampling: dict | None = None  # {"batches": [{"batch", "frames"}], "frames": n}

    @classmethod
    def from_dict(cls, d: dict) -> "ExecutionInput":
        plan = d.get("plan")
        if plan is not None:
            _parse("input.plan", Plan.from_dict, plan)
        smp = d.get("sampling")
        if smp is not None:
            _parse("input.sampling", lambda s: [Batch.from_dict(b) for b in s["batches"]], smp)
        return cls(JobRef.from_dict(d), Source.from_dict(_get(d, "source", dict, "input")),
                   _get(d, "job", dict, "input"), _get(d, "cdn_prefix", str, "input"),
                   _get(d, "tolerated_failure", float, "input"), _get(d, "concurrency", int, "input", 40), plan, smp)

    def to_dict(self) -> dict:
        out = {**self.ref.to_dict(), "source": self.source.to_dict(), "job": self.job, "cdn_prefix": self.cdn_prefix,
               "tolerated_failure": self.tolerated_failure, "concurrency": self.concurrency}
        if self.plan is not None:
            out["plan"] = self.plan
        if self.sampling is not None:
            out["sampling"] = self.sampling
        return out


@dataclass(frozen=True)
class SegmentItem:
    """What the Extract map hands ``extract_segment``: the job, the upload, the plan's grid, one segment."""

    ref: JobRef
    source: Source
    plan: Plan                    # the header and grid, holding just this item's segment
    segment: int

    @classmethod
    def from_dict(cls, d: dict) -> "SegmentItem":
        seg = _parse("item.segment", Segment.from_dict, _get(d, "segment", dict, "item"))
        scan = _get(d, "scan", str, "item")             # the planner's choice: every frame, or windows (a keys
        if scan not in ("full", "windows"):             # plan is one segment, which the door reads itself)
            raise PayloadInvalid(f"item.scan: {scan[:20]!r} is not full or windows")
        plan = _parse("item", lambda x: Plan(VideoHeader.from_dict(x["header"]), float(x["rate"]),
                                             float(x["probe_rate"]), (seg,), scan,
                                             tuple(sorted(float(t) for t in x["pinned"]))), d)
        if seg.index < 0:
            raise PayloadInvalid(f"item.segment: index {seg.index} is not a segment")
        return cls(JobRef.from_dict(d, "item"), Source.from_dict(_get(d, "source", dict, "item")), plan, seg.index)


@dataclass(frozen=True)
class Batch:
    batch: int
    frames: tuple

    @classmethod
    def from_dict(cls, d: dict) -> "Batch":
        return cls(_get(d, "batch", int, "batch"),
                   tuple(_parse("batch.frames", FrameRef.from_dict, f) for f in _get(d, "frames", list, "batch")))

    def to_dict(self) -> dict:
        return {"batch": self.batch, "frames": [f.to_dict() for f in self.frames]}


@dataclass(frozen=True)
class MapItem:
    """What the Analyse map hands ``analyse`` (and, with ``error``, ``batch_failed``)."""

    ref: JobRef
    batch: Batch
    error: dict = field(default_factory=dict)     # the Catch's {"Error", "Cause"}

    @classmethod
    def from_dict(cls, d: dict) -> "MapItem":
        return cls(JobRef.from_dict(d, "item"), Batch.from_dict(_get(d, "batch", dict, "item")),
                   dict(d.get("error") or {}))


@dataclass(frozen=True)
class Rerender:
    """A person's console input: render a finished job again from its stored analysis — other
    templates, title, tagline, link, scenarios or top k — without extracting or analysing."""

    job_id: str
    changes: dict

    FIELDS = ("templates", "scenarios", "title", "tagline", "link", "top_k", "meta", "languages", "overrides",
              "variants")

    @classmethod
    def from_dict(cls, d: dict) -> "Rerender":
        r = _get(d, "rerender", dict, "input")
        job = _get(r, "job", str, "rerender")
        unknown = set(r) - {"job", *cls.FIELDS}
        if unknown:
            raise PayloadInvalid(f"rerender: unknown field(s) {', '.join(sorted(unknown))} (expected job and any of "
                                 f"{', '.join(cls.FIELDS)})")
        types = {"templates": list, "scenarios": list, "title": str, "tagline": str, "link": str, "top_k": int,
                 "meta": dict, "languages": dict, "overrides": dict, "variants": int}
        for k, want in types.items():
            v = r.get(k)
            if v is None:
                continue
            if not isinstance(v, want) or isinstance(v, bool) or \
                    (want is list and not all(isinstance(x, str) for x in v)):
                raise PayloadInvalid(f"rerender.{k}: expected {'a list of names' if want is list else want.__name__}, "
                                     f"got {json.dumps(v)[:60]}")
        if r.get("variants") is not None and not 1 <= r["variants"] <= 3:
            raise PayloadInvalid(f"rerender.variants: {r['variants']} (expected 1 to 3)")
        if r.get("top_k") is not None and not 1 <= r["top_k"] <= 50:
            raise PayloadInvalid(f"rerender.top_k: {r['top_k']} (expected 1 to 50)")
        return cls(job, {k: v for k, v in r.items() if k != "job"})
