"""One analysis per frame (M2–M7, M10–M12) and the choice among candidates (M12–M13).

This is what the analysis function runs on each frame of its batch and what ``run_video``
runs on one machine: faces and the salient region, a crop window per scenario, the
scores and gates. It draws nothing (no Pillow), so the analysis function carries no
imaging layer; rendering lives in ``pipeline.render_poster``. Everything here is
JSON-serialisable through ``to_dict``/``from_dict``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import scoring
from .cropping import SCENARIOS, Scenario, plan_crop
from .errors import SettingsError
from .faces import Face, FaceDetector
from .geometry import Box
from .images import downscale
from .saliency import saliency_map
from .settings import Settings
from .templates import Template


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
