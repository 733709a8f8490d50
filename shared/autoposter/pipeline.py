"""The method end to end: analyse every candidate frame, choose, render only what is chosen.

The analysis function runs ``analysis.analyze_frame`` + ``analysis.score_crops`` on each
frame; the publish function runs ``select``, ``render_poster`` and ``build_manifest``;
``run_video`` chains the same functions on one machine.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from . import scoring
from .analysis import (Candidate, FrameResult, Job, analyze_frame, job_scenarios,  # noqa: F401 (re-exported)
                       resolve_scenarios, score_crops, select)
from .compose import compose
from .cropping import SCENARIOS, Scenario
from .faces import FaceDetector
from .frames import FrameSampler
from .geometry import Box
from .settings import Settings
from .templates import Template, load as load_template


def to_poster_space(b: Box, crop: Box, sc: Scenario) -> Box:
    kx, ky = sc.width / crop.w, sc.height / crop.h
    return Box((b.x - crop.x) * kx, (b.y - crop.y) * ky, b.w * kx, b.h * ky)


def render_poster(image: np.ndarray, cand: Candidate, tpl: Template, meta: dict):
    """Cut, resize to the scenario's size, and compose ``tpl`` (M4 resize, M8–M9)."""
    sc = SCENARIOS[cand.scenario]
    x, y, w, h = (int(v) for v in cand.crop.to_list(None))
    crop = image[y:y + h, x:x + w]
    interp = cv2.INTER_AREA if w > sc.width else cv2.INTER_CUBIC
    canvas = cv2.resize(crop, (sc.width, sc.height), interpolation=interp)
    area = Box(0, 0, sc.width, sc.height)
    faces = [p for p in (to_poster_space(b, cand.crop, sc).intersection(area) for b in cand.faces) if p]
    sal = to_poster_space(cand.salient, cand.crop, sc).intersection(area) if cand.salient else None
    group = to_poster_space(cand.group, cand.crop, sc).intersection(area) if cand.group else None
    poster, placements = compose(canvas, tpl, cand.scenario, meta, faces, sal, group)
    return poster, placements, {"faces": faces, "salient": sal, "group": group}


def poster_record(path: str, tpl: Template, cand: Candidate, placements, rank: int, link: str = "",
                  max_upscale: float = 2.0) -> dict:
    sc = SCENARIOS[cand.scenario]
    layers = [p.to_dict() for p in placements]
    return {"path": path, "link": link, "template": tpl.name, "scenario": cand.scenario, "rank": rank,
            "width": sc.width, "height": sc.height, "frame_time": round(cand.frame_time, 3), "shot": cand.shot,
            "crop": cand.crop.to_list(None), "faces": [b.to_list() for b in cand.faces],
            "group": cand.group.to_list() if cand.group else None,
            "salient": cand.salient.to_list() if cand.salient else None,
            "upscale": round(cand.upscale, 2), "upscaled": cand.upscale > max_upscale,
            "faces_cut": list(cand.faces_cut),
            "layer_on_face": max([max(ly.get("faces_covered") or [0.0]) for ly in layers] or [0.0]),
            "layers": layers,
            "scores": {k: cand.scores[k] for k in ("sharpness", "expression", "aesthetics", "quality", "total")
                       if k in cand.scores} | ({"penalty": cand.scores["penalty"]} if "penalty" in cand.scores else {})}


def build_manifest(video: dict, job: Job, posters: list[dict], rejected: list[dict], settings: Settings) -> dict:
    return {"version": 1, "video": {**video, "link": job.link, "title": job.title, "id": job.video_id},
            "job": job.to_dict(), "posters": posters, "rejected": rejected, "warnings": text_warnings(posters),
            "settings": {"top_k": settings.score.top_k, "total_min": settings.score.total_min,
                         "sharpness_min": settings.score.sharpness_min,
                         "expression_min": settings.score.expression_min}}


def text_warnings(posters: list[dict]) -> list[str]:
    """What text could not be drawn as given (characters no bundled font draws, missing shaping),
    once per template layer: said in the manifest and by the CLI, never a silent box or gap."""
    out = {}
    for p in posters:
        for ly in p.get("layers", []):
            for k in ("dropped", "unshaped"):
                if ly.get(k):
                    out.setdefault(f"{p['template']} {ly['name']}: {ly[k]}", None)
    return list(out)


def poster_name(tpl: str, scenario: str, rank: int, t: float) -> str:
    return f"{tpl}/{scenario}/{rank:02d}_{t:08.2f}s.jpg"


class _Pool:
    """Best candidates of one template and scenario, bounded; near-duplicates collapse as they come,
    and each shot keeps a few, so the final choice can still reach for other shots (Q3)."""

    def __init__(self, size: int, s):
        self.size, self.s, self.items = size, s, []

    def add(self, c: Candidate) -> None:
        for i, o in enumerate(self.items):
            if scoring.hamming(o.dhash, c.dhash) <= self.s.dup_bits:
                if c.total > o.total:
                    self.items[i] = c
                return
        self.items.append(c)
        self.items.sort(key=lambda x: -x.total)
        per_shot: dict = {}
        keep = []
        for x in self.items:                   # at most k per shot, at most ``size`` in all
            per_shot[x.shot] = per_shot.get(x.shot, 0) + 1
            if per_shot[x.shot] <= self.s.top_k:
                keep.append(x)
        self.items = keep[:self.size]


def video_id_for(path: str) -> str:
    """A stable id: file name plus a short hash of size and first MiB (no full read)."""
    p = Path(path)
    h = hashlib.sha256(str(p.stat().st_size).encode())
    with open(p, "rb") as f:
        h.update(f.read(1 << 20))
    return f"{p.stem}-{h.hexdigest()[:10]}"


def run_video(path: str, out_dir: str, job: Job, settings: Settings | None = None, progress=None,
              debug: bool = False, detector: FaceDetector | None = None, feedback: dict | None = None) -> dict:
    """Whole video to posters on one machine. Writes posters and ``manifest.json`` under ``out_dir``.

    ``out_dir`` is checked and locked before the video is opened; output is staged inside it
    and moved into place only when every poster is rendered, manifest last (all-or-nothing,
    ``output.OutputDir``). When no poster passes, nothing is written and the manifest returned
    says why.
    """
    from .output import OutputDir

    settings = settings or Settings.from_env()
    templates = [load_template(t) for t in job.templates]
    scen = job_scenarios(job, templates)
    with OutputDir(out_dir) as out:
        sampler = FrameSampler(path, settings.frames)
        job.video_id = job.video_id or video_id_for(path)
        detector = detector or FaceDetector(settings.faces)
        s = settings.score
        pools: dict = {}
        frames: dict[int, bytes] = {}
        analyses: dict[int, FrameResult] = {}
        rejected = []
        analysed = 0
        for frame in sampler:
            analysed += 1
            if progress:
                progress(sampler.progress, f"frame {frame.time:6.1f}s")
            fr = analyze_frame(frame.image, detector, settings, frame.time, frame.index, frame.after_cut, frame.shot)
            kept = False
            said = set()
            for c in score_crops(frame.image, fr, scen, settings, templates):
                if c.rejected:
                    if c.scenario not in said:                   # once per scenario, whatever the template
                        said.add(c.scenario)
                        rejected.append(c.rejection())
                    continue
                pools.setdefault((c.template, c.scenario), _Pool(max(4 * s.top_k, 12), s)).add(c)
                kept = True
            if kept:
                frames[frame.index] = cv2.imencode(".png" if debug else ".jpg", frame.image,
                                                   [] if debug else [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
                analyses[frame.index] = fr
                live = {c.frame_index for p in pools.values() for c in p.items}
                for k in [k for k in frames if k not in live]:
                    del frames[k], analyses[k]
        rejected = [r.to_dict() for r in sampler.rejected] + rejected
        rejected.sort(key=lambda r: r["frame_time"])
        candidates = [c for p in pools.values() for c in p.items]
        chosen = select(candidates, templates, scen, settings, feedback)
        info = sampler.info.to_dict()
        info["path"] = os.path.basename(path)
        info.update(sampler.read_report())
        info["frames_sampled"] = analysed + len(sampler.rejected)     # candidates, kept or skipped
        info["cuts"] = [round(t, 2) for t in sampler.cuts]
        if not any(chosen.values()):
            return build_manifest(info, job, [], rejected, settings)    # nothing written: --out as it was
        stage = out.stage()
        posters = []
        meta = job.fields()
        decoded: dict[int, np.ndarray] = {}
        by_name = {t.name: t for t in templates}
        for (tname, sname), cands in chosen.items():
            for rank, c in enumerate(cands, 1):
                if c.frame_index not in decoded:
                    decoded[c.frame_index] = cv2.imdecode(np.frombuffer(frames[c.frame_index], np.uint8),
                                                          cv2.IMREAD_COLOR)
                img = decoded[c.frame_index]
                poster, placements, mapped = render_poster(img, c, by_name[tname], meta)
                rel = poster_name(tname, sname, rank, c.frame_time)
                dest = stage / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                _write(dest, poster, 90)
                posters.append(poster_record(rel, by_name[tname], c, placements, rank, job.link,
                                             settings.score.max_upscale))
                if debug:
                    from .overlay import debug_overlay
                    dbg = stage / "debug" / rel
                    dbg.parent.mkdir(parents=True, exist_ok=True)
                    _write(dbg, debug_overlay(img, analyses[c.frame_index], c, poster, placements, mapped,
                                              settings), 85)
                    posters[-1]["debug"] = "debug/" + rel
        manifest = build_manifest(info, job, posters, rejected, settings)
        from .gallery import contact_sheet, gallery_html, write_json
        sheet = contact_sheet(manifest, stage)
        if sheet is not None:
            _write(stage / "contact_sheet.jpg", sheet, 85)
        files = {str(f.relative_to(stage)) for f in stage.rglob("*") if f.is_file()}
        (stage / "index.html").write_text(gallery_html(manifest, files=files), encoding="utf-8")
        write_json(stage / "manifest.json", manifest)
        out.publish(stage)
    return manifest


def _write(path: Path, img: np.ndarray, quality: int) -> None:
    """A JPEG, or an ``OSError`` (a full disk must not pass silently as a missing poster)."""
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"cannot encode {path.name}")
    path.write_bytes(data.tobytes())
