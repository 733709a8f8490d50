"""The contract between the states: every event in events/ parses as its payload, round-trips, and a
malformed payload is a typed error the state machine does not retry."""
import json

import pytest

from autoposter_aws.payloads import ExecutionInput, MapItem, PayloadInvalid
from conftest import ROOT

EVENTS = ROOT / "events"
BUILD = ROOT / "statemachine" / "build.py"


def event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_the_documented_events_are_instances_of_the_payloads():
    item = MapItem.from_dict(event("analyse"))
    assert item.batch.frames[1].index == 16 and item.templates and item.scenarios
    failed = MapItem.from_dict(event("batch_failed"))
    assert failed.error["Error"] == "InjectedFault"
    inp = ExecutionInput.from_dict(event("publish"))
    assert inp.to_dict() == event("publish")                    # exactly what extraction starts
    assert sum(len(b.frames) for b in inp.batches) == event("publish")["frames"]


@pytest.mark.parametrize("broken", [{}, {"job_id": 1}, {"job_id": "j", "work_bucket": "w", "scenarios": [],
                                                           "templates": [], "batch": {"batch": "0"}},
                                    {"job_id": "j", "work_bucket": "w", "scenarios": [], "templates": [],
                                     "batch": {"batch": 0, "key": "k", "frames": [{"index": 1}]}}])
def test_a_malformed_item_is_a_typed_error(broken):
    with pytest.raises(PayloadInvalid) as e:
        MapItem.from_dict(broken)
    assert e.value.code == "Payload::Invalid"


def test_payload_errors_are_not_retried():
    import importlib.util
    spec = importlib.util.spec_from_file_location("build", BUILD)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert "PayloadInvalid" not in build.TRANSIENT
