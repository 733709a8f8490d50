"""The method end to end, written once: plan → extract → sample → analyse → publish (Q9).

Each step is a function over a ``Store`` (where a job's work lives) and, for the last, a
``Publisher`` (where its posters go):

    plan_job      the container's header → segments of the timeline            (M1, S11)
    extract       one segment → its frame pack and what was found in it         (M1)
    sample_job    every segment's findings → shots, bars, the frames to analyse (M1, Q3, Q6)
    analyse_batch a batch of frames → faces, saliency, scored crops            (M2–M12)
    publish       analyses → choice, posters, gallery, manifest, all at once    (M12–M14)

``run_video`` chains them on this machine (segments and batches in a process pool); the cloud
runs the same functions, one Lambda step each, with S3 behind the same two interfaces. Frames
cross every boundary as the JPEG bytes ``extract`` wrote, so both paths see the same pixels and
make the same posters.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from . import framepack, stores
from .analysis import (Candidate, FrameResult, Job, analyze_frame, job_scenarios,  # noqa: F401 (re-exported)
                       resolve_scenarios, score_crops, select, variant_id)
from .errors import FramesFailed, VideoError
from .frames import Plan, SegmentResult, may_read_keys, plan, sample_segment
from .sampling import FrameRef, Sampling, sample
from .settings import Settings
from .templates import Template, load_all as load_templates
from .video import VideoSource, keyframe_interval, read_header

ANALYSIS_VERSION = 2              # bump when the stored analysis changes meaning


# --- where things live in a job's store ----------------------------------------------------

def segment_key(i: int, ext: str) -> str:
    return f"segments/{i:05d}.{ext}"


def analysis_key(b: int) -> str:
    return f"analysis/{b:05d}.json"


SAMPLING_KEY = "sampling.json"


def analysis_digest(settings: Settings) -> str:
    """What the stored work depends on (sampling, detection, saliency, the expression mix): a stored
    analysis is reused only under the settings that made it."""
    parts = {"v": ANALYSIS_VERSION, "frames": asdict(settings.frames), "faces": asdict(settings.faces),
             "people": asdict(settings.people), "saliency": asdict(settings.saliency), "bars": asdict(settings.bars),
             "expression": settings.score.expression_model_weight, "batch": settings.run.batch_size}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def scoring_digest(settings: Settings, templates: list[Template], scenarios: list[str]) -> str:
    """What scored crops depend on beyond the analysis: a rerender with other templates rescoring."""
    parts = {"crop": asdict(settings.crop), "score": asdict(settings.score),
             "templates": [t.digest for t in templates], "scenarios": list(scenarios)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


# --- the steps -------------------------------------------------------------------------------

def plan_job(source: VideoSource, settings: Settings, max_seconds: float | None = None, pinned=()) -> Plan:
    """The header, then the plan; ``pinned`` times (an editor's) are always sampled."""
    header = read_header(source, settings.frames.min_side, max_seconds)
    ki = keyframe_interval(source, header.duration, useful=settings.frames.key_interval_max) \
        if not pinned and may_read_keys(header, settings.frames) else None
    return plan(header, settings.frames, settings.run.segment_seconds or None, pinned, ki)


def extract(source: VideoSource, plan_: Plan, index: int, store: stores.Store, settings: Settings,
            progress=None) -> SegmentResult:
    """Sample segment ``index``; its frames go to one pack, its findings to a JSON beside it."""
    pack = framepack.Writer()
    seg = next(s for s in plan_.segments if s.index == index)
    res = sample_segment(source, plan_, seg, settings.frames, settings.bars, pack, progress)
    store.put(segment_key(index, "tar"), pack.getvalue(), "application/x-tar")
    stores.put_json(store, segment_key(index, "json"), res.to_dict())
    return res


def sample_job(plan_: Plan, store: stores.Store, settings: Settings,
               results: list[SegmentResult] | None = None) -> Sampling:
    """Shots, bars and the frame budget across every segment; written as ``sampling.json``."""
    if results is None:
        results = []
        for seg in plan_.segments:
            doc = stores.get_json_or_none(store, segment_key(seg.index, "json"))
            if doc is None:
                raise FramesFailed(f"segment {seg.index} of {len(plan_.segments)} has no result (its extraction "
                                   "failed or its files expired)", code="Frames::Missing")
            results.append(SegmentResult.from_dict(doc))
    smp = sample(plan_, results, settings.frames, settings.bars)
    stores.put_json(store, SAMPLING_KEY, {"plan": plan_.to_dict(), **smp.to_dict()})
    return smp


class PackedFrames(Mapping):
    """Frames by id, kept as their JPEG bytes and decoded when asked: a batch holds its frames
    compressed (a 4K frame is 25 MB decoded, about 2 MB packed), one decoded at a time."""

    def __init__(self, blobs: dict[int, bytes], times: dict[int, tuple[float, int]]):
        self._blobs, self._times = blobs, times

    def __getitem__(self, fid: int) -> np.ndarray:
        img = cv2.imdecode(np.frombuffer(self._blobs[fid], np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            t, seg = self._times[fid]
            raise VideoError(f"frame {t:.3f}s of segment {seg} cannot be decoded", code="Frame::Unreadable")
        return img

    def __iter__(self):
        return iter(self._blobs)

    def __len__(self) -> int:
        return len(self._blobs)


def read_packed(store: stores.Store, refs: list[FrameRef]) -> PackedFrames:
    """The frames' bytes, one ranged read per segment pack they come from."""
    blobs, times = {}, {}
    by_seg: dict[int, list[FrameRef]] = {}
    for r in refs:
        by_seg.setdefault(r.segment, []).append(r)
    for seg, items in sorted(by_seg.items()):
        lo = min(r.offset for r in items)
        hi = max(r.offset + r.length for r in items)
        try:
            blob = store.get(segment_key(seg, "tar"), lo, hi - lo)
        except KeyError:
            raise FramesFailed(f"the frames of segment {seg} are gone (expired or deleted)",
                               code="Frames::Expired") from None
        for r in items:
            blobs[r.id] = blob[r.offset - lo:r.offset - lo + r.length]
            times[r.id] = (r.time, seg)
    return PackedFrames(blobs, times)


def read_frames(store: stores.Store, refs: list[FrameRef]) -> dict[int, np.ndarray]:
    """The frames' pixels, decoded (``read_packed`` keeps them compressed)."""
    packed = read_packed(store, refs)
    return {fid: packed[fid] for fid in packed}


def analyse_batch(b: int, refs: list[FrameRef], store: stores.Store, templates: list[Template],
                  scenarios: list[str], settings: Settings, detector) -> dict:
    """M2–M12 on each frame of batch ``b``; the whole batch's analysis written once."""
    images = read_packed(store, refs)                     # decoded one at a time: a batch of 4K frames fits
    work = []
    for r in refs:
        img = images[r.id]
        fr = analyze_frame(img, detector, settings, r.time, r.id, r.after_cut, r.shot, r.active_box)
        work.append((r, fr, score_crops(img, fr, scenarios, settings, templates)))
    work = relearn_shortlist(work, images, templates, scenarios, settings, getattr(detector, "people", None))
    frames = [{"ref": r.to_dict(), "frame": fr.to_dict(), "candidates": [c.to_dict() for c in cands]}
              for r, fr, cands in work]
    doc = {"ok": True, "batch": b, "scoring": scoring_digest(settings, templates, scenarios), "frames": frames}
    stores.put_json(store, analysis_key(b), doc)
    return doc


def relearn_shortlist(work: list, images: dict, templates, scenarios, settings: Settings, people=None) -> list:
    """Q7: the batch's best-scoring frames (``saliency.shortlist``) are judged again, where it changes a
    decision. With ``people`` (a ``PersonDetector``), people too small for the whole-frame pass are looked
    for on tiles (``people.tiles``) and join the frame's, and so does one the learned map's region shows
    that the detector missed (``PersonDetector.in_region``: a back view). With the learned map (U²-Netp): when nobody is
    in the frame, or when it disagrees with the classical map (IoU below ``disagree_iou``), its region
    becomes the second region. A frame that changed has its crops scored again. A few frames a batch,
    not every frame: the learned map costs ~0.2 s a frame, the tiles ~0.1 s."""
    from .saliency import learned_map, profile
    s = settings.saliency
    if s.shortlist <= 0 or not work:
        return work

    def best(item):
        cands = item[2]
        ok = [c.total for c in cands if not c.rejected]
        return max(ok) if ok else max([c.total for c in cands] or [0.0]) - 1.0

    order = sorted(range(len(work)), key=lambda i: (-best(work[i]), work[i][0].time))[:s.shortlist]
    out = list(work)
    for i in order:
        r, fr, cands = work[i]
        a = fr.area
        img = images[r.id]
        pic = img[int(a.y):int(a.y + a.h), int(a.x):int(a.x + a.w)]
        changed = False
        if people is not None:
            small = people.detect_small(pic, [p.shift(-a.x, -a.y) for p in fr.people])
            if small:
                fr.people = fr.people + [p.shift(a.x, a.y) for p in small]
                changed = True
        lm = learned_map(pic, s) if s.model != "u2netp" else None
        nobody = not fr.faces and not fr.people
        region = lm.region if lm is not None else (          # with U²-Netp as the map, the frame's own region
            fr.salient.shift(-a.x, -a.y) if s.model == "u2netp" and fr.salient is not None else None)
        if region is not None and people is not None:
            missed = people.in_region(pic, region, [p.shift(-a.x, -a.y) for p in fr.people])
            if missed is not None:                 # a back view where the learned map sees the subject
                fr.people = fr.people + [missed.shift(a.x, a.y)]
                changed = True
        if lm is not None and lm.region is not None:
            learned = lm.region.shift(a.x, a.y)
            if nobody or fr.salient is None or _iou(fr.salient, learned) < s.disagree_iou:
                fr.salient, fr.salient_source, fr.salient_profile = learned, "u2netp", profile(lm.map)
                changed = True
        if changed:
            out[i] = (r, fr, score_crops(img, fr, scenarios, settings, templates))
    return out


def _iou(a, b) -> float:
    inter = a.intersection(b)
    return inter.area / (a.area + b.area - inter.area) if inter else 0.0


def batch_failure(b: int, refs: list[FrameRef], error: str, message: str, store: stores.Store) -> dict:
    """Why a batch failed, where its analysis would be (publish counts it against the tolerance)."""
    doc = {"ok": False, "batch": b, "error": error, "message": message[:500], "frames": [r.to_dict() for r in refs]}
    stores.put_json(store, analysis_key(b), doc)
    return doc


def segment_failure(i: int, error: str, message: str, store: stores.Store) -> dict:
    """Why a segment's extraction failed, beside where its result would be (Sample says it)."""
    doc = {"ok": False, "segment": i, "error": error, "message": message[:500]}
    stores.put_json(store, segment_key(i, "failed.json"), doc)
    return doc


def _rejections(frames: list[dict]) -> list[dict]:
    """A frame's rejected crops, once per scenario whatever template declared it."""
    out = []
    for fr in frames:
        said = set()
        for rec in fr["candidates"]:
            if rec.get("rejected") and rec["scenario"] not in said:
                said.add(rec["scenario"])
                out.append({"frame_time": round(float(rec["frame_time"]), 3), "scenario": rec["scenario"],
                            "reason": rec["rejected"]})
    return out


def gather(sampling: Sampling, batch_size: int, store: stores.Store, tolerated: float):
    """Every batch's analysis: (batches [(refs, doc)], rejections, failed frame count).

    More failed frames than ``tolerated`` percent is ``Frames::TooManyFailed`` (nothing published)."""
    done, rejected, failed, first, errors = [], [], 0, None, []
    for b, refs in enumerate(sampling.batches(batch_size)):
        doc = stores.get_json_or_none(store, analysis_key(b)) or \
            {"ok": False, "error": "NoResult", "message": "the batch produced no result"}
        if not doc.get("ok"):
            failed += len(refs)
            first = first or (refs[0], doc)
            errors.append(doc)
            rejected += [{"frame_time": round(r.time, 3),
                          "reason": f"failed: {doc.get('error')}: {doc.get('message', '')}"[:300]} for r in refs]
            continue
        done.append((refs, doc))
    total = len(sampling.frames)
    if total and failed * 100.0 / total > tolerated:
        ref, doc = first
        if all(d.get("error") == "Frames::Expired" for d in errors):
            raise FramesFailed(f"{failed} of {total} frames are gone: a job's frames expire with its work (in the "
                               "cloud, the work bucket's lifecycle rule, WorkExpirationDays); upload the video again",
                               code="Frames::Expired")
        raise FramesFailed(f"{failed} of {total} frames failed (tolerated {tolerated:g} %); frame "
                           f"{ref.time:.3f}s: {doc.get('error')}: {doc.get('message', '')}"[:1000])
    return done, rejected, failed


def candidates(done: list, store: stores.Store, templates: list[Template], scen: list[str], settings: Settings):
    """Every scored crop (accepted or not: a format nothing passed takes its best rejected one) and the
    rejections of every analysed frame. Batches scored for other
    templates, scenarios or settings (a rerender) are rescored from the stored frames and analysis:
    no model runs."""
    digest = scoring_digest(settings, templates, scen)
    cands, rejected = [], []
    for refs, doc in done:
        if doc.get("scoring") == digest:
            recs = [f["candidates"] for f in doc["frames"]]
        else:
            images = read_frames(store, refs)
            recs = [[c.to_dict() for c in score_crops(images[f["ref"]["id"]], FrameResult.from_dict(f["frame"]),
                                                      scen, settings, templates)] for f in doc["frames"]]
        rejected += _rejections([{"candidates": r} for r in recs])
        cands += [Candidate.from_dict(c) for r in recs for c in r]
    return cands, rejected


def field_warnings(job: Job, templates, ov=None) -> list[str]:
    """Field layers this job has no value for (a misspelt field, a tagline not given): said, not silently
    left out. A language's texts count for its own set only, so the warning names the main set's gaps."""
    fields = job.fields()
    out = []
    for t in templates:
        for ly in t.layers:
            if ly.source == "field" and not str(fields.get(ly.value) or "").strip():
                known = ", ".join(sorted(k for k, v in fields.items() if v))
                out.append(f"template {t.name} layer {ly.name!r} shows field {ly.value!r}, which this run has no "
                           f"value for (fields given: {known or 'none'}); the layer is left out")
    return out


def publish(job: Job, sampling: Sampling, store: stores.Store, publisher: stores.Publisher, settings: Settings,
            feedback: dict | None = None, debug: bool = False, provenance: dict | None = None) -> dict:
    """M12–M14 and S14: choose among the analysed crops (an editor's vetoes out, pins in, variants apart),
    render the chosen posters — once per language — and publish the set at once."""
    from . import editors
    from .render import build_manifest, encode_jpeg, poster_name, poster_record, render_poster   # Pillow: here only
    templates = load_templates(job.templates)
    scen = job_scenarios(job, templates)
    ov = editors.Overrides.from_dict(job.overrides, "overrides") if job.overrides else editors.Overrides()
    s = settings.score
    if job.variants:                              # variants to A/B test: k of them, apart on purpose
        settings = dataclasses.replace(settings, score=dataclasses.replace(
            s, top_k=job.variants, moment_gap=max(s.moment_gap, 10.0), dup_bits=max(s.dup_bits, 16)))
    done, rejected, failed = gather(sampling, settings.run.batch_size, store, settings.run.tolerated_failure)
    cands, scored = candidates(done, store, templates, scen, settings)
    rejected = sorted(sampling.rejected + rejected + scored, key=lambda r: r["frame_time"])
    refs = {f["ref"]["id"]: FrameRef.from_dict(f["ref"]) for _, doc in done for f in doc["frames"]}
    results = {f["ref"]["id"]: f["frame"] for _, doc in done for f in doc["frames"]}
    gap = max(settings.score.moment_gap / 2, 0.5)
    vetoed = [c for c in cands if any(v.hits(c.template, c.scenario, c.frame_time, gap) for v in ov.vetoes)]
    chosen = select([c for c in cands if c not in vetoed], templates, scen, settings,
                    editors.feedback_scores(feedback))
    pins = editors.apply_pins(chosen, ov, cands, refs, results, lambda rs: read_frames(store, rs), templates, settings,
                              sampling.video)
    video = {**sampling.video, "failed_frames": failed}
    by_name = {t.name: t for t in templates}
    needed = sorted({c.frame_index for picked in chosen.values() for c in picked})
    images = read_frames(store, [refs[i] for i in needed]) if needed else {}
    files, posters, pictures = {}, [], {}
    languages = [("", job.fields())] + [(code, job.fields(texts)) for code, texts in sorted(ov.languages.items())]
    for lang, meta in languages:
        for (tname, sname), picked in chosen.items():
            for rank, c in enumerate(picked, 1):
                img = images[c.frame_index]
                poster, placements, mapped = render_poster(img, c, by_name[tname], meta)
                rel = (f"{lang}/" if lang else "") + poster_name(tname, sname, rank, c.frame_time)
                files[rel] = (encode_jpeg(poster), "image/jpeg")
                pictures[rel] = poster
                rec = poster_record(rel, by_name[tname], c, placements, rank, job.link, settings.score.max_upscale)
                rec["variant"] = variant_id(tname, sname, c.frame_time, c.crop.to_list(None))
                if lang:
                    rec["language"] = lang
                if c.rejected:
                    rec["below_threshold"] = c.rejected
                if rank == 1 and (tname, sname) in pins:
                    rec["pinned"] = pins[(tname, sname)]
                if feedback and rank == 1 and rec["variant"] in feedback:
                    rec["promoted"] = True            # the variant people clicked most leads (M13)
                posters.append(rec)
                if debug and not lang:
                    from .overlay import debug_overlay
                    dbg = "debug/" + rel
                    fr = FrameResult.from_dict(results[c.frame_index])
                    files[dbg] = (encode_jpeg(debug_overlay(img, fr, c, poster, placements, mapped, settings), 85),
                                  "image/jpeg")
                    rec["debug"] = dbg
    formats = formats_report(chosen, [p for p in posters if not p.get("language")], rejected)
    extra = {"formats": formats, "missing": [f for f in formats if not f["count"]]}
    if ov:
        extra["overrides"] = ov.to_dict() | {"vetoed_crops": len(vetoed)}
    if job.variants:
        extra["variants"] = job.variants
    if provenance:
        extra["analysis"] = provenance              # where the analysis is kept: a rerender reads it
    manifest = build_manifest(video, job, posters, rejected, settings, **extra)
    manifest["warnings"] = field_warnings(job, templates, ov) + manifest["warnings"]
    if not posters:
        return manifest                                   # nothing published: the destination as it was
    from .gallery import contact_sheet, gallery_html
    sheet = contact_sheet(manifest, pictures)
    if sheet is not None:
        files["contact_sheet.jpg"] = (encode_jpeg(sheet, 85), "image/jpeg")
    files["index.html"] = (gallery_html(manifest, files=set(files)).encode("utf-8"), "text/html; charset=utf-8")
    publisher.publish(files, manifest)
    return manifest


def formats_report(chosen: dict, posters: list[dict], rejected: list[dict]) -> list[dict]:
    """Q8: every (template, scenario) asked and what came back — posters, posters below the threshold
    (with why), or none (with why): the CLI, the manifest and the gallery all show it."""
    from collections import Counter
    out = []
    for (tname, sname), picked in chosen.items():
        mine = [p for p in posters if p["template"] == tname and p["scenario"] == sname]
        below = [p["below_threshold"] for p in mine if p.get("below_threshold")]
        if not mine:
            gated = Counter(r["reason"].split(":")[0] for r in rejected if r.get("scenario") == sname)
            why = gated or Counter(r["reason"].split(":")[0] for r in rejected if "scenario" not in r)
            note = ("none passed the gates: " if gated else "no usable frame: ") + \
                (", ".join(f"{k} ×{n}" for k, n in why.most_common(3)) or "none sampled")
        elif below:
            note = f"below the threshold: {below[0]}"
        else:
            note = ""
        out.append({"template": tname, "scenario": sname, "count": len(mine), "note": note})
    return out


# --- on one machine --------------------------------------------------------------------------

def video_id_for(path: str | os.PathLike) -> str:
    """A stable id: file name plus a short hash of size and first MiB (no full read)."""
    p = Path(path)
    h = hashlib.sha256(str(p.stat().st_size).encode())
    with open(p, "rb") as f:
        h.update(f.read(1 << 20))
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in p.stem)[:40] or "video"
    return f"{stem}-{h.hexdigest()[:10]}"


_WORKER: dict = {}


def _detector(settings: Settings):
    from .analysis import Detectors
    key = json.dumps([asdict(settings.faces), asdict(settings.people)], default=str)
    if key not in _WORKER:
        _WORKER.clear()
        _WORKER[key] = Detectors.load(settings)
    return _WORKER[key]


def _extract_task(args, progress=None):
    source, plan_, index, root, settings = args
    res = extract(source, plan_, index, stores.FolderStore(root), settings, progress)
    return index, res.to_dict()


def _analyse_task(args):
    b, refs, root, templates, scen, settings = args
    store = stores.FolderStore(root)
    try:
        doc = analyse_batch(b, refs, store, load_templates(templates), scen, settings, _detector(settings))
        return b, True, len(doc["frames"])
    except VideoError as exc:                              # a frame that cannot be read: the batch fails, typed
        batch_failure(b, refs, exc.code, exc.message, store)
        return b, False, 0


def _map(fn, tasks: list, workers: int, progress=None, lo: float = 0.0, hi: float = 1.0) -> list:
    """``fn`` over ``tasks`` in this process (one task or one worker) or a pool of processes."""
    from .stopping import check
    out = []
    if workers <= 1 or len(tasks) <= 1:
        for i, t in enumerate(tasks):
            check()
            out.append(fn(t))
            if progress:
                progress(lo + (hi - lo) * (i + 1) / len(tasks), "")
        return out
    import multiprocessing as mp
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=_pool_init) as pool:
        try:
            futures = [pool.submit(fn, t) for t in tasks]
            for i, f in enumerate(futures):
                out.append(f.result())
                check()
                if progress:
                    progress(lo + (hi - lo) * (i + 1) / len(tasks), "")
        except BaseException:
            for p in list(getattr(pool, "_processes", {}).values()):
                p.terminate()
            raise
    check()
    return out


def _pool_init() -> None:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)          # the parent decides; it terminates its workers
    cv2.setNumThreads(1)


def run_video(path: str | os.PathLike, out_dir: str | os.PathLike, job: Job, settings: Settings | None = None,
              progress=None, debug: bool = False, feedback: dict | None = None, workers: int | None = None) -> dict:
    """A video file to a poster set in ``out_dir`` on this machine, through the same steps as the cloud.

    ``out_dir`` is checked and locked before the video is opened (``output.OutputDir``); the
    frames and analysis are kept in it (``autoposter render`` reuses them); the set is switched in
    atomically. When no poster passes nothing is published and the manifest returned says why."""
    from .output import OutputDir

    settings = settings or Settings.from_env()
    templates = load_templates(job.templates)
    scen = job_scenarios(job, templates)
    source = VideoSource.local(path)
    workers = workers or settings.run.workers or os.cpu_count() or 1
    with OutputDir(out_dir) as out:
        job.video_id = job.video_id or video_id_for(path)
        from .editors import Overrides
        pinned = Overrides.from_dict(job.overrides).pinned_times() if job.overrides else ()
        plan_ = plan_job(source, settings, pinned=pinned)
        store = out.work(job.video_id, analysis_digest(settings))
        stores.put_json(store, "plan.json", plan_.to_dict())
        if progress:
            progress(0.0, f"{len(plan_.segments)} segment(s)")
        tasks = [(source, plan_, s.index, store.root, settings) for s in plan_.segments]
        if len(tasks) == 1 and progress:        # one segment (a short clip, a keys read): its own progress,
            from .stopping import check           # and a stop asked for is heard within it
            done = [_extract_task(tasks[0], lambda f: (check(), progress(0.5 * f, "")))]
        else:
            done = _map(_extract_task, tasks, workers, progress, 0.0, 0.5)
        results = [SegmentResult.from_dict(d) for _, d in sorted(done, key=lambda x: x[0])]
        smp = sample_job(plan_, store, settings, results)
        batches = smp.batches(settings.run.batch_size)
        _map(_analyse_task, [(b, refs, store.root, list(job.templates), scen, settings)
                             for b, refs in enumerate(batches)], workers, progress, 0.5, 0.95)
        digest = analysis_digest(settings)
        manifest = publish(job, smp, store, out.publisher(), settings, feedback, debug,
                           {"video_id": job.video_id, "digest": digest})
        if manifest["posters"]:
            out.keep_work()
        if progress:
            progress(1.0, "published")
    return manifest


def render_stored(out_dir: str | os.PathLike, changes: dict, settings: Settings | None = None,
                  feedback: dict | None = None, debug: bool = False, progress=None) -> dict:
    """S14: ``autoposter render OUT``: the analysis the current set of ``out_dir`` came from, published again
    with ``changes`` to its job (templates, scenarios, title, link, meta, overrides, variants). No frame is
    decoded or analysed; crops are rescored only for templates or settings the analysis was not scored for."""
    from .errors import SettingsError
    from .output import OutputDir

    settings = settings or Settings.from_env()
    with OutputDir(out_dir) as out:
        current = out.current()
        if current is None:
            raise SettingsError(f"{out_dir}: no poster set here to render again (run `autoposter run` first)",
                                code="Render::NoAnalysis")
        try:
            before = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
            ref = before["analysis"]
        except (OSError, ValueError, KeyError, TypeError):
            raise SettingsError(f"{out_dir}: the current set does not say where its analysis is (made by an older "
                                "autoposter?): run `autoposter run` again", code="Render::NoAnalysis") from None
        store = out.stored(str(ref.get("video_id", "")), str(ref.get("digest", "")))
        if store is None:
            raise SettingsError(f"{out_dir}: the analysis of the current set is gone from .autoposter/jobs/",
                                code="Render::NoAnalysis")
        job = Job.from_dict(before["job"])
        for k, v in changes.items():
            if k == "meta":
                job.meta = {**job.meta, **v}
            elif k in ("templates", "scenarios"):
                setattr(job, k, tuple(v))
            else:
                setattr(job, k, v)
        templates = load_templates(job.templates)
        job_scenarios(job, templates)                    # Settings::UnknownScenario before any work
        smp = Sampling.from_dict(stores.get_json(store, SAMPLING_KEY))
        if progress:
            progress(0.5, "rendering from the stored analysis")
        manifest = publish(job, smp, store, out.publisher(), settings, feedback, debug, ref)
        if progress:
            progress(1.0, "published")
    return manifest


def candidate_frames(path: str | os.PathLike, settings: Settings | None = None):
    """The frames ``run_video`` would analyse, with their pixels: [(FrameRef, image)] in time order —
    the same plan, segments and sampling, kept in a temporary folder (benchmarks, tools, tests)."""
    import tempfile

    settings = settings or Settings.from_env()
    source = VideoSource.local(path)
    with tempfile.TemporaryDirectory() as tmp:
        store = stores.FolderStore(tmp)
        plan_ = plan_job(source, settings)
        results = [extract(source, plan_, s.index, store, settings) for s in plan_.segments]
        smp = sample_job(plan_, store, settings, results)
        images = read_frames(store, smp.frames)
        return [(r, images[r.id]) for r in smp.frames], smp
