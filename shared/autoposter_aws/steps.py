"""What each Lambda function does, as plain functions over S3 keys (handlers only parse and call).

Work bucket layout, per job (``job_id`` = execution name, from bucket, key and ETag)::

    jobs/{job_id}/job.json            job, video facts, frames rejected at sampling
    jobs/{job_id}/frames.json         the Map's items: [{"index", "time", "key", "after_cut"}]
    jobs/{job_id}/frames/{i}.jpg      candidate frames
    jobs/{job_id}/detect/{i}.json     faces and salient region (M2, M3)
    jobs/{job_id}/crop/{i}.json       crop windows and scores per scenario (M4–M12)
    jobs/{job_id}/posters/{tpl}/{scenario}/{i}.jpg   composed posters (M8, M9)
    jobs/{job_id}/results/{i}.json    per-frame outcome: ok + candidates, or the failure's cause
    jobs/{job_id}/result.json         what publish did
    errors/{job_id}.json              an upload that could not be read (nothing is published)
    feedback/{job_id}.json            M13: {"<scenario>@<frame_time>": {"ctr": …, "retention": …}},
                                      blended into the ranking the next time publish runs

CDN bucket, per job: ``videos/{job_id}/…jpg``, ``index.html``, then ``manifest.json`` last.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

import cv2
import numpy as np
from botocore.exceptions import ClientError

from autoposter.errors import AutoposterError, VideoError
from autoposter.frames import FrameSampler
from autoposter.gallery import gallery_html, reason_counts, rejection_summary
from autoposter.pipeline import (Candidate, FrameResult, Job, analyze_frame, build_manifest, job_scenarios,
                                 poster_name, poster_record, render_poster, score_crops, select)
from autoposter.settings import Settings
from autoposter.templates import load as load_template

from . import storage
from .config import Config

JPEG = [cv2.IMWRITE_JPEG_QUALITY, 92]


class InjectedFault(Exception):
    """Raised by the detect step when the FAULT_INJECT_DETECT test hook names the frame."""


class FramesFailed(AutoposterError):
    code = "Frames::TooManyFailed"


def job_id_for(bucket: str, key: str, etag: str) -> str:
    """Execution name: readable stem + hash of bucket, key and ETag (≤ 80 chars, [A-Za-z0-9_-])."""
    digest = hashlib.sha256(f"{bucket}/{key}/{etag.strip(chr(34))}".encode()).hexdigest()[:16]
    stem = unicodedata.normalize("NFKD", PurePosixPath(key).stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:40] or "video"
    return f"{stem}-{digest}"


def _base(job_id: str) -> str:
    return f"jobs/{job_id}/"


def _image(bucket: str, key: str) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(storage.get_bytes(bucket, key), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise VideoError(f"frame {key} cannot be decoded", code="Frame::Unreadable")
    return img


# --- extract_frames ----------------------------------------------------------------------

def extract(bucket: str, key: str, etag: str, cfg: Config, settings: Settings, sfn=None) -> dict:
    """S1–S2: stream the upload to /tmp, write frames and the frame manifest, start one execution."""
    job_id = job_id_for(bucket, key, etag)
    base = _base(job_id)
    if storage.exists(cfg.work_bucket, base + "frames.json"):
        items = storage.get_json(cfg.work_bucket, base + "frames.json")
    else:
        try:
            items = _extract_frames(bucket, key, etag, job_id, cfg, settings)
        except VideoError as exc:
            storage.put_json(cfg.work_bucket, f"errors/{job_id}.json",
                             {"bucket": bucket, "key": key, "etag": etag, **exc.to_dict()})
            return {"status": "rejected", "job_id": job_id, "key": key, **exc.to_dict()}
    return _start(job_id, items, cfg, sfn)


def _extract_frames(bucket, key, etag, job_id, cfg: Config, settings: Settings) -> list[dict]:
    base = _base(job_id)
    meta = {k.lower(): v for k, v in storage.head(bucket, key).get("Metadata", {}).items()}
    suffix = PurePosixPath(key).suffix[:10] if re.fullmatch(r"\.[A-Za-z0-9]{1,9}", PurePosixPath(key).suffix) else ""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "source" + suffix)
        storage.download(bucket, key, path)
        sampler = FrameSampler(path, settings.frames)
        items = []
        for f in sampler:
            fkey = f"{base}frames/{f.index:06d}.jpg"
            storage.put_bytes(cfg.work_bucket, fkey, cv2.imencode(".jpg", f.image, JPEG)[1].tobytes(), "image/jpeg")
            items.append({"index": f.index, "time": round(f.time, 3), "key": fkey, "after_cut": f.after_cut})
        info = sampler.info.to_dict()
    info.update(path=key, bucket=bucket, etag=etag, frames_decoded=sampler.decoded,
                cuts=[round(t, 2) for t in sampler.cuts])
    job = Job(link=meta.get("link") or cfg.link_base + quote(key), title=meta.get("title") or PurePosixPath(key).stem,
              meta={k: v for k, v in meta.items() if k in ("tagline", "search_text")},
              templates=cfg.templates, scenarios=cfg.scenarios, video_id=job_id)
    storage.put_json(cfg.work_bucket, base + "job.json",
                     {"job": job.to_dict(), "video": info, "rejected": [r.to_dict() for r in sampler.rejected]})
    storage.put_json(cfg.work_bucket, base + "frames.json", items)   # written last: marks extraction done
    return items


def _start(job_id: str, items: list, cfg: Config, sfn) -> dict:
    base = _base(job_id)
    payload = {"job_id": job_id, "work_bucket": cfg.work_bucket, "job_key": base + "job.json",
               "frames_key": base + "frames.json", "count": len(items),
               "tolerated_failure_percent": cfg.tolerated_failure,
               "mode": "inline" if len(items) <= cfg.inline_limit else "distributed"}
    if payload["mode"] == "inline":
        payload["frames"] = items
    sfn = sfn or storage.client("stepfunctions")
    try:
        r = sfn.start_execution(stateMachineArn=cfg.state_machine_arn, name=job_id, input=json.dumps(payload))
        return {"status": "started", "job_id": job_id, "frames": len(items), "execution_arn": r["executionArn"]}
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return {"status": "duplicate", "job_id": job_id, "frames": len(items)}
        raise


# --- per-frame steps (the Map iterator) -------------------------------------------------

def _fault(cfg: Config, index: int) -> None:
    hook = cfg.fault_detect.strip()
    if hook and (hook == "all" or str(index) in {s.strip() for s in hook.split(",")}):
        raise InjectedFault(f"injected detect failure for frame {index} (FAULT_INJECT_DETECT={hook})")


def detect(event: dict, cfg: Config, settings: Settings, detector) -> dict:
    frame, bucket = event["frame"], event["work_bucket"]
    _fault(cfg, int(frame["index"]))
    img = _image(bucket, frame["key"])
    fr = analyze_frame(img, detector, settings, float(frame["time"]), int(frame["index"]), bool(frame.get("after_cut")))
    key = f"{_base(event['job_id'])}detect/{int(frame['index']):06d}.json"
    storage.put_json(bucket, key, fr.to_dict())
    return {**event, "detect_key": key, "faces": len(fr.faces)}


def _job(bucket: str, job_id: str) -> dict:
    return storage.get_json(bucket, _base(job_id) + "job.json")


def crop(event: dict, settings: Settings) -> dict:
    frame, bucket = event["frame"], event["work_bucket"]
    img = _image(bucket, frame["key"])
    fr = FrameResult.from_dict(storage.get_json(bucket, event["detect_key"]))
    job = Job.from_dict(_job(bucket, event["job_id"])["job"])
    scen = job_scenarios(job, [load_template(t) for t in job.templates])
    cands = score_crops(img, fr, scen, settings)
    key = f"{_base(event['job_id'])}crop/{int(frame['index']):06d}.json"
    storage.put_json(bucket, key, [c.to_dict() for c in cands])
    return {**event, "crop_key": key, "passed": sum(c.rejected is None for c in cands)}


def compose(event: dict) -> dict:
    frame, bucket, job_id = event["frame"], event["work_bucket"], event["job_id"]
    index = int(frame["index"])
    cands = [Candidate.from_dict(c) for c in storage.get_json(bucket, event["crop_key"])]
    job = Job.from_dict(_job(bucket, job_id)["job"])
    templates = [load_template(t) for t in job.templates]
    img = _image(bucket, frame["key"]) if any(c.rejected is None for c in cands) else None
    out = []
    for c in cands:
        rec = c.to_dict()
        if c.rejected is None:
            rec["posters"] = {}
            for tpl in templates:
                if c.scenario not in tpl.scenarios:
                    continue
                poster, placements, _ = render_poster(img, c, tpl, job.fields())
                pkey = f"{_base(job_id)}posters/{tpl.name}/{c.scenario}/{index:06d}.jpg"
                storage.put_bytes(bucket, pkey, cv2.imencode(".jpg", poster, JPEG)[1].tobytes(), "image/jpeg")
                rec["posters"][tpl.name] = {"key": pkey, "layers": [p.to_dict() for p in placements]}
        out.append(rec)
    storage.put_json(bucket, f"{_base(job_id)}results/{index:06d}.json",
                     {"ok": True, "index": index, "time": frame["time"], "candidates": out})
    return {"index": index, "ok": True, "posters": sum(len(r.get("posters", {})) for r in out)}


def frame_failed(event: dict) -> dict:
    """The Map's Catch: record why this frame failed, so publish can report it."""
    frame, err = event["frame"], event.get("error") or {}
    message = err.get("Cause", "")
    try:
        cause = json.loads(message)
        message = f"{cause.get('errorType', '')}: {cause.get('errorMessage', '')}".strip(": ")
    except (TypeError, ValueError):
        pass
    index = int(frame["index"])
    doc = {"ok": False, "index": index, "time": frame["time"], "error": err.get("Error", "Unknown"),
           "message": message[:500]}
    storage.put_json(event["work_bucket"], f"{_base(event['job_id'])}results/{index:06d}.json", doc)
    return {"index": index, "ok": False, "error": doc["error"]}


# --- publish ----------------------------------------------------------------------------

def publish(event: dict, cfg: Config, settings: Settings) -> dict:
    """S5 / M14: choose, copy posters to the CDN bucket, gallery, manifest last. All or nothing."""
    bucket, job_id = event["work_bucket"], event["job_id"]
    base = _base(job_id)
    jobdoc = _job(bucket, job_id)
    job = Job.from_dict(jobdoc["job"])
    frames = storage.get_json(bucket, base + "frames.json")
    results = {int(PurePosixPath(k).stem): storage.get_json(bucket, k)
               for k in storage.list_keys(bucket, base + "results/")}
    wanted = {int(f["index"]): float(f["time"]) for f in frames}
    failed = [results.get(i) or {"index": i, "error": "NoResult", "message": "the frame produced no result"}
              for i in sorted(wanted) if not (results.get(i) or {}).get("ok")]
    if frames and len(failed) * 100.0 / len(frames) > cfg.tolerated_failure:
        first = failed[0]
        raise FramesFailed(f"{len(failed)} of {len(frames)} frames failed (tolerated {cfg.tolerated_failure:g} %); "
                           f"frame {first['index']}: {first['error']}: {first.get('message', '')}"[:1000])
    templates = [load_template(t) for t in job.templates]
    scen = job_scenarios(job, templates)
    cands, poster_keys, layers, rejected = [], {}, {}, list(jobdoc["rejected"])
    for i in sorted(wanted):
        res = results.get(i) or {}
        if not res.get("ok"):
            rejected.append({"frame_time": wanted[i], "reason":
                             f"failed: {res.get('error', 'NoResult')}: {res.get('message', '')}"[:300]})
            continue
        for rec in res["candidates"]:
            c = Candidate.from_dict(rec)
            if c.rejected:
                rejected.append(c.rejection())
                continue
            cands.append(c)
            for tname, p in rec.get("posters", {}).items():
                poster_keys[(tname, c.scenario, c.frame_index)] = p["key"]
                layers[(tname, c.scenario, c.frame_index)] = p["layers"]
    rejected.sort(key=lambda r: r["frame_time"])
    fkey = f"feedback/{job_id}.json"
    feedback = storage.get_json(bucket, fkey) if storage.exists(bucket, fkey) else None
    chosen = select(cands, templates, scen, settings, feedback)
    posters = []
    by_name = {t.name: t for t in templates}
    prefix = f"videos/{job_id}/"
    plan = []
    for (tname, sname), picked in chosen.items():
        for rank, c in enumerate(picked, 1):
            rel = poster_name(tname, sname, rank, c.frame_time)
            plan.append((poster_keys[(tname, sname, c.frame_index)], prefix + rel))
            rec = poster_record(rel, by_name[tname], c, [], rank, job.link)
            rec["layers"] = layers[(tname, sname, c.frame_index)]
            posters.append(rec)
    manifest = build_manifest(jobdoc["video"], job, posters, rejected, settings)
    manifest["failed_frames"] = len(failed)
    if not posters:
        result = {"posters": 0, "job_id": job_id, "reason": f"no poster passed: {rejection_summary(manifest)}",
                  "rejected_reasons": reason_counts(rejected)}
        storage.put_json(bucket, base + "result.json", result)
        return result
    for src, dst in plan:
        storage.copy(bucket, src, cfg.cdn_bucket, dst, "image/jpeg", "public, max-age=31536000, immutable")
    storage.put_bytes(cfg.cdn_bucket, prefix + "index.html", gallery_html(manifest).encode("utf-8"),
                      "text/html; charset=utf-8", "public, max-age=60")
    storage.put_json(cfg.cdn_bucket, prefix + "manifest.json", manifest, "public, max-age=60")   # last
    result = {"posters": len(posters), "job_id": job_id, "manifest_key": prefix + "manifest.json",
              "failed_frames": len(failed), "rejected_reasons": reason_counts(rejected)}
    storage.put_json(bucket, base + "result.json", result)
    return result
