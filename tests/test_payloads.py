"""The contract between the states: every event in events/ parses as its payload, round-trips, and a
malformed payload is a typed error the state machine does not retry."""
import json

import pytest

from autoposter_aws.payloads import ExecutionInput, MapItem, PayloadInvalid, Rerender, SegmentItem
from conftest import ROOT

EVENTS = ROOT / "events"


def event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_the_documented_events_are_instances_of_the_payloads():
    item = MapItem.from_dict(event("analyse"))
    assert item.batch.frames and item.ref.templates and item.ref.scenarios
    assert all(f.length > 0 and f.offset >= 512 for f in item.batch.frames)      # byte ranges in a segment pack
    failed = MapItem.from_dict(event("batch_failed"))
    assert failed.error["Error"] == "Frame::Unreadable"
    inp = ExecutionInput.from_dict(event("publish")["input"])
    assert inp.to_dict() == event("publish")["input"]          # exactly what the planner starts
    assert inp.sampling["frames"] == sum(len(b["frames"]) for b in inp.sampling["batches"])
    long = ExecutionInput.from_dict(event("sample"))
    assert long.plan and len(long.plan["segments"]) == 2 and long.sampling is None
    seg = SegmentItem.from_dict(event("extract_segment"))
    assert seg.segment == 1 and seg.plan.segments[0].index == 1 and seg.source.key == "uploads/My Vidéo 01.mp4"


def test_the_execution_input_fits_the_payload_limit_at_the_frame_cap():
    """The batch list travels in the execution input: at the cap (1000 frames) it stays far under 256 KB."""
    inp = event("publish")["input"]
    one = inp["sampling"]["batches"][0]["frames"][0]
    frames = [{**one, "id": 10_000_000 + i, "time": 10_000 + i / 3} for i in range(1000)]
    big = {**inp, "sampling": {"frames": 1000, "batches": [{"batch": b, "frames": frames[b * 30:(b + 1) * 30]}
                                                           for b in range(34)]}}
    size = len(json.dumps(big).encode())
    assert size < 160_000, size
    ExecutionInput.from_dict(big)


@pytest.mark.parametrize("broken", [{}, {"job_id": 1}, {"job_id": "j", "work_bucket": "w", "store": "s", "scenarios": [],
                                                           "templates": [], "batch": {"batch": "0"}},
                                    {"job_id": "j", "work_bucket": "w", "store": "s", "scenarios": [], "templates": [],
                                     "batch": {"batch": 0, "frames": [{"id": 1}]}}])
def test_a_malformed_item_is_a_typed_error(broken):
    with pytest.raises(PayloadInvalid) as e:
        MapItem.from_dict(broken)
    assert e.value.code == "Payload::Invalid"


def test_a_rerender_names_only_what_it_can_change():
    r = Rerender.from_dict({"rerender": {"job": "j-1", "title": "New", "templates": ["minimal"]}})
    assert r.job_id == "j-1" and r.changes == {"title": "New", "templates": ["minimal"]}
    with pytest.raises(PayloadInvalid) as e:
        Rerender.from_dict({"rerender": {"job": "j", "titel": "typo"}})
    assert "titel" in e.value.message


def test_payload_errors_are_not_retried():
    import importlib.util
    spec = importlib.util.spec_from_file_location("build", ROOT / "statemachine" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert "PayloadInvalid" not in build.TRANSIENT
