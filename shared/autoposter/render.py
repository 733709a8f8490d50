"""M4's resize, M8–M9's composition and M14's records: a chosen candidate becomes a poster.

``render_poster`` cuts the window, resizes it to the scenario's size and composes the template;
``poster_record`` is its manifest entry; ``build_manifest`` the whole document. Pillow is loaded
here (through ``compose``), never by the analysis.
"""
from __future__ import annotations

import cv2
import numpy as np

from .analysis import Candidate, Job
from .compose import compose
from .cropping import SCENARIOS, Scenario
from .fitting import cut
from .geometry import Box
from .settings import Settings
from .templates import Template

POSTER_QUALITY = 90              # JPEG quality of every published poster (CLI and cloud alike)


def to_poster_space(b: Box, crop: Box, sc: Scenario) -> Box:
    kx, ky = sc.width / crop.w, sc.height / crop.h
    return Box((b.x - crop.x) * kx, (b.y - crop.y) * ky, b.w * kx, b.h * ky)


def render_poster(image: np.ndarray, cand: Candidate, tpl: Template, meta: dict):
    """Cut, resize to the scenario's size, and compose ``tpl`` (M4 resize, M8–M9)."""
    sc = SCENARIOS[cand.scenario]
    canvas = cut(image, cand.crop, (sc.width, sc.height), cand.active)
    area = Box(0, 0, sc.width, sc.height)
    faces = [p for p in (to_poster_space(b, cand.crop, sc).intersection(area) for b in cand.faces) if p]
    sal = to_poster_space(cand.salient, cand.crop, sc).intersection(area) if cand.salient else None
    group = to_poster_space(cand.group, cand.crop, sc).intersection(area) if cand.group else None
    bodies = [p for p in (to_poster_space(b, cand.crop, sc).intersection(area) for b in cand.bodies) if p]
    poster, placements = compose(canvas, tpl, cand.scenario, meta, faces, sal, group, bodies)
    return poster, placements, {"faces": faces, "salient": sal, "group": group, "bodies": bodies}


def encode_jpeg(img: np.ndarray, quality: int = POSTER_QUALITY) -> bytes:
    """A JPEG, or an ``OSError`` (a poster that cannot be encoded must not pass silently)."""
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError("cannot encode a poster as JPEG")
    return data.tobytes()


def poster_record(path: str, tpl: Template, cand: Candidate, placements, rank: int, link: str = "",
                  max_upscale: float = 2.0) -> dict:
    sc = SCENARIOS[cand.scenario]
    layers = [p.to_dict() for p in placements]
    return {"path": path, "link": link, "template": tpl.name, "scenario": cand.scenario, "rank": rank,
            "width": sc.width, "height": sc.height, "frame_time": round(cand.frame_time, 3), "shot": cand.shot,
            "crop": cand.crop.to_list(None), "faces": [b.to_list() for b in cand.faces],
            "bodies": [b.to_list() for b in cand.bodies],
            "group": cand.group.to_list() if cand.group else None,
            "salient": cand.salient.to_list() if cand.salient else None,
            "active": cand.active.to_list(None) if cand.active else None,
            "upscale": round(cand.upscale, 2), "upscaled": cand.upscale > max_upscale,
            **_mode(cand),
            "faces_cut": list(cand.faces_cut),
            "layer_on_face": max([max(ly.get("faces_covered") or [0.0]) for ly in layers] or [0.0]),
            "layer_on_body": max([max(ly.get("bodies_covered") or [0.0]) for ly in layers] or [0.0]),
            "layers": layers,
            "scores": {k: cand.scores[k] for k in ("sharpness", "expression", "aesthetics", "quality", "total")
                       if k in cand.scores} | ({"penalty": cand.scores["penalty"]} if "penalty" in cand.scores else {})}


def _mode(cand: Candidate) -> dict:
    """Q7/Q8: ``crop`` (the window lies inside the picture) or ``fit`` (a larger window, the rest of
    the poster a backdrop of the picture blurred; ``backdrop`` is its share of the poster)."""
    if cand.mode != "fit":
        return {"mode": "crop"}
    return {"mode": "fit", "backdrop": round(cand.backdrop, 3)}


def build_manifest(video: dict, job: Job, posters: list[dict], rejected: list[dict], settings: Settings,
                   **extra) -> dict:
    return {"version": 2, "video": {**video, "link": job.link, "title": job.title, "id": job.video_id},
            "job": job.to_dict(), "posters": posters, "rejected": rejected, "warnings": text_warnings(posters),
            "settings": {"top_k": settings.score.top_k, "total_min": settings.score.total_min,
                         "sharpness_min": settings.score.sharpness_min,
                         "expression_min": settings.score.expression_min}, **extra}


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
