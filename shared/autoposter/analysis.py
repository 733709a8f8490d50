"""One analysis per frame (M2–M7, M10–M12) and the choice among candidates (M12–M13).

This is what the analysis function runs on each frame of its batch and what ``run_video``
runs on one machine: faces and the salient region, a crop window per scenario, the
scores and gates. It draws nothing (no Pillow), so the analysis function carries no
imaging layer; rendering lives in ``pipeline.render_poster``. Everything here is
JSON-serialisable through ``to_dict``/``from_dict``.
"""
from __future__ import annotations

import hashlib

from dataclasses import dataclass, field

import numpy as np

from . import emotion, scoring
from .cropping import SCENARIOS, Scenario, inside_share, plan_crop
from .errors import SettingsError
from .faces import Face, FaceDetector
from .fitting import backdrop_share, refit
from .people import Person
from .geometry import Box
from .images import Pyramid, downscale
from .quality import quality
from .saliency import profile, saliency_map
from .textcards import overlay_cover, text_cover
from .settings import Settings
from .templates import Template


def variant_id(template: str, scenario: str, frame_time: float, crop) -> str:
    """A poster's stable id for A/B tests and feedback: the same choice gets the same id in every run."""
    key = f"{template}/{scenario}/{frame_time:.3f}/{','.join(str(int(v)) for v in crop)}"
    return "v-" + hashlib.sha256(key.encode()).hexdigest()[:10]



@dataclass
class Job:
    """What a user asks for: the video's link and metadata, templates, scenarios, k."""

    link: str = ""
    title: str = ""
    meta: dict = field(default_factory=dict)       # tagline, search_text, any other field
    templates: tuple = ("streaming",)
    scenarios: tuple | None = None                 # None: every scenario each template declares
    video_id: str = ""
    overrides: dict = field(default_factory=dict)  # S14: an editor's pins, vetoes, languages (editors.Overrides)
    variants: int = 0                              # S14: posters per scenario that differ on purpose (A/B tests)

    def fields(self, texts: dict | None = None) -> dict:
        """The metadata a template's fields draw from; ``texts`` (a language's title and tagline) on top."""
        out = {"title": self.title, "link": self.link, "search_text": self.title}
        out.update({k: v for k, v in self.meta.items() if v is not None})
        if texts:
            out.update({k: v for k, v in texts.items() if v})
            out["search_text"] = texts.get("title", out["search_text"])
        return out

    def to_dict(self) -> dict:
        return {"link": self.link, "title": self.title, "meta": self.meta, "templates": list(self.templates),
                "scenarios": list(self.scenarios) if self.scenarios else None, "video_id": self.video_id,
                "overrides": self.overrides, "variants": self.variants}

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(d.get("link", ""), d.get("title", ""), dict(d.get("meta") or {}),
                   tuple(d.get("templates") or ("streaming",)),
                   tuple(d["scenarios"]) if d.get("scenarios") else None, d.get("video_id", ""),
                   dict(d.get("overrides") or {}), int(d.get("variants") or 0))


HEAD_INSIDE = 0.6      # a faceless head this much inside a head with a face is the same head placed twice
FACE_HAIR = 0.2        # a face no person holds: its head runs this much of the grown face higher (the hair)
HEAD_CROWN, HEAD_CHIN = 1.8, 0.75   # a head runs this many eye-to-mouth distances above the eyes and below the mouth
                                    # (labelled set, 62 faces: 1.48-2.29 and 0.49-0.99, 10th-90th percentile)


@dataclass
class FrameResult:
    """M2 + M3 for one frame: faces and the second region (frame pixels), its shot, its text cover.

    Everything is measured on the active picture (``active``, inside any letterbox bars) and
    stated in frame pixels. ``expressions`` holds each face's M11 score: it does not depend on
    the crop, so it is measured once here and scoring a crop needs no model at all."""

    time: float
    index: int
    width: int
    height: int
    faces: list
    salient: Box | None
    after_cut: bool = False
    shot: int = 0                 # M1's cut detection: frames of one shot share it
    text: float = 0.0             # share of the frame under overlaid text lines (title cards, credits)
    quality: float = 1.0          # BRISQUE quality of the frame in [0, 1] (quality.py)
    active: Box | None = None     # Q6: the active picture (None: the whole frame)
    expressions: list = field(default_factory=list)   # M11 per face, in [0, 1]
    people: list = field(default_factory=list)        # Q7: Person (head with hair and ears, body), frame pixels
    salient_source: str = "classical"                 # which map drew the second region (M3)
    overlay: float = 0.0          # share of the frame under burnt-in text, tickers, logos, drawn boxes
    salient_profile: dict = field(default_factory=dict)   # the map along each axis (saliency.profile), active picture

    @property
    def area(self) -> Box:
        return self.active or Box(0, 0, self.width, self.height)

    def face_boxes(self, margin: float) -> list[Box]:
        """Each face as a person sees it: the detector's box grown by ``margin`` each side, inside the picture."""
        from .cropping import person_face
        a = self.area
        return [person_face(f.box.shift(-a.x, -a.y), margin, a.w, a.h).shift(a.x, a.y) for f in self.faces]

    def heads(self, margin: float, share: float = 0.5) -> list[Box]:
        """Every head in the frame as a person sees it — hair and ears, frontal, profile or from behind: a
        person's head box, joined with the face found most inside it (at least ``share`` of the grown face
        box), and the faces no person holds, with room for their hair (``FACE_HAIR``: on the people bench's
        hand-drawn heads, the hair reached 0.14–0.46 face heights above the detector's box, 10th–90th
        percentile). The one notion the crop (Q1), the layers (Q2) and the manifest share.

        A person holds one face: a second face inside a large head box is someone else's. A head without
        a face lying mostly (``HEAD_INSIDE``) within a head with one is the same head placed twice
        (landmarks that mix two people) and is dropped."""
        return [h for h, _ in self.marked_heads(margin, share)]

    def marked_heads(self, margin: float, share: float = 0.5) -> list[tuple[Box, bool]]:
        """``heads``, each with whether it may lead the window (M5, M6): not a back view found on the
        learned map's region (``people.Person.lead``)."""
        faces = self.face_boxes(margin)
        heads, faced, used, leads = [], [], set(), []
        for p in self.people:
            head, best, most = p.head, None, 0.0
            for i, f in enumerate(faces):               # a person has one face: the one most inside its head
                inter = f.intersection(p.head)
                if i not in used and inter and inter.area >= share * f.area and inter.area / f.area > most:
                    best, most = i, inter.area / f.area
            if best is not None:
                used.add(best)
                head = head.union(faces[best])
            heads.append(head.clip(self.width, self.height) or head)
            faced.append(best is not None)
            leads.append(p.lead or best is not None)
        heads += [Box(f.x, f.y - FACE_HAIR * f.h, f.w, f.h * (1 + FACE_HAIR)).clip(self.width, self.height) or f
                  for i, f in enumerate(faces) if i not in used]
        faced += [True] * (len(heads) - len(faced))
        leads += [True] * (len(heads) - len(leads))
        return [(h, leads[i]) for i, h in enumerate(heads)
                if faced[i] or not any(faced[j] and j != i and inside_share(h, heads[j]) >= HEAD_INSIDE
                                       for j in range(len(heads)))]

    def bodies(self) -> list[Box]:
        return [p.box for p in self.people]

    def head_out(self, share: float) -> float:
        """The most of a lead's head (faces of at least ``share`` of the largest) that lies above the picture:
        the head's height from its face's landmarks (``HEAD_CROWN``, ``HEAD_CHIN``), since the boxes the
        detectors give end at the picture's edge. A close-up under a letterbox slices the hair whatever
        the window; no crop can mend it, another frame can."""
        faces = [f for f in self.faces if len(f.landmarks) == 5]
        if not faces:
            return 0.0
        big = max(f.box.area for f in faces)
        worst = 0.0
        for f in faces:
            if f.box.area < share * big:
                continue
            (_, ly), (_, ry), _, (_, mly), (_, mry) = f.landmarks
            eyes, mouth = (ly + ry) / 2, (mly + mry) / 2
            d = mouth - eyes
            if d <= 0:
                continue
            crown = eyes - HEAD_CROWN * d
            worst = max(worst, min(1.0, max(0.0, self.area.y - crown) / ((HEAD_CROWN + 1 + HEAD_CHIN) * d)))
        return worst

    def to_dict(self) -> dict:
        return {"time": round(self.time, 3), "index": self.index, "width": self.width, "height": self.height,
                "faces": [f.to_dict() for f in self.faces],
                "salient": self.salient.to_list() if self.salient else None, "after_cut": self.after_cut,
                "shot": self.shot, "text": round(self.text, 4), "quality": round(self.quality, 4),
                "active": self.area.to_list(None), "expressions": [round(e, 4) for e in self.expressions],
                "people": [p.to_dict() for p in self.people], "salient_source": self.salient_source,
                "overlay": round(self.overlay, 4), "salient_profile": self.salient_profile}

    @classmethod
    def from_dict(cls, d: dict) -> "FrameResult":
        return cls(float(d["time"]), int(d["index"]), int(d["width"]), int(d["height"]),
                   [Face.from_dict(f) for f in d["faces"]],
                   Box.from_list(d["salient"]) if d.get("salient") else None, bool(d.get("after_cut")),
                   int(d.get("shot", 0)), float(d.get("text", 0.0)), float(d.get("quality", 1.0)),
                   Box.from_list(d["active"]) if d.get("active") else None,
                   [float(e) for e in d.get("expressions", [])], [Person.from_dict(p) for p in d.get("people", [])],
                   str(d.get("salient_source", "classical")), float(d.get("overlay", 0.0)),
                   dict(d.get("salient_profile") or {}))


@dataclass
class Candidate:
    """A crop of one frame for one scenario (and template: fixed layers move the window), with
    its scores (M10–M12), what it traded (faces cut, layer cover, upscale) or its rejection."""

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
    template: str | None = None
    shot: int = 0
    faces_cut: tuple = ()
    layer_cover: float = 0.0
    upscale: float = 1.0
    active: Box | None = None   # Q6: the active picture the crop stays inside
    bodies: list = field(default_factory=list)   # Q2, Q7: people's bodies, frame pixels (layers keep off them)
    mode: str = "crop"          # "crop" or "fit" (a window larger than the picture, the rest a backdrop)
    backdrop: float = 0.0       # fit: share of the poster outside the picture

    @property
    def total(self) -> float:
        return float(self.scores.get("total", 0.0))

    def rejection(self) -> dict:
        """The manifest's ``rejected`` entry for a candidate that failed a gate."""
        return {"frame_time": round(self.frame_time, 3), "scenario": self.scenario, "reason": self.rejected}

    def to_dict(self) -> dict:
        return {"frame_time": round(self.frame_time, 3), "frame_index": self.frame_index,
                "scenario": self.scenario, "template": self.template, "shot": self.shot,
                "crop": self.crop.to_list(None),
                "group": self.group.to_list() if self.group else None,
                "faces": [b.to_list() for b in self.faces],
                "salient": self.salient.to_list() if self.salient else None,
                "scores": self.scores, "dhash": format(self.dhash, "016x"), "rejected": self.rejected,
                "faces_cut": list(self.faces_cut), "layer_cover": round(self.layer_cover, 4),
                "upscale": round(self.upscale, 3), "active": self.active.to_list(None) if self.active else None,
                "bodies": [b.to_list() for b in self.bodies], "mode": self.mode,
                "backdrop": round(self.backdrop, 3)}

    @classmethod
    def from_dict(cls, d: dict) -> "Candidate":
        return cls(float(d["frame_time"]), int(d["frame_index"]), d["scenario"], Box.from_list(d["crop"]),
                   Box.from_list(d["group"]) if d.get("group") else None,
                   [Box.from_list(b) for b in d["faces"]],
                   Box.from_list(d["salient"]) if d.get("salient") else None,
                   dict(d["scores"]), int(d["dhash"], 16), d.get("rejected"), d.get("template"),
                   int(d.get("shot", 0)), tuple(d.get("faces_cut", ())), float(d.get("layer_cover", 0.0)),
                   float(d.get("upscale", 1.0)), Box.from_list(d["active"]) if d.get("active") else None,
                   [Box.from_list(b) for b in d.get("bodies", [])], d.get("mode", "crop"),
                   float(d.get("backdrop", 0.0)))


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


@dataclass
class Detectors:
    """The models a frame's analysis runs: faces (M2) and people (Q7), loaded once per process."""

    faces: FaceDetector
    people: object = None          # people.PersonDetector, or None (faces only)

    @classmethod
    def load(cls, settings: Settings) -> "Detectors":
        from .people import PersonDetector
        return cls(FaceDetector(settings.faces), PersonDetector(settings.people) if settings.people.enabled else None)


def analyze_frame(image: np.ndarray, detector, settings: Settings,
                  time: float = 0.0, index: int = 0, after_cut: bool = False, shot: int = 0,
                  active: Box | None = None) -> FrameResult:
    """M2, M3, M11's per-face score, Q7's people, text and overlay cover and quality of one frame, on its
    active picture. ``detector``: ``Detectors`` (or a lone ``FaceDetector``: faces only)."""
    det = detector if isinstance(detector, Detectors) else Detectors(detector)
    h, w = image.shape[:2]
    area = (active.clip(w, h) if active else None) or Box(0, 0, w, h)
    x0, y0 = int(area.x), int(area.y)
    pic = image[y0:y0 + int(area.h), x0:x0 + int(area.w)]
    faces = [Face(f.box.shift(x0, y0), f.confidence, tuple((x + x0, y + y0) for x, y in f.landmarks))
             for f in det.faces.detect(pic)]
    people = []
    if det.people is not None:
        people = [p.shift(x0, y0) for p in det.people.detect(pic)]
    sal = saliency_map(pic, settings.saliency)
    salient = sal.region.shift(x0, y0) if sal.region else None
    return FrameResult(time, index, w, h, faces, salient, after_cut, shot, text_cover(pic), quality(pic),
                       area if (area.w, area.h) != (w, h) else None, face_expressions(image, faces, settings),
                       people, sal.source, overlay_cover(pic),
                       profile(sal.map))


def face_expressions(image: np.ndarray, faces: list, settings: Settings) -> list[float]:
    """M11 per face: the emotion model's fitness mixed with the eyes-open measure (a blink is what the
    classes do not see), ``expression_model_weight`` : the rest."""
    if not faces:
        return []
    model = emotion.poster_scores(image, [f.box for f in faces])
    wm = settings.score.expression_model_weight
    return [wm * model[i][0] + (1 - wm) * scoring.expression(image, f.box, f.landmarks, f.confidence).get("eyes_open", 0.5)
            for i, f in enumerate(faces)]


def score_crops(image: np.ndarray, fr: FrameResult, scenarios: list[str], settings: Settings,
                templates: list[Template] | None = None, focus: tuple | None = None) -> list[Candidate]:
    """M4–M7 crop per scenario and template, then M10–M12 scores, gates and penalties.

    Templates matter to the window: their fixed layers must not land on a kept face (Q2), so a
    window is planned per (template, scenario); windows that come out equal share their scores.
    Without templates, one window per scenario (no fixed layer to avoid). Windows stay inside the
    active picture (Q6). No model runs here: a stored analysis can be rescored for new templates.
    """
    area = fr.area
    if len(fr.expressions) != len(fr.faces):              # a FrameResult made by hand: measure M11 now
        fr.expressions = face_expressions(image, fr.faces, settings)
    boxes = [f.box for f in fr.faces]
    marked = fr.marked_heads(settings.crop.face_margin)      # every head as a person sees it: what crops keep whole
    heads = [h for h, _ in marked]
    bodies = fr.bodies()
    local = [b.shift(-area.x, -area.y) for b in boxes]
    heads_all_local = [b.shift(-area.x, -area.y) for b in heads]
    heads_local = heads_all_local if fr.people else None
    leads = [lead for _, lead in marked] if fr.people else None
    bodies_local = [b.shift(-area.x, -area.y) for b in bodies]
    sal_local = fr.salient.shift(-area.x, -area.y) if fr.salient else None
    faces_local = [b.shift(-area.x, -area.y) for b in fr.face_boxes(settings.crop.face_margin)]
    by_window: dict[tuple, tuple] = {}
    head_out = fr.head_out(settings.crop.person_share) if settings.score.source_cut_penalty > 0 else 0.0
    views = FrameViews(image)
    pairs = [(t, name) for name in scenarios for t in (templates or [None]) if t is None or name in t.scenarios]
    out = []
    for tpl, name in pairs:
        sc = SCENARIOS[name]
        avoid = tpl.fixed_fractions(name) if tpl is not None else ()
        plan = plan_crop(int(area.w), int(area.h), sc, local, sal_local, settings.crop, avoid, heads_local,
                         bodies_local, None if focus is None else (focus[0] - area.x, focus[1] - area.y),
                         fr.salient_profile, leads)
        plans = [plan]
        if focus is None:                                      # Q1/Q2/Q7: a larger window where the crop fails
            plans.insert(0, refit(plan, int(area.w), int(area.h), heads_all_local, bodies_local, settings.crop,
                                  avoid, tpl.free_fractions(name) if tpl is not None else (),
                                  tpl.fit if tpl is not None else "auto", sal_local, clear=True,
                                  faces=faces_local, leads=leads))
        crop = plans[-1]
        if plans[0] == crop or heads_all_local or (tpl is not None and tpl.fit != "auto"):
            plans = plans[:1]           # only a subject fit (nobody in the frame) may fall back to its crop:
                                        # with people, judges preferred the fit (bench/results/ab-fit-people-*)
        cand = _candidate(views, fr, plans[0], area, heads, bodies, sc, name, tpl, settings, by_window, head_out)
        if cand.rejected is not None and len(plans) > 1:   # its backdrop's penalty must not cost the moment
            alt = _candidate(views, fr, crop, area, heads, bodies, sc, name, tpl, settings, by_window, head_out)
            cand = alt if alt.rejected is None else cand
        out.append(cand)
    return out


class FrameViews:
    """The copies of one frame its windows are scored on, made once: the frame in grey (sharpness,
    exposure, contrast and the hash are grey measures, so a window resizes one channel, not three)
    and its colour halvings (colourfulness, a global statistic, reads a window from the smallest
    halving still larger than the measure's size)."""

    def __init__(self, image: np.ndarray):
        self.image = image
        self._gray = None
        self.pyramid = Pyramid(image)

    @property
    def gray(self) -> np.ndarray:
        if self._gray is None:
            self._gray = scoring._gray(self.image)
        return self._gray

    def colour(self, x: int, y: int, w: int, h: int, side: int) -> np.ndarray:
        """The window (frame pixels) in colour, no larger than ``side``."""
        img, n = self.pyramid.for_shrink(max(w, h) / side, 2.0)   # the last halving still ≥ side
        lh, lw = img.shape[:2]                     # a halving drops an odd last row or column: stay inside
        x0, y0 = min(x >> n, lw - 1), min(y >> n, lh - 1)
        x1, y1 = max((x + w) >> n, x0 + 1), max((y + h) >> n, y0 + 1)
        return downscale(img[y0:y1, x0:x1], side)


def _candidate(views: FrameViews, fr: FrameResult, plan, area: Box, heads, bodies, sc: Scenario, name: str, tpl, settings,
               by_window: dict, head_out: float = 0.0) -> "Candidate":
    """One plan's candidate: the window's scores (shared by equal windows), then the penalties for a cut
    head, a covered head, a fit's backdrop and a head the picture slices (``head_out``, the frame's), and
    M12's gate on the result."""
    s = settings.score
    window = plan.window.shift(area.x, area.y)
    group = plan.group.shift(area.x, area.y) if plan.group else None
    x, y, w, h = (int(v) for v in window.to_list(None))
    if (x, y, w, h, name) not in by_window:
        by_window[(x, y, w, h, name)] = _score_window(views, fr, window, group, heads, sc, settings)
    scores, digest, upscale, rejected = by_window[(x, y, w, h, name)]
    scores = dict(scores)
    penalty = 1.0
    if plan.faces_cut:
        penalty *= s.cut_penalty
    if plan.layer_cover > settings.crop.layer_cover:
        penalty *= s.cover_penalty
    backdrop = backdrop_share(window, area) if plan.mode == "fit" else 0.0
    if backdrop > 0:
        penalty *= 1.0 - s.fit_penalty * backdrop
    if head_out > 0:
        penalty *= 1.0 - s.source_cut_penalty * head_out
    if penalty < 1.0:
        scores["penalty"] = round(scores.get("penalty", 1.0) * penalty, 4)
        scores["total"] = round(scores["total"] * penalty, 4)
        if rejected is None and scores["total"] < s.total_min:      # M12's gate sees every penalty
            rejected = f"low_score: total {scores['total']:.2f} < {s.total_min}"
    return Candidate(fr.time, fr.index, name, window, group, heads, fr.salient, scores, digest,
                     rejected, tpl.name if tpl else None, fr.shot, plan.faces_cut, plan.layer_cover,
                     upscale, fr.active, bodies, plan.mode, backdrop)


def _score_window(views: FrameViews, fr: FrameResult, window: Box, group: Box | None, heads: list, sc: Scenario,
                  settings: Settings):
    """Scores of one window: sharpness at the poster's own scale (Q4), expression of the faces it
    keeps, aesthetics; the penalties for blow-ups and text cards; the gate that rejects it."""
    s = settings.score
    _, _, w, h = (int(v) for v in window.to_list(None))
    upscale = max(sc.width / max(w, 1), sc.height / max(h, 1))
    shown = window.intersection(fr.area) or window       # a fit window is judged on the picture it shows
    x, y, cw, ch = (int(v) for v in shown.to_list(None))
    region = views.gray[y:y + ch, x:x + cw]
    crop = downscale(region, 512)                         # the other measures work at ≤ 512 px (grey)
    out = (max(1, round(sc.width * cw / max(w, 1))), max(1, round(sc.height * ch / max(h, 1))))
    sharp = scoring.sharpness_at_output(region, out, s.sharpness_half, reduced=crop)
    grown = fr.face_boxes(settings.crop.face_margin)
    inside = [i for i, b in enumerate(grown) if inside_share(b, window) >= settings.crop.whole]
    expr = None
    if inside:
        expr = float(np.average([fr.expressions[i] for i in inside], weights=[fr.faces[i].box.area for i in inside]))
    k = crop.shape[1] / max(cw, 1)
    subjects = [b.shift(-x, -y).scale(k) for b in ([group] if group else ([fr.salient] if fr.salient else []))]
    aest = scoring.aesthetics(crop, subjects, weights=s.measure_weights,
                              in_colour=views.colour(x, y, cw, ch, scoring.AESTHETICS_SIDE))
    aesthetics = s.quality_weight * fr.quality + (1 - s.quality_weight) * aest["score"]
    tot = scoring.total(sharp, aesthetics, expr, s)
    penalty = 1.0
    if fr.overlay > s.overlay_min:                        # burnt-in text, tickers, captions (Q3)
        penalty *= 1.0 - s.overlay_penalty * min(1.0, (fr.overlay - s.overlay_min) / (s.overlay_full - s.overlay_min))
    if upscale > s.max_upscale:                           # a blow-up ranks below sharper alternatives
        penalty *= s.upscale_penalty
    if fr.text >= s.text_cover and not fr.faces:          # a title card or credits: any subject wins
        penalty *= s.text_penalty
    scores = {"sharpness": round(sharp, 4), "expression": None if expr is None else round(expr, 4),
              "aesthetics": round(aesthetics, 4), "quality": round(fr.quality, 4), "total": round(tot * penalty, 4)}
    if penalty < 1.0:
        scores["penalty"] = round(penalty, 4)
    rejected = None
    if sharp < s.sharpness_min:
        rejected = f"blurry: sharpness {sharp:.2f} < {s.sharpness_min}"
    elif expr is not None and expr < s.expression_min:
        rejected = f"expression: {expr:.2f} < {s.expression_min}"
    elif tot * penalty < s.total_min:
        rejected = f"low_score: total {tot * penalty:.2f} < {s.total_min}"
    return scores, scoring.dhash(crop), upscale, rejected


def select(candidates: list[Candidate], templates: list[Template], scenarios: list[str],
           settings: Settings, feedback: dict | None = None) -> dict[tuple[str, str], list[Candidate]]:
    """M12 (+M13, Q3): per template and scenario, the top k accepted — one per shot while shots
    last, never two near-duplicates, never two of one moment. Q8: when none passed the gates and
    ``fill_missing`` is on, the best of the rejected stands in, still carrying its reason (the
    manifest marks it ``below_threshold``); a format is empty only when the video offered no frame."""
    s = settings.score


    chosen = {}
    for tpl in templates:
        def score(c: Candidate, tname=tpl.name) -> float:
            fb = (feedback or {}).get(f"{c.scenario}@{c.frame_time:.1f}") or \
                (feedback or {}).get(variant_id(tname, c.scenario, c.frame_time, c.crop.to_list(None)))
            if not fb:
                return c.total
            return scoring.blend_feedback(c.total, fb.get("ctr"), fb.get("retention"), s.feedback_weight)

        for name in scenarios:
            if name not in tpl.scenarios:
                continue
            mine = [c for c in candidates if c.scenario == name and c.template in (None, tpl.name)]
            picked = scoring.choose([c for c in mine if c.rejected is None], s.top_k, s.dup_bits, score=score,
                                    moment_gap=s.moment_gap)
            if not picked and s.fill_missing and mine:
                picked = [max(mine, key=lambda c: (score(c), -c.frame_time))]
            chosen[(tpl.name, name)] = picked
    return chosen
