"""What each Lambda function does, as plain functions over S3 keys (handlers only parse and call).

    extract_frames  upload → frame batches → one execution per (bucket, key, ETag), the job in its input
    analyse         one batch: each frame decoded once; faces, saliency, crops, scores (M2–M12)
    batch_failed    the Map's Catch: records why a batch failed
    publish         choose (M12, M13), render only the chosen posters (M8, M9), publish (M14)

Where objects live is ``keys.py``'s business; how S3 is reached is ``storage.py``'s.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
from email.header import decode_header, make_header
from pathlib import PurePosixPath
from urllib.parse import quote, unquote

import cv2
import numpy as np
from botocore.exceptions import ClientError

from autoposter.analysis import Candidate, Job, analyze_frame, job_scenarios, score_crops, select
from autoposter.errors import SettingsError, VideoError
from autoposter.inputs import check_link, check_text
from autoposter.frames import FrameSampler, not_a_video, probe_duration
from autoposter.settings import Settings
from autoposter.templates import load as load_template

from . import framepack, keys, storage
from .config import Config
from .errors import FramesFailed, InjectedFault, S3NotFound
from .payloads import Batch, ExecutionInput, FrameRef, MapItem

JPEG = [cv2.IMWRITE_JPEG_QUALITY, 92]


def job_id_for(bucket: str, key: str, etag: str) -> str:
    """Execution name: readable stem + hash of bucket, key and ETag (≤ 80 chars, [A-Za-z0-9_-])."""
    digest = hashlib.sha256(f"{bucket}/{key}/{etag.strip(chr(34))}".encode()).hexdigest()[:16]
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


# --- extract_frames ----------------------------------------------------------------------

def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name


def extract(bucket: str, key: str, etag: str, cfg: Config, settings: Settings, sfn=None) -> dict:
    """S1–S2: stream the upload to /tmp, write frame batches, start one execution whose input
    carries the job; a repeated event finds that execution and does nothing."""
    job_id = job_id_for(bucket, key, etag)
    sfn = sfn or storage.client("stepfunctions")
    arn = execution_arn(cfg.state_machine_arn, job_id)
    try:
        sfn.describe_execution(executionArn=arn)
        return {"status": "duplicate", "job_id": job_id, "execution_arn": arn}
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
            raise
    try:
        doc = _extract_frames(bucket, key, etag, job_id, cfg, settings)
    except VideoError as exc:
        storage.put_json(cfg.work_bucket, keys.error(job_id),
                         {"bucket": bucket, "key": key, "etag": etag, **exc.to_dict()})
        return {"status": "rejected", "job_id": job_id, "key": key, **exc.to_dict()}
    return _start(job_id, doc, cfg, sfn)


def _refuse(message: str, code: str, key: str):
    raise VideoError(f"{key}: {message}", code=code)


def _extract_frames(bucket, key, etag, job_id, cfg: Config, settings: Settings) -> dict:
    try:
        head = storage.head(bucket, key)
    except S3NotFound:
        _refuse("the object is gone (deleted or overwritten before it was read)", "Video::NotFound", key)
    size = int(head.get("ContentLength", 0))
    if size == 0:
        _refuse("the upload is empty (0 bytes)", "Video::Empty", key)
    if size > cfg.max_upload_bytes:
        _refuse(f"the upload is {size:,} bytes; the limit is {cfg.max_upload_bytes:,} (MAX_UPLOAD_BYTES)",
                "Video::TooLarge", key)
    refused = not_a_video(storage.get_range(bucket, key, 0, 4095))     # before downloading it all
    if refused:
        _refuse(refused[1], refused[0], key)
    meta = {k.lower(): decode_meta(v) for k, v in head.get("Metadata", {}).items()}
    try:                        # the same checks as the command line: a bad link or an overlong title refuses
        link = check_link(meta.get("link") or cfg.link_base + quote(key), "x-amz-meta-link")
        title = check_text("title", meta.get("title") or PurePosixPath(key).stem)
        extra = {k: check_text(k, meta[k]) for k in ("tagline", "search_text") if k in meta}
    except SettingsError as exc:
        raise VideoError(f"{key}: {exc.message}", code=exc.code) from None
    suffix = PurePosixPath(key).suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,9}", PurePosixPath(key).suffix) else ""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "source" + suffix)
        storage.download(bucket, key, path)
        try:
            duration = probe_duration(path)
            if duration > cfg.max_video_seconds:
                _refuse(f"the video lasts {duration:.0f} s; the limit is {cfg.max_video_seconds:.0f} s "
                        "(MAX_VIDEO_SECONDS)", "Video::TooLong", key)
            sampler = FrameSampler(path, settings.frames)
            frames = [(f.index, round(f.time, 3), f.after_cut, f.shot,
                       cv2.imencode(".jpg", f.image, JPEG)[1].tobytes()) for f in sampler]
        except VideoError as exc:           # name the upload, never the function's temporary file
            raise VideoError(exc.message.replace(path, key), code=exc.code) from None
        info = sampler.info.to_dict()
    if not frames:
        counts = ", ".join(f"{r} ×{n}" for r, n in _counts(r.reason for r in sampler.rejected).items())
        _refuse(f"no usable frame ({counts or 'none sampled'})", "Video::NoUsableFrame", key)
    batches = []
    for b, span in enumerate(framepack.split(len(frames), cfg.batch_size)):
        part = [frames[i] for i in span]
        bkey = keys.frames_batch(job_id, b)
        storage.put_bytes(cfg.work_bucket, bkey, framepack.pack([(i, data) for i, _, _, _, data in part]),
                          "application/x-tar")
        batches.append(Batch(b, bkey, tuple(FrameRef(i, t, c, sh) for i, t, c, sh, _ in part)))
    info.update(path=key, bucket=bucket, etag=etag, cuts=[round(t, 2) for t in sampler.cuts], **sampler.read_report())
    job = Job(link=link, title=title, meta=extra, templates=cfg.templates, scenarios=cfg.scenarios, video_id=job_id)
    scenarios = job_scenarios(job, [load_template(t) for t in job.templates])
    return {"job": job.to_dict(), "video": info, "scenarios": scenarios, "batches": batches,
            "rejected": [r.to_dict() for r in sampler.rejected]}


def _counts(reasons) -> dict:
    out: dict = {}
    for r in reasons:
        out[r] = out.get(r, 0) + 1
    return out


def _start(job_id: str, doc: dict, cfg: Config, sfn) -> dict:
    batches = doc["batches"]
    # the job and the Map's items travel in the input: with ≤ 1000 frames (frames.max_frames) the
    # batch list and the sampling rejections are ≤ ~130 KB of the 256 KB allowed
    payload = ExecutionInput(job_id, cfg.work_bucket, tuple(doc["scenarios"]), tuple(doc["job"]["templates"]),
                             tuple(batches), {k: doc[k] for k in ("job", "video", "rejected")}).to_dict()
    try:
        r = sfn.start_execution(stateMachineArn=cfg.state_machine_arn, name=job_id, input=json.dumps(payload))
        return {"status": "started", "job_id": job_id, "frames": payload["frames"], "batches": len(batches),
                "execution_arn": r["executionArn"]}
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return {"status": "duplicate", "job_id": job_id, "frames": payload["frames"]}
        raise


# --- analyse (the Map's item: one batch of frames) --------------------------------------------

def _fault(cfg: Config, batch: int) -> None:
    hook = cfg.fault_inject.strip()
    if hook and (hook == "all" or str(batch) in {s.strip() for s in hook.split(",")}):
        raise InjectedFault(f"injected failure for batch {batch} (FAULT_INJECT={hook})")


def analyse(event: dict, cfg: Config, settings: Settings, detector) -> dict:
    """Each frame of the batch downloaded and decoded once; its whole analysis written once."""
    item = MapItem.from_dict(event)
    batch = item.batch
    _fault(cfg, batch.batch)
    images = framepack.unpack(storage.get_bytes(item.work_bucket, batch.key))
    templates = [load_template(t) for t in item.templates]
    frames = []
    for f in batch.frames:
        data = images.get(f.index)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        if img is None:
            raise VideoError(f"frame {f.index} of {batch.key} cannot be decoded", code="Frame::Unreadable")
        fr = analyze_frame(img, detector, settings, f.time, f.index, f.after_cut, f.shot)
        cands = score_crops(img, fr, list(item.scenarios), settings, templates)
        frames.append({"frame": fr.to_dict(), "candidates": [c.to_dict() for c in cands]})
    doc = {"ok": True, "batch": batch.batch, "frames": frames}
    storage.put_json(item.work_bucket, keys.analysis(item.job_id, batch.batch), doc)
    return {"batch": batch.batch, "ok": True, "frames": len(frames),
            "faces": sum(len(f["frame"]["faces"]) for f in frames),
            "passed": sum(c["rejected"] is None for f in frames for c in f["candidates"])}


def batch_failed(event: dict) -> dict:
    """The Map's Catch: record why this batch failed, so publish can count it against the tolerance."""
    item = MapItem.from_dict(event)
    batch, err = item.batch, item.error
    message = err.get("Cause", "")
    try:
        cause = json.loads(message)
        message = f"{cause.get('errorType', '')}: {cause.get('errorMessage', '')}".strip(": ")
    except (TypeError, ValueError):
        pass
    doc = {"ok": False, "batch": batch.batch, "error": err.get("Error", "Unknown"), "message": message[:500],
           "frames": batch.to_dict()["frames"]}
    storage.put_json(item.work_bucket, keys.analysis(item.job_id, batch.batch), doc)
    return {"batch": batch.batch, "ok": False, "error": doc["error"], "frames": len(batch.frames)}


# --- publish --------------------------------------------------------------------------------

def publish(event: dict, cfg: Config, settings: Settings) -> dict:
    """S5 / M14: choose, render the chosen posters, publish them, the gallery, and the manifest last."""
    from autoposter.gallery import gallery_html, reason_counts, rejection_summary
    from autoposter.pipeline import build_manifest, poster_name, poster_record, render_poster

    inp = ExecutionInput.from_dict(event)                           # the execution's input carries the job
    bucket, job_id, batches = inp.work_bucket, inp.job_id, inp.batches
    jobdoc = {**inp.job, "scenarios": list(inp.scenarios)}
    job = Job.from_dict(jobdoc["job"])
    analyses = {b.batch: storage.get_json_or_none(bucket, keys.analysis(job_id, b.batch)) for b in batches}
    total = sum(len(b.frames) for b in batches)
    failed, cands, rejected = [], [], list(jobdoc["rejected"])
    for b in batches:
        a = analyses[b.batch] or {"ok": False, "error": "NoResult", "message": "the batch produced no result"}
        if not a.get("ok"):
            failed += [(f, a) for f in b.frames]
            rejected += [{"frame_time": f.time, "reason": f"failed: {a.get('error')}: {a.get('message', '')}"[:300]}
                         for f in b.frames]
            continue
        for fr in a["frames"]:
            said = set()
            for rec in fr["candidates"]:
                c = Candidate.from_dict(rec)
                if c.rejected:
                    if c.scenario not in said:                    # once per scenario, whatever the template
                        said.add(c.scenario)
                        rejected.append(c.rejection())
                else:
                    cands.append(c)
    if total and len(failed) * 100.0 / total > cfg.tolerated_failure:    # the one place the tolerance is enforced
        f, a = failed[0]
        raise FramesFailed(f"{len(failed)} of {total} frames failed (tolerated {cfg.tolerated_failure:g} %); "
                           f"frame {f.index}: {a.get('error')}: {a.get('message', '')}"[:1000])
    rejected.sort(key=lambda r: r["frame_time"])
    feedback = storage.get_json_or_none(bucket, keys.feedback(job_id))
    templates = [load_template(t) for t in job.templates]
    chosen = select(cands, templates, list(jobdoc["scenarios"]), settings, feedback)
    batch_of = {f.index: b for b in batches for f in b.frames}
    needed = {batch_of[c.frame_index].batch: batch_of[c.frame_index] for picked in chosen.values() for c in picked}
    images = {}
    for b in sorted(needed):                              # one GET per batch holding a chosen frame
        for index, data in framepack.unpack(storage.get_bytes(bucket, needed[b].key)).items():
            images[index] = data
    decoded: dict[int, np.ndarray] = {}
    by_name = {t.name: t for t in templates}
    prefix = keys.cdn_prefix(job_id)
    posters, rendered = [], []
    for (tname, sname), picked in chosen.items():
        for rank, c in enumerate(picked, 1):
            if c.frame_index not in decoded:
                decoded[c.frame_index] = cv2.imdecode(np.frombuffer(images[c.frame_index], np.uint8), cv2.IMREAD_COLOR)
            poster, placements, _ = render_poster(decoded[c.frame_index], c, by_name[tname], job.fields())
            rel = poster_name(tname, sname, rank, c.frame_time)
            rendered.append((prefix + rel, cv2.imencode(".jpg", poster, JPEG)[1].tobytes()))
            posters.append(poster_record(rel, by_name[tname], c, placements, rank, job.link,
                                         settings.score.max_upscale))
    manifest = build_manifest(jobdoc["video"], job, posters, rejected, settings)
    manifest["failed_frames"] = len(failed)
    result = {"posters": len(posters), "rendered": len(rendered), "job_id": job_id, "failed_frames": len(failed),
              "frames_analysed": total - len(failed), "batches": len(batches),
              "rejected_reasons": reason_counts(rejected)}
    if posters:
        for pkey, data in rendered:
            storage.put_bytes(cfg.cdn_bucket, pkey, data, "image/jpeg", "public, max-age=31536000, immutable")
        storage.put_bytes(cfg.cdn_bucket, prefix + "index.html", gallery_html(manifest).encode("utf-8"),
                          "text/html; charset=utf-8", "public, max-age=60")
        storage.put_json(cfg.cdn_bucket, prefix + "manifest.json", manifest, "public, max-age=60")   # last
        result["manifest_key"] = prefix + "manifest.json"
    else:
        result["reason"] = f"no poster passed: {rejection_summary(manifest)}"
    return result                       # the execution's output: what publish did


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
