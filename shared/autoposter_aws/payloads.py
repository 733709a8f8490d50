"""The contract between the states: what extraction starts, what each Map item carries.

One dataclass per payload, parsed where it arrives: a payload that does not match is
``Payload::Invalid`` — typed, so the state machine does not retry it (retrying cannot mend a
malformed input). ``events/*.json`` are instances of these, made by scripts/make_events.py.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from autoposter.errors import AutoposterError


class PayloadInvalid(AutoposterError):
    code = "Payload::Invalid"


def _get(d: dict, key: str, kind, where: str):
    if not isinstance(d, dict) or key not in d:
        raise PayloadInvalid(f"{where}: {key} is missing")
    v = d[key]
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if not isinstance(v, kind) or (kind is not bool and isinstance(v, bool)):
        raise PayloadInvalid(f"{where}: {key} is {type(v).__name__}, expected {getattr(kind, '__name__', kind)}")
    return v


@dataclass(frozen=True)
class FrameRef:
    """One candidate frame of a batch: its index in the video, time, shot, and whether it follows a cut."""

    index: int
    time: float
    after_cut: bool = False
    shot: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "FrameRef":
        return cls(_get(d, "index", int, "frame"), _get(d, "time", float, "frame"),
                   bool(d.get("after_cut", False)), int(d.get("shot", 0)))


@dataclass(frozen=True)
class Batch:
    """A Map item's frames: ``key`` is the tar of their JPEGs in the work bucket."""

    batch: int
    key: str
    frames: tuple = ()

    @classmethod
    def from_dict(cls, d: dict) -> "Batch":
        return cls(_get(d, "batch", int, "batch"), _get(d, "key", str, "batch"),
                   tuple(FrameRef.from_dict(f) for f in _get(d, "frames", list, "batch")))

    def to_dict(self) -> dict:
        return asdict(self) | {"frames": [asdict(f) for f in self.frames]}


@dataclass(frozen=True)
class MapItem:
    """What the Distributed Map hands ``analyse`` (and, with ``error``, ``batch_failed``)."""

    job_id: str
    work_bucket: str
    scenarios: tuple
    templates: tuple
    batch: Batch
    error: dict = field(default_factory=dict)     # the Catch's {"Error", "Cause"}

    @classmethod
    def from_dict(cls, d: dict) -> "MapItem":
        return cls(_get(d, "job_id", str, "item"), _get(d, "work_bucket", str, "item"),
                   tuple(_get(d, "scenarios", list, "item")), tuple(_get(d, "templates", list, "item")),
                   Batch.from_dict(_get(d, "batch", dict, "item")), dict(d.get("error") or {}))


@dataclass(frozen=True)
class ExecutionInput:
    """What ``extract_frames`` starts the execution with; the Map reads ``batches``, publish all of it."""

    job_id: str
    work_bucket: str
    scenarios: tuple
    templates: tuple
    batches: tuple
    job: dict                     # {"job": Job.to_dict(), "video": facts, "rejected": sampling rejections}

    @classmethod
    def from_dict(cls, d: dict) -> "ExecutionInput":
        job = _get(d, "job", dict, "input")
        for k in ("job", "video", "rejected"):
            _get(job, k, (dict, list), "input.job")
        return cls(_get(d, "job_id", str, "input"), _get(d, "work_bucket", str, "input"),
                   tuple(_get(d, "scenarios", list, "input")), tuple(_get(d, "templates", list, "input")),
                   tuple(Batch.from_dict(b) for b in _get(d, "batches", list, "input")), job)

    def to_dict(self) -> dict:
        return {"job_id": self.job_id, "work_bucket": self.work_bucket, "scenarios": list(self.scenarios),
                "templates": list(self.templates), "batches": [b.to_dict() for b in self.batches],
                "batch_count": len(self.batches), "frames": sum(len(b.frames) for b in self.batches),
                "job": self.job}
