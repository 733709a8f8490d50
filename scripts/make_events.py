"""Write events/*.json: one event per function for `sam local invoke` (and tests/test_handlers.py).

They describe one upload, ``uploads/My Vidéo 01.mp4`` (URL-encoded in the S3 event, as S3 sends
it), to a stack deployed with the default BucketPrefix in account 123456789012, us-east-1. They come
from a real run of the sample through the local cloud (each function's input as the state machine
handed it), except ``extract_segment`` and ``sample``, which the sample's single segment skips (the
planner samples short videos itself): those are the same job's, with the video cut into two
segments. Replace the account in bucket names with yours.

    python scripts/make_events.py
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

KEY = "uploads/My Vidéo 01.mp4"


def capture() -> dict:
    """Each function's first input in a local-cloud run of the sample (the state machine's payloads)."""
    from autoposter_local.cloud import LocalCloud

    seen: dict = {}
    with LocalCloud({"TEMPLATES": "streaming"}) as cloud:
        original = cloud.server.invoke

        def record(name, body, caller):
            seen.setdefault(name, json.loads(body))
            return original(name, body, caller)

        cloud.server.invoke = record
        upload = cloud.upload(ROOT / "examples" / "sample.mp4", KEY, {"title": "My%20Vid%C3%A9o"})
        started = cloud.deliver(upload)["results"][0]
        assert started["status"] == "started", started
        cloud.wait(started["execution_arn"])
        doc = cloud.get_json("work", f"jobs/{started['job_id']}/job.json")
        # the long path: the same job planned as two segments, as the Extract map and Sample see it
        from autoposter.frames import plan
        from autoposter.settings import Settings
        from autoposter.video import VideoHeader
        smp = cloud.get_json("work", doc["store"] + "sampling.json")
        header = VideoHeader.from_dict(smp["plan"]["header"])
        p = plan(header, Settings.from_env({}).frames, segment_seconds=header.duration / 2 + 0.01).to_dict()
        long_input = {**doc, "plan": p}
        seen["extract_segment"] = {k: doc[k] for k in ("job_id", "work_bucket", "store", "templates", "scenarios",
                                                       "source")} | {"header": p["header"], "rate": p["rate"],
                                                                     "probe_rate": p["probe_rate"],
                                                                     "scan": p["scan"], "pinned": p["pinned"],
                                                                     "segment": p["segments"][1]}
        seen["sample"] = long_input
        analyse = seen["analyse"]
        seen["batch_failed"] = {**analyse, "error": {"Error": "Frame::Unreadable", "Cause": json.dumps(
            {"errorType": "VideoError", "errorMessage": "Frame::Unreadable: frame 3.000s of segment 0 cannot be "
                                                        "decoded", "stackTrace": []})}}
        seen["job_failed"] = {"input": {**doc, "error": {"Error": "FramesFailed", "Cause": json.dumps(
            {"errorType": "FramesFailed", "errorMessage": "Frames::TooManyFailed: 21 of 21 frames failed "
                                                          "(tolerated 20 %)", "stackTrace": []})}}}
        seen["extract_frames"] = upload
    return seen


def main() -> None:
    events = capture()
    out = ROOT / "events"
    out.mkdir(exist_ok=True)
    for name, ev in sorted(events.items()):
        (out / f"{name}.json").write_text(json.dumps(ev, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(events)} events: {', '.join(sorted(events))}")


if __name__ == "__main__":
    main()
