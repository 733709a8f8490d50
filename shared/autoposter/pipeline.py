"""The method end to end: one frame (analyze → crop and score → render) and one video.

The per-frame steps are what the Lambda functions call (``analyze_frame`` in
detect, ``score_crops`` in crop, ``render_poster`` in compose, ``select`` and
``build_manifest`` in publish); ``run_video`` chains them on one machine.
Everything here is JSON-serialisable through ``to_dict``/``from_dict``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import scoring
from .cropping import SCENARIOS, Scenario, plan_crop
from .compose import compose
from .errors import SettingsError
from .faces import Face, FaceDetector
from .frames import FrameSampler
from .geometry import Box
from .images import downscale
from .saliency import saliency_map
from .settings import Settings
from .templates import Template, load as load_template


@dataclass
class Job:
    """What a user asks for: the video's link and metadata, templates, scenarios, k."""

    link: str = ""
    title: str = ""
    meta: dict = field(default_factory=dict)       # tagline, search_text, any other field
    templates: tuple = ("streaming",)
    scenarios: tuple | None = None                 # None: every scenario each template declares
    video_id: str = ""

    def fields(self) -> dict:
        out = {"title": self.title, "link": self.link, "search_text": self.title}
        out.update({k: v for k, v in self.meta.items() if v is not None})
        return out

    def to_dict(self) -> dict:
        return {"link": self.link, "title": self.title, "meta": self.meta, "templates": list(self.templates),
                "scenarios": list(self.scenarios) if self.scenarios else None, "video_id": self.video_id}

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(d.get("link", ""), d.get("title", ""), dict(d.get("meta") or {}),
                   tuple(d.get("templates") or ("streaming",)),
                   tuple(d["scenarios"]) if d.get("scenarios") else None, d.get("video_id", ""))


@dataclass
class FrameResult:
    """M2 + M3 for one frame: faces and the second region (frame pixels)."""

    time: float
    index: int
    width: int
    height: int
    faces: list
    salient: Box | None
    after_cut: bool = False

    def to_dict(self) -> dict:
        return {"time": round(self.time, 3), "index": self.index, "width": self.width, "height": self.height,
                "faces": [f.to_dict() for f in self.faces],
                "salient": self.salient.to_list() if self.salient else None, "after_cut": self.after_cut}

    @classmethod
    def from_dict(cls, d: dict) -> "FrameResult":
        return cls(float(d["time"]), int(d["index"]), int(d["width"]), int(d["height"]),
                   [Face.from_dict(f) for f in d["faces"]],
                   Box.from_list(d["salient"]) if d.get("salient") else None, bool(d.get("after_cut")))


@dataclass
class Candidate:
    """A crop of one frame for one scenario, with its scores (M10–M12) or its rejection."""

    frame_time: float
    frame_index: int
    scenario: str
    crop: Box
    group: Box | None
    faces: list                 # face boxes, frame pixels
    salient: Box | None
    scores: dict
    dhash: int
    rejected: str | None = None

    @property
    def total(self) -> float:
        return float(self.scores.get("total", 0.0))

    def rejection(self) -> dict:
        """The manifest's ``rejected`` entry for a candidate that failed a gate."""
        return {"frame_time": round(self.frame_time, 3), "scenario": self.scenario, "reason": self.rejected}

    def to_dict(self) -> dict:
        return {"frame_time": round(self.frame_time, 3), "frame_index": self.frame_index,
                "scenario": self.scenario, "crop": self.crop.to_list(None),
                "group": self.group.to_list() if self.group else None,
                "faces": [b.to_list() for b in self.faces],
                "salient": self.salient.to_list() if self.salient else None,
                "scores": self.scores, "dhash": format(self.dhash, "016x"), "rejected": self.rejected}

    @classmethod
    def from_dict(cls, d: dict) -> "Candidate":
        return cls(float(d["frame_time"]), int(d["frame_index"]), d["scenario"], Box.from_list(d["crop"]),
                   Box.from_list(d["group"]) if d.get("group") else None,
                   [Box.from_list(b) for b in d["faces"]],
                   Box.from_list(d["salient"]) if d.get("salient") else None,
                   dict(d["scores"]), int(d["dhash"], 16), d.get("rejected"))


def resolve_scenarios(names) -> list[Scenario]:
    out = []
    for n in names:
        if n not in SCENARIOS:
            raise SettingsError(f"unknown scenario {n!r} (expected one of {', '.join(SCENARIOS)})",
                                code="Settings::UnknownScenario")
        out.append(SCENARIOS[n])
    return out


def job_scenarios(job: Job, templates: list[Template]) -> list[str]:
    """Scenarios to crop for: the job's list, or the union of the templates' own (in M7 order)."""
    wanted = set(job.scenarios) if job.scenarios else {s for t in templates for s in t.scenarios}
    resolve_scenarios(wanted)
    return [s for s in SCENARIOS if s in wanted]


def analyze_frame(image: np.ndarray, detector: FaceDetector, settings: Settings,
                  time: float = 0.0, index: int = 0, after_cut: bool = False) -> FrameResult:
    faces = detector.detect(image)
    sal = saliency_map(image, settings.saliency)
    h, w = image.shape[:2]
    return FrameResult(time, index, w, h, faces, sal.region, after_cut)


def _face_inside(face: Box, crop: Box) -> bool:
    return crop.contains_point(face.center)


def score_crops(image: np.ndarray, fr: FrameResult, scenarios: list[str], settings: Settings) -> list[Candidate]:
    """M4–M7 crop per scenario, then M10–M12 scores and gates."""
    s = settings.score
    boxes = [f.box for f in fr.faces]
    expr_of: dict[int, float] = {}          # a face's expression does not depend on the scenario
    out = []
    for name in scenarios:
        sc = SCENARIOS[name]
        window, group, _ = plan_crop(fr.width, fr.height, sc, boxes, fr.salient, settings.crop)
        x, y, w, h = (int(v) for v in window.to_list(None))
        crop = downscale(image[y:y + h, x:x + w], 512)    # every measure below works at ≤ 512 px
        sharp = scoring.sharpness(crop, s.sharpness_half)
        inside = [i for i, f in enumerate(fr.faces) if _face_inside(f.box, window)]
        expr = None
        if inside:
            for i in inside:
                if i not in expr_of:
                    f = fr.faces[i]
                    expr_of[i] = scoring.expression(image, f.box, f.landmarks, f.confidence)["score"]
            parts = [expr_of[i] for i in inside]
            areas = [fr.faces[i].box.area for i in inside]
            expr = float(np.average(parts, weights=areas))
        k = crop.shape[1] / w
        subjects = [b.shift(-x, -y).scale(k) for b in ([group] if group else ([fr.salient] if fr.salient else []))]
        aest = scoring.aesthetics(crop, subjects)
        tot = scoring.total(sharp, aest["score"], expr, s)
        scores = {"sharpness": round(sharp, 4), "expression": None if expr is None else round(expr, 4),
                  "aesthetics": aest["score"], "total": round(tot, 4)}
        rejected = None
        if sharp < s.sharpness_min:
            rejected = f"blurry: sharpness {sharp:.2f} < {s.sharpness_min}"
        elif expr is not None and expr < s.expression_min:
            rejected = f"expression: {expr:.2f} < {s.expression_min}"
        elif tot < s.total_min:
            rejected = f"low_score: total {tot:.2f} < {s.total_min}"
        out.append(Candidate(fr.time, fr.index, name, window, group, boxes, fr.salient, scores,
                             scoring.dhash(crop), rejected))
    return out


def select(candidates: list[Candidate], templates: list[Template], scenarios: list[str],
           settings: Settings, feedback: dict | None = None) -> dict[tuple[str, str], list[Candidate]]:
    """M12 (+M13): per template and scenario, the top k accepted, never two near-duplicates."""
    s = settings.score

    def score(c: Candidate) -> float:
        fb = (feedback or {}).get(f"{c.scenario}@{c.frame_time:.1f}")
        if not fb:
            return c.total
        return scoring.blend_feedback(c.total, fb.get("ctr"), fb.get("retention"), s.feedback_weight)

    chosen = {}
    for tpl in templates:
        for name in scenarios:
            if name not in tpl.scenarios:
                continue
            pool = [c for c in candidates if c.scenario == name and c.rejected is None]
            chosen[(tpl.name, name)] = scoring.choose(pool, s.top_k, s.dup_bits, score=score)
    return chosen


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


def poster_record(path: str, tpl: Template, cand: Candidate, placements, rank: int, link: str = "") -> dict:
    sc = SCENARIOS[cand.scenario]
    return {"path": path, "link": link, "template": tpl.name, "scenario": cand.scenario, "rank": rank,
            "width": sc.width, "height": sc.height, "frame_time": round(cand.frame_time, 3),
            "crop": cand.crop.to_list(None), "faces": [b.to_list() for b in cand.faces],
            "group": cand.group.to_list() if cand.group else None,
            "salient": cand.salient.to_list() if cand.salient else None,
            "layers": [p.to_dict() for p in placements],
            "scores": {k: cand.scores[k] for k in ("sharpness", "expression", "aesthetics", "total")}}


def build_manifest(video: dict, job: Job, posters: list[dict], rejected: list[dict], settings: Settings) -> dict:
    return {"version": 1, "video": {**video, "link": job.link, "title": job.title, "id": job.video_id},
            "job": job.to_dict(), "posters": posters, "rejected": rejected,
            "settings": {"top_k": settings.score.top_k, "total_min": settings.score.total_min,
                         "sharpness_min": settings.score.sharpness_min,
                         "expression_min": settings.score.expression_min}}


def poster_name(tpl: str, scenario: str, rank: int, t: float) -> str:
    return f"{tpl}/{scenario}/{rank:02d}_{t:08.2f}s.jpg"


class _Pool:
    """Best candidates of one scenario, bounded, with near-duplicates collapsed as they come."""

    def __init__(self, size: int, dup_bits: int):
        self.size, self.dup_bits, self.items = size, dup_bits, []

    def add(self, c: Candidate) -> None:
        for i, o in enumerate(self.items):
            if scoring.hamming(o.dhash, c.dhash) <= self.dup_bits:
                if c.total > o.total:
                    self.items[i] = c
                return
        self.items.append(c)
        self.items.sort(key=lambda x: -x.total)
        del self.items[self.size:]


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

    Output is staged in a hidden folder inside ``out_dir`` and moved into place
    only when every poster is rendered, manifest last (all-or-nothing).
    """
    settings = settings or Settings.from_env()
    templates = [load_template(t) for t in job.templates]
    scen = job_scenarios(job, templates)
    sampler = FrameSampler(path, settings.frames)
    job.video_id = job.video_id or video_id_for(path)
    detector = detector or FaceDetector(settings.faces)
    s = settings.score
    pools = {name: _Pool(max(4 * s.top_k, 12), s.dup_bits) for name in scen}
    frames: dict[int, bytes] = {}
    analyses: dict[int, FrameResult] = {}
    rejected = []
    analysed = 0
    for frame in sampler:
        analysed += 1
        if progress:
            progress(sampler.progress, f"frame {frame.time:6.1f}s")
        fr = analyze_frame(frame.image, detector, settings, frame.time, frame.index, frame.after_cut)
        kept = False
        for c in score_crops(frame.image, fr, scen, settings):
            if c.rejected:
                rejected.append(c.rejection())
                continue
            pools[c.scenario].add(c)
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

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
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
                cv2.imwrite(str(dest), poster, [cv2.IMWRITE_JPEG_QUALITY, 90])
                posters.append(poster_record(rel, by_name[tname], c, placements, rank, job.link))
                if debug:
                    from .overlay import debug_overlay
                    dbg = stage / "debug" / rel
                    dbg.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(dbg), debug_overlay(img, analyses[c.frame_index], c, poster, placements,
                                                        mapped, settings), [cv2.IMWRITE_JPEG_QUALITY, 85])
                    posters[-1]["debug"] = "debug/" + rel
        info = sampler.info.to_dict()
        info["path"] = os.path.basename(path)
        info["frames_decoded"] = sampler.decoded
        info["frames_sampled"] = analysed + len(sampler.rejected)     # candidates, kept or skipped
        info["cuts"] = [round(t, 2) for t in sampler.cuts]
        manifest = build_manifest(info, job, posters, rejected, settings)
        from .gallery import contact_sheet, gallery_html, write_json
        (stage / "index.html").write_text(gallery_html(manifest), encoding="utf-8")
        sheet = contact_sheet(manifest, stage)
        if sheet is not None:
            cv2.imwrite(str(stage / "contact_sheet.jpg"), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
        write_json(stage / "manifest.json", manifest)
        _publish_tree(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return manifest


def _publish_tree(stage: Path, out: Path) -> None:
    """Move staged files into ``out``: posters first, ``manifest.json`` last."""
    files = sorted((p for p in stage.rglob("*") if p.is_file()), key=lambda p: p.name == "manifest.json")
    for f in files:
        dest = out / f.relative_to(stage)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, dest)
