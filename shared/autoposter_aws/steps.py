"""Each Lambda function's work: the core's steps (``autoposter.pipeline``) with S3 behind them.

    start            S3 upload → checks, the plan; short videos sampled here; one execution per job attempt
    extract_segment  the Extract map's item: one segment of the timeline, read through a presigned URL
    sample           shots, bars and the frame budget across the segments → the Analyse map's items
    analyse          the Analyse map's item: one batch of frames (M2–M12)
    batch_failed     the Analyse map's Catch: why a batch failed
    publish          choose, render, publish (M12–M14); also a console rerender of a finished job
    job_failed       the execution's Catch: a typed failure, findable at the upload's CDN path

Handlers only parse and call these. Where objects live is ``keys.py``'s business; how S3 is
reached is ``storage.py``'s; events are ``notify.py``'s.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from email.header import decode_header, make_header
from pathlib import PurePosixPath
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError

from autoposter import pipeline
from autoposter.analysis import Job, job_scenarios
from autoposter.errors import AutoposterError, FramesFailed, SettingsError, VideoError
from autoposter.frames import Plan, SegmentResult
from autoposter.inputs import check_feedback, check_link, check_text
from autoposter.sampling import Sampling
from autoposter.settings import Settings
from autoposter.stores import get_json_or_none
from autoposter.templates import load_all as load_templates
from autoposter.video import VideoSource, not_a_video

from . import keys, notify, storage
from .config import Config
from .errors import S3AccessDenied, S3NotFound
from .payloads import Batch, ExecutionInput, JobRef, MapItem, PayloadInvalid, Rerender, SegmentItem, Source

RETRYABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


def job_id_for(bucket: str, key: str, etag: str, meta: dict | None = None) -> str:
    """A job: the object, its content and its metadata (a new title is a new job). A readable stem
    and a hash: ≤ 57 characters of [A-Za-z0-9_-]; attempts add ``-N`` (execution names ≤ 80)."""
    meta_part = json.dumps(sorted((meta or {}).items()), ensure_ascii=False)
    digest = hashlib.sha256(f"{bucket}/{key}/{etag.strip(chr(34))}/{meta_part}".encode()).hexdigest()[:16]
    stem = unicodedata.normalize("NFKD", PurePosixPath(key).stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:40] or "video"
    return f"{stem}-{digest}"


def decode_meta(value: str) -> str:
    """S3 user metadata is ASCII: titles travel RFC 2047-encoded (``=?UTF-8?B?…?=``) or
    percent-encoded UTF-8 (``Caf%C3%A9``); both are decoded here, plain ASCII passes unchanged."""
    if "=?" in value:
        try:
            return str(make_header(decode_header(value)))
        except (ValueError, LookupError):
            return value
    try:
        return unquote(value, errors="strict") if "%" in value else value
    except UnicodeDecodeError:
        return value


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name


def _store(ref: JobRef) -> storage.S3Store:
    return storage.S3Store(ref.work_bucket, ref.store)


def _source(src: Source) -> VideoSource:
    return VideoSource(storage.presigned_get(src.bucket, src.key, src.version_id), src.key)


def _named(exc: VideoError, src: Source, location: str) -> Exception:
    """An error that names the upload, never a presigned URL (it holds a signature). When OpenCV could not
    open the URL, S3 is asked why: a denied or vanished object is said as such, not as a bad video."""
    if exc.code == "Video::Unreadable" and location.startswith("http"):
        try:
            head = storage.get_range(src.bucket, src.key, 0, 65535)
            size = int(storage.head(src.bucket, src.key).get("ContentLength", 0))
            tail = storage.get_range(src.bucket, src.key, max(0, size - (1 << 20)), size - 1) if size else b""
        except S3NotFound:
            return VideoError(f"{src.key}: the object is gone (deleted or overwritten before it was read)",
                              code="Video::NotFound")
        except S3AccessDenied as denied:
            return denied
        from autoposter.video import has_video_track
        if has_video_track(head, tail) is False:
            return VideoError(f"{src.key}: the file holds no video track (audio only, or another kind of stream)",
                              code="Video::NotAVideo")
    return VideoError(exc.message.replace(location, src.key), code=exc.code)


# --- start: the bucket's door --------------------------------------------------------------------

def _attempt(sfn, cfg: Config, job_id: str) -> tuple[str | None, dict]:
    """The next attempt's execution name, or None with the execution that makes this event a duplicate
    (running or succeeded). A failed, timed-out or aborted job starts a new attempt."""
    for n in range(1, cfg.max_attempts + 1):
        name = f"{job_id}-{n}"
        try:
            d = sfn.describe_execution(executionArn=execution_arn(cfg.state_machine_arn, name))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return name, {}
            raise
        if d["status"] not in RETRYABLE_STATUSES:
            return None, d
    return None, {"status": "TOO_MANY_ATTEMPTS", "executionArn": ""}


def _metadata(head: dict) -> dict:
    return {k.lower(): decode_meta(v) for k, v in head.get("Metadata", {}).items()}


def start(bucket: str, key: str, etag: str, cfg: Config, settings: Settings, sfn=None) -> dict:
    """S1–S2 and S12: check the upload from its HeadObject and first bytes, plan it from its header
    (read through a presigned URL: nothing is downloaded), and start one execution per job attempt.
    A refusal is recorded at the upload's CDN path and announced; it starts nothing."""
    sfn = sfn or storage.client("stepfunctions")
    try:
        head = storage.head(bucket, key)
    except S3NotFound:
        head = None
    meta = _metadata(head) if head else {}
    etag = (head or {}).get("ETag", etag).strip('"')
    try:                                                      # an editor's overrides, beside the upload
        overrides = storage.get_document(bucket, keys.overrides(key), "overrides", "Overrides::Invalid") \
            if head else None
    except SettingsError as exc:
        overrides, bad_overrides = None, exc
    else:
        bad_overrides = None
    job_id = job_id_for(bucket, key, etag, {**meta, **({"overrides": json.dumps(overrides, sort_keys=True)}
                                                       if overrides is not None else {})})
    name, dup = _attempt(sfn, cfg, job_id)
    if name is None:
        return {"status": "duplicate", "job_id": job_id, "execution_status": dup.get("status"),
                "execution_arn": dup.get("executionArn")}
    try:
        if head is None:
            raise VideoError(f"{key}: the object is gone (deleted or overwritten before it was read)",
                             code="Video::NotFound")
        if bad_overrides is not None:
            raise bad_overrides
        inp = _plan(bucket, key, etag, head, meta, job_id, cfg, settings, overrides)
    except (VideoError, SettingsError) as exc:
        err = exc.to_dict()
        refusal = {"status": "refused", "key": key, "job_id": job_id, "error": err}
        storage.put_json(cfg.cdn_bucket, keys.status(key), refusal, "no-cache")
        notify.send(cfg, "Posters Refused", refusal)
        return {"status": "rejected", "job_id": job_id, "key": key, **err}
    storage.put_json(cfg.work_bucket, keys.job_doc(job_id), {k: v for k, v in inp.to_dict().items()
                                                             if k not in ("plan", "sampling")})
    try:
        r = sfn.start_execution(stateMachineArn=cfg.state_machine_arn, name=name, input=json.dumps(inp.to_dict()))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return {"status": "duplicate", "job_id": job_id, "execution_arn": execution_arn(cfg.state_machine_arn, name)}
        raise
    frames = inp.sampling["frames"] if inp.sampling else None
    return {"status": "started", "job_id": job_id, "execution": name, "execution_arn": r["executionArn"],
            "segments": len(inp.plan["segments"]) if inp.plan else 1, "frames": frames,
            "batches": len(inp.sampling["batches"]) if inp.sampling else None}


def _plan(bucket, key, etag, head, meta, job_id, cfg: Config, settings: Settings, overrides=None) -> ExecutionInput:
    size = int(head.get("ContentLength", 0))
    if size == 0:
        raise VideoError(f"{key}: the upload is empty (0 bytes)", code="Video::Empty")
    if size > cfg.max_upload_bytes:
        raise VideoError(f"{key}: the upload is {size:,} bytes; the limit is {cfg.max_upload_bytes:,} "
                         "(MAX_UPLOAD_BYTES)", code="Video::TooLarge")
    try:
        head_bytes = storage.get_range(bucket, key, 0, 4095)            # one ranged GET, before anything decodes
    except S3NotFound:
        raise VideoError(f"{key}: the object is gone (deleted or overwritten before it was read)",
                         code="Video::NotFound") from None
    refused = not_a_video(head_bytes)
    if refused:
        raise VideoError(f"{key}: {refused[1]}", code=refused[0])
    try:                        # the same checks as the command line: a bad link or an overlong title refuses
        link = check_link(meta.get("link") or cfg.link_base + quote(key), "x-amz-meta-link")
        title = check_text("title", meta.get("title") or PurePosixPath(key).stem)
        extra = {k: check_text(k, meta[k]) for k in ("tagline", "search_text") if k in meta}
        from autoposter.editors import Overrides
        ov = Overrides.from_dict(overrides, keys.overrides(key)) if overrides is not None else Overrides()
    except SettingsError as exc:
        raise VideoError(f"{key}: {exc.message}", code=exc.code) from None
    src = Source(bucket, key, etag, head.get("VersionId"))
    video = _source(src)
    video = VideoSource(video.location, key, size)
    try:
        plan = pipeline.plan_job(video, settings, cfg.max_video_seconds, ov.pinned_times())
    except VideoError as exc:
        raise _named(exc, src, video.location) from None
    job = Job(link=link, title=title, meta=extra, templates=cfg.templates, scenarios=cfg.scenarios, video_id=job_id,
              overrides=ov.to_dict() if ov else {})
    templates = load_templates(job.templates)
    ref = JobRef(job_id, cfg.work_bucket, keys.job_store(job_id, pipeline.analysis_digest(settings)),
                 tuple(job.templates), tuple(job_scenarios(job, templates)))
    inp = ExecutionInput(ref, src, job.to_dict(), keys.cdn_prefix(key), settings.run.tolerated_failure,
                         cfg.map_concurrency, plan=plan.to_dict())
    if len(plan.segments) == 1:                 # short: sampled here, no Extract map (three transitions fewer)
        store = _store(ref)
        try:
            res = pipeline.extract(video, plan, 0, store, settings)
            smp = pipeline.sample_job(plan, store, settings, [res])
        except VideoError as exc:
            raise _named(exc, src, video.location) from None
        inp = ExecutionInput(ref, src, job.to_dict(), inp.cdn_prefix, inp.tolerated_failure, inp.concurrency,
                             sampling=_items(smp, settings))
    return inp


def _items(smp: Sampling, settings: Settings) -> dict:
    """The Analyse map's items (the batch list travels in the payload: ≤ 1000 frames, ≤ ~120 KB)."""
    if not smp.frames:
        raise VideoError(f"{smp.video['path']}: no usable frame "
                         f"({', '.join(f'{r} ×{n}' for r, n in _reasons(smp.rejected).items()) or 'none sampled'})",
                         code="Video::NoUsableFrame")
    batches = smp.batches(settings.run.batch_size)
    return {"frames": len(smp.frames), "batches": [Batch(b, tuple(refs)).to_dict() for b, refs in enumerate(batches)]}


def _reasons(rejected: list) -> dict:
    from collections import Counter
    return dict(Counter(r["reason"].split(":")[0] for r in rejected))


# --- the Extract map and the sampling --------------------------------------------------------------

def extract_segment(event: dict, settings: Settings) -> dict:
    """One segment, read through a presigned URL with Range requests (never the whole upload)."""
    item = SegmentItem.from_dict(event)
    video = _source(item.source)
    try:
        res = pipeline.extract(video, item.plan, item.segment, _store(item.ref), settings)
    except VideoError as exc:
        raise _named(exc, item.source, video.location) from None
    return {"segment": item.segment, "decoded": res.decoded, "frames": len(res.frames), "cuts": len(res.cuts)}


def sample(event: dict, settings: Settings) -> dict:
    """Every segment's findings → the film's shots, bars and frame budget → the Analyse map's items.
    A segment whose extraction failed is a gap, within the tolerated share of segments."""
    inp = ExecutionInput.from_dict(event)
    plan = Plan.from_dict(inp.plan)
    store = _store(inp.ref)
    results, why = [], []
    for seg in plan.segments:
        doc = get_json_or_none(store, pipeline.segment_key(seg.index, "json"))
        if doc is not None:
            results.append(SegmentResult.from_dict(doc))
        else:
            failure = get_json_or_none(store, pipeline.segment_key(seg.index, "failed.json")) or {}
            why.append(f"segment {seg.index}: {failure.get('error', 'NoResult')}: {failure.get('message', '')}")
    missing = len(plan.segments) - len(results)
    if missing * 100.0 / len(plan.segments) > inp.tolerated_failure or not results:
        raise FramesFailed(f"{missing} of {len(plan.segments)} segments could not be extracted "
                           f"(tolerated {inp.tolerated_failure:g} %); {why[0]}"[:1000], code="Frames::TooManyFailed")
    smp = pipeline.sample_job(plan, store, settings, results)
    return _items(smp, settings)


# --- the Analyse map --------------------------------------------------------------------------------

def analyse(event: dict, settings: Settings, detector) -> dict:
    item = MapItem.from_dict(event)
    templates = load_templates(item.ref.templates)
    doc = pipeline.analyse_batch(item.batch.batch, list(item.batch.frames), _store(item.ref), templates,
                                 list(item.ref.scenarios), settings, detector)
    frames = doc["frames"]
    return {"batch": item.batch.batch, "ok": True, "frames": len(frames),
            "faces": sum(len(f["frame"]["faces"]) for f in frames),
            "passed": sum(not c.get("rejected") for f in frames for c in f["candidates"])}


def _cause(err: dict) -> tuple[str, str]:
    """(code, message) from a Catch's {"Error", "Cause"}: our typed errors keep their code."""
    error, message = str(err.get("Error", "Unknown")), str(err.get("Cause", ""))
    try:
        cause = json.loads(message)
        message = str(cause.get("errorMessage", "")) or message
    except (TypeError, ValueError):
        pass
    m = re.match(r"^([A-Z][A-Za-z]+::[A-Za-z]+): (.*)$", message, re.S)
    return (m.group(1), m.group(2)) if m else (error, message)


def batch_failed(event: dict) -> dict:
    """The Maps' Catch: record why a batch of frames (publish counts it against the tolerance) or a
    segment (Sample does) failed, where its result would have been."""
    if isinstance(event, dict) and "segment" in event:
        item = SegmentItem.from_dict(event)
        code, message = _cause(event.get("error") or {})
        pipeline.segment_failure(item.segment, code, message, _store(item.ref))
        return {"segment": item.segment, "ok": False, "error": code}
    item = MapItem.from_dict(event)
    code, message = _cause(item.error)
    pipeline.batch_failure(item.batch.batch, list(item.batch.frames), code, message, _store(item.ref))
    return {"batch": item.batch.batch, "ok": False, "error": code, "frames": len(item.batch.frames)}


# --- publish -------------------------------------------------------------------------------------------

def _job_for(inp: ExecutionInput, changes: dict | None = None) -> Job:
    d = dict(inp.job)
    meta = dict(d.get("meta") or {})
    for k, v in (changes or {}).items():
        if k in ("title", "link", "templates", "scenarios", "overrides", "variants"):
            d[k] = v
        elif k == "tagline":
            meta["tagline"] = v
        elif k == "meta":
            meta.update(v)
        elif k == "languages":
            d["overrides"] = {**(d.get("overrides") or {}), "languages": v}
    d["meta"] = meta
    if d.get("overrides"):
        from autoposter.editors import Overrides
        Overrides.from_dict(d["overrides"], "rerender.overrides")          # checked before any work
    job = Job.from_dict(d)
    job.link = check_link(job.link, "rerender.link")
    job.title = check_text("title", job.title)
    job.meta = {k: check_text(k, v) for k, v in job.meta.items()}
    return job


def publish(event: dict, cfg: Config, settings: Settings) -> dict:
    """S5 / M12–M14 for a job, or for a console rerender (``{"rerender": {"job": …, …}}``): choose,
    render the chosen posters, publish the set under the upload's CDN path, point ``latest`` at it."""
    body = event.get("input", event) if isinstance(event, dict) else event
    set_name = str(event.get("execution") or "") if isinstance(event, dict) else ""
    changes = None
    if isinstance(body, dict) and "rerender" in body:
        rr = Rerender.from_dict(body)
        doc = storage.get_json_or_none(cfg.work_bucket, keys.job_doc(rr.job_id))
        if doc is None:
            raise FramesFailed(f"rerender: job {rr.job_id} is unknown or expired (no {keys.job_doc(rr.job_id)})",
                               code="Job::NotFound")
        inp, changes = ExecutionInput.from_dict(doc), rr.changes
        if "top_k" in changes:
            settings = Settings.from_env(**{"score.top_k": changes["top_k"]})
    else:
        inp = ExecutionInput.from_dict(body)
    job = _job_for(inp, changes)
    store = _store(inp.ref)
    smp_doc = get_json_or_none(store, pipeline.SAMPLING_KEY)
    if smp_doc is None:
        raise FramesFailed(f"job {inp.ref.job_id}: its analysis is gone (expired by the work bucket's lifecycle "
                           "rule, or never finished); upload the video again", code="Frames::Expired")
    smp = Sampling.from_dict(smp_doc)
    feedback = storage.get_document(cfg.work_bucket, keys.feedback(inp.ref.job_id), "feedback", "Feedback::Invalid")
    if feedback is not None:
        feedback = check_feedback(feedback)
    settings = _with_tolerance(settings, inp.tolerated_failure)
    set_prefix = inp.cdn_prefix + (set_name or inp.ref.job_id) + "/"

    def pointers(prefix: str) -> None:
        status = {"status": "published", "key": inp.source.key, "job_id": inp.ref.job_id, "set": prefix,
                  "manifest": cfg.cdn_base_url + quote(prefix) + "manifest.json",
                  "gallery": cfg.cdn_base_url + quote(prefix) + "index.html"}
        storage.put_bytes(cfg.cdn_bucket, inp.cdn_prefix + "index.html", _redirect(prefix[len(inp.cdn_prefix):]),
                          "text/html; charset=utf-8", "no-cache")
        storage.put_json(cfg.cdn_bucket, keys.status(inp.source.key), status, "no-cache")

    manifest = pipeline.publish(job, smp, store, storage.S3Publisher(cfg.cdn_bucket, set_prefix, pointers),
                                settings, feedback, provenance={"job_id": inp.ref.job_id, "store": inp.ref.store})
    result = {"posters": len(manifest["posters"]), "job_id": inp.ref.job_id, "set": set_prefix,
              "failed_frames": manifest["video"].get("failed_frames", 0), "frames_analysed": len(smp.frames),
              "rejected_reasons": _reasons(manifest["rejected"]), "rerender": changes is not None}
    if manifest["posters"]:
        result["manifest_key"] = set_prefix + "manifest.json"
        notify.send(cfg, "Posters Published", {"key": inp.source.key, "job_id": inp.ref.job_id, "status": "published",
                                               "posters": len(manifest["posters"]),
                                               "manifest": cfg.cdn_base_url + quote(set_prefix) + "manifest.json"})
    else:
        from autoposter.gallery import rejection_summary
        result["reason"] = f"no poster passed: {rejection_summary(manifest)}"
    return result


def _with_tolerance(settings: Settings, tolerated: float) -> Settings:
    import dataclasses
    return dataclasses.replace(settings, run=dataclasses.replace(settings.run, tolerated_failure=tolerated))


def _redirect(rel: str) -> bytes:
    """A page that sends the reader to the latest set (no script: the CDN's policy forbids it)."""
    import html
    href = html.escape(quote(rel) + "index.html", quote=True)
    return (f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={href}">'
            f'<title>posters</title><a href="{href}">latest posters</a>\n').encode()


def job_failed(event: dict, cfg: Config) -> dict:
    """The execution's Catch: the failure, typed, at the upload's CDN path and as an event."""
    body = event.get("input", event)
    err = body.get("error") or {}
    code, message = _cause(err)
    try:
        inp = ExecutionInput.from_dict({k: v for k, v in body.items() if k != "error"})
        key, job_id = inp.source.key, inp.ref.job_id
    except PayloadInvalid:
        key, job_id = str((body.get("source") or {}).get("key", "")), str(body.get("job_id", ""))
    doc = {"status": "failed", "key": key, "job_id": job_id, "error": {"code": code, "message": message[:1000]}}
    if key:
        storage.put_json(cfg.cdn_bucket, keys.status(key), doc, "no-cache")
    notify.send(cfg, "Posters Failed", doc)
    return doc


def s3_records(event) -> list[dict]:
    """``{"bucket", "key", "etag"}`` per record of an S3 notification, or ``{"error", "code"}``
    for a record that is not one (typed: ``Event::Malformed``)."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return [{"code": "Event::Malformed", "error": "the event has no S3 Records list"}]
    out = []
    for i, r in enumerate(records):
        try:
            s3 = r["s3"]
            bucket, obj = s3["bucket"]["name"], s3["object"]
            key, etag = obj["key"], str(obj.get("eTag") or obj.get("etag") or "")
            if not (isinstance(bucket, str) and isinstance(key, str) and bucket and key):
                raise TypeError
            out.append({"bucket": bucket, "key": key, "etag": etag})
        except (KeyError, TypeError):
            out.append({"code": "Event::Malformed", "error": f"record {i} is not an S3 object notification"})
    return out


__all__ = ["start", "extract_segment", "sample", "analyse", "batch_failed", "publish", "job_failed", "s3_records",
           "job_id_for", "decode_meta", "AutoposterError"]
