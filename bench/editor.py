"""What a picture editor checks (issue 8), measured: sliced faces, layers on faces, one poster per
moment, the models against the measures they replace, and what U²-Netp buys.

Every figure comes from real photographs (examples/photos, hand-boxed faces in bench/faces.json):
composites of several people placed apart, the sample's frames, and labelled pairs made from the
photos — a blink or an open mouth painted over the real eyes or mouth, a blur, an exposure
change — where the person's preference is the unaltered picture.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from autoposter import emotion, quality, scoring
from autoposter.cropping import SCENARIOS, CropSettings, _cover, group_faces, \
    inside_share, plan_crop
from autoposter.geometry import Box
from autoposter.saliency import saliency_map, u2netp_map
from autoposter.templates import load as load_template

ROOT = Path(__file__).resolve().parents[1]


def sliced(faces, crop, s=CropSettings()) -> bool:
    return any(s.outside < inside_share(f, crop) < s.whole for f in faces)


# ------------------------------------------------------------------------------ Q1: faces sliced
def slicing(items, detector, settings, peers) -> dict:
    """Frames with two or more people: share of crops that slice no (hand-boxed) face, and that keep
    every person whole when they fit together."""
    res = {m: {"crops": 0, "clean": 0, "all_kept": 0, "fits": 0} for m in ["autoposter", *peers]}
    for it in items:
        if len(it.faces) < 2:
            continue
        h, w = it.image.shape[:2]
        faces = [f.box for f in detector.detect(it.image)]
        sal = saliency_map(it.image, settings.saliency).region
        for sc in SCENARIOS.values():
            crops = {"autoposter": plan_crop(w, h, sc, faces, sal, settings.crop).window}
            crops.update({m: fn(it.image, sc.aspect, (sc.width, sc.height)) for m, fn in peers.items()})
            union = it.faces[0]
            for f in it.faces[1:]:
                union = union.union(f)
            for m, crop in crops.items():
                r = res[m]
                r["crops"] += 1
                r["clean"] += not sliced(it.faces, crop)
                if union.w <= crop.w and union.h <= crop.h:
                    r["fits"] += 1
                    r["all_kept"] += all(inside_share(f, crop) >= 0.95 for f in it.faces)
    return {m: {"crops": r["crops"], "no_face_sliced": round(r["clean"] / max(r["crops"], 1), 3),
                "all_people_kept_when_they_fit": round(r["all_kept"] / max(r["fits"], 1), 3)}
            for m, r in res.items()}


# ------------------------------------------------------------------------------ Q2: layers on faces
def layer_cover(items, detector, settings) -> dict:
    """Fixed layers of the bundled templates over hand-boxed faces the crop keeps: posters where a
    layer covers > 5 % of a kept face although a clean window existed, with and without the push."""
    out = {"posters": 0, "clean_alternative": 0, "covered_m4_m6_only": 0, "covered_autoposter": 0}
    for it in items:
        if not it.faces:
            continue
        h, w = it.image.shape[:2]
        faces = [f.box for f in detector.detect(it.image)]
        sal = saliency_map(it.image, settings.saliency).region
        for tname in ("streaming", "cjk"):
            tpl = load_template(tname)
            for name, sc in SCENARIOS.items():
                avoid = tpl.fixed_fractions(name)
                base = plan_crop(w, h, sc, faces, sal, settings.crop).window
                ours = plan_crop(w, h, sc, faces, sal, settings.crop, avoid).window
                group = group_faces(faces, settings.crop.dilation)[0] if faces else None
                exists = _clean_window_exists(w, h, sc, it.faces, group, avoid, base)
                out["posters"] += 1
                out["clean_alternative"] += exists
                for key, win in (("covered_m4_m6_only", base), ("covered_autoposter", ours)):
                    kept = [i for i, f in enumerate(it.faces) if inside_share(f, win) >= 0.95]
                    out[key] += exists and _cover(win, avoid, it.faces, kept) > 0.05
    return out


def _clean_window_exists(w, h, sc, faces, group, avoid, base) -> bool:
    horizontal = base.w < w
    span = (w - base.w) if horizontal else (h - base.h)
    for st in range(0, max(span, 0) + 1, 2):
        win = Box(st, 0, base.w, base.h) if horizontal else Box(0, st, base.w, base.h)
        if group is not None and (group.w <= win.w and group.h <= win.h) and not win.contains(group, tol=0.5):
            continue
        kept = [i for i, f in enumerate(faces) if inside_share(f, win) >= 0.95]
        if kept and not sliced(faces, win) and _cover(win, avoid, faces, kept) <= 0.05:
            return True
    return False


# ------------------------------------------------------------------------------ Q3: one per moment
def montage(path: Path) -> Path:
    """Five shots of real photographs, then an end card (text on black): 23 s at 10 fps."""
    W, H = 854, 480
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for name, secs in (("astronaut", 4), ("grace_hopper", 4), ("camera", 4), ("coffee", 3), ("chelsea", 3)):
        img = cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg"))
        k = H / img.shape[0]
        img = cv2.resize(img, (round(img.shape[1] * k), H))
        canvas = np.full((H, W, 3), 40, np.uint8)
        x = (W - img.shape[1]) // 2
        canvas[:, max(0, x):max(0, x) + min(W, img.shape[1])] = img[:, max(0, -x):max(0, -x) + min(W, img.shape[1])]
        for i in range(secs * 10):
            m = np.float32([[1 + i * 0.002, 0, -i * 0.8], [0, 1 + i * 0.002, -i * 0.4]])
            vw.write(cv2.warpAffine(canvas, m, (W, H), borderMode=cv2.BORDER_REFLECT))
    card = np.zeros((H, W, 3), np.uint8)
    for j, line in enumerate(("THE END", "Directed by A. Person", "Music by B. Person", "Thanks for watching")):
        cv2.putText(card, line, (120, 140 + j * 70), cv2.FONT_HERSHEY_SIMPLEX, 1.4 if j == 0 else 1.0,
                    (235, 235, 235), 2, cv2.LINE_AA)
    for _ in range(50):
        vw.write(card)
    vw.release()
    return path


def one_per_moment(settings) -> dict:
    from autoposter.pipeline import Job, run_video
    with tempfile.TemporaryDirectory() as tmp:
        video = montage(Path(tmp) / "montage.mp4")
        m = run_video(str(video), str(Path(tmp) / "out"), Job(title="Montage", templates=("streaming",)),
                      settings)
    groups: dict = {}
    for p in m["posters"]:
        groups.setdefault(p["scenario"], []).append(p)
    card_after = 18.0
    return {"scenarios": len(groups), "shots_detected": len(m["video"]["cuts"]) + 1,
            "top3_from_3_shots": sum(len({p["shot"] for p in ps[:3]}) == 3 for ps in groups.values()),
            "posters_from_the_end_card": sum(p["frame_time"] >= card_after for p in m["posters"])}


# ------------------------------------------------------------------------------ models vs measures
def _paint_blink(img, face):
    out = img.copy()
    (lx, ly), (rx, ry) = face.landmarks[:2]
    d = rx - lx
    for ex, ey in ((lx, ly), (rx, ry)):
        skin = img[min(img.shape[0] - 1, int(ey + d * 0.45)), int(ex)].tolist()
        cv2.rectangle(out, (int(ex - d * 0.3), int(ey - d * 0.18)), (int(ex + d * 0.3), int(ey + d * 0.18)), skin, -1)
    return out


def _paint_speech(img, face):
    out = img.copy()
    (mlx, mly), (mrx, mry) = face.landmarks[3:5]
    cv2.ellipse(out, (int((mlx + mrx) / 2), int((mly + mry) / 2)), (int((mrx - mlx) * 0.3), int((mrx - mlx) * 0.25)),
                0, 0, 360, (20, 15, 30), -1)
    return out


def agreement(detector) -> dict:
    """How often each score orders a labelled pair the way a person would (the unaltered one first)."""
    def new_expr(img, f):
        m = emotion.poster_scores(img, [f.box])[0][0]
        eyes = scoring.expression(img, f.box, f.landmarks, f.confidence).get("eyes_open", 0.5)
        return 0.6 * m + 0.4 * eyes

    def old_expr(img, f):
        return scoring.expression(img, f.box, f.landmarks, f.confidence)["score"]

    pairs = {"blink vs open eyes": [], "mid-speech vs calm": [], "soft vs sharp": [], "badly vs well exposed": []}
    for name in ("astronaut", "grace_hopper", "camera"):
        base = cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg"))
        for scale in (1.0, 0.75, 1.5):
            img = cv2.resize(base, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            faces = detector.detect(img)
            if not faces:
                continue
            f = faces[0]
            pairs["blink vs open eyes"].append((img, _paint_blink(img, f), f))
            pairs["mid-speech vs calm"].append((img, _paint_speech(img, f), f))
    for name in ("astronaut", "grace_hopper", "camera", "coffee", "chelsea", "rocket"):
        img = cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg"))
        for sigma in (1.5, 3.0):
            pairs["soft vs sharp"].append((img, cv2.GaussianBlur(img, (0, 0), sigma), None))
        for gain in (0.25, 2.2):
            pairs["badly vs well exposed"].append((img, np.clip(img.astype(np.float32) * gain, 0, 255)
                                                   .astype(np.uint8), None))
    out = {}
    for label, ps in pairs.items():
        if label in ("blink vs open eyes", "mid-speech vs calm"):
            measures = {"model (emotion + eyes open)": new_expr, "landmark measure (before)": old_expr}
        else:
            measures = {"model (BRISQUE) in aesthetics": lambda i, f: 0.4 * quality.quality(i) + 0.6 *
                        scoring.aesthetics(i)["score"],
                        "BRISQUE alone": lambda i, f: quality.quality(i),
                        "pixel measure (before)": lambda i, f: scoring.aesthetics(i)["score"]}
        out[label] = {"pairs": len(ps), **{m: round(sum(fn(good, f) > fn(bad, f) for good, bad, f in ps) / len(ps), 3)
                                          for m, fn in measures.items()}}
    return out


def model_timings(frames, detector, repeats: int = 5) -> dict:
    """Median ms on one core: MTCNN, the emotion model per face, BRISQUE per frame, U²-Netp per frame."""
    img = frames[0]
    face = detector.detect(img)[:1] or [type("F", (), {"box": Box(0, 0, 64, 64)})()]

    def med(fn):
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
        return round(statistics.median(ts), 1)
    return {"mtcnn_per_frame": med(lambda: detector.detect(img)),
            "emotion_per_face": med(lambda: emotion.poster_scores(img, [face[0].box])),
            "brisque_per_frame": med(lambda: quality.quality(img)),
            "u2netp_per_frame": med(lambda: u2netp_map(img)),
            "classical_saliency_per_frame": med(lambda: saliency_map(img))}


# ------------------------------------------------------------------------------ U2-Netp vs classical
def saliency_models(items, detector, settings) -> dict:
    """Crops and title placement on the labelled frames with each saliency model: mean face area
    kept (crops) and the share of titles touching a hand-boxed face (layout)."""
    import dataclasses

    from autoposter.layout import free_box, region_px
    from autoposter.render import to_poster_space
    title = next(ly for ly in load_template("streaming").layers if ly.name == "title")
    out = {}
    for model in ("classical", "u2netp"):
        s = dataclasses.replace(settings.saliency, model=model)
        kept, touching, n = [], 0, 0
        for it in items:
            h, w = it.image.shape[:2]
            faces = [f.box for f in detector.detect(it.image)]
            sal = saliency_map(it.image, s).region
            for name in ("story", "landscape", "feed"):
                sc = SCENARIOS[name]
                crop = plan_crop(w, h, sc, faces, sal, settings.crop).window
                if it.faces:
                    kept.append(sum(inside_share(f, crop) * f.area for f in it.faces) / sum(f.area for f in it.faces))
                x, y, cw, ch = (int(v) for v in crop.to_list(None))
                canvas = cv2.resize(it.image[y:y + ch, x:x + cw], (sc.width, sc.height), interpolation=cv2.INTER_AREA)
                area = Box(0, 0, sc.width, sc.height)
                det = [b for b in (to_poster_space(f, crop, sc).intersection(area) for f in faces) if b]
                gt = [b for b in (to_poster_space(f, crop, sc).intersection(area) for f in it.faces) if b]
                psal = saliency_map(canvas, s).region
                sw, sh = title.size_for(name)
                box = free_box(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY), region_px(title.region_for(name), sc.width,
                               sc.height), (round(sw * sc.width), round(sh * sc.height)), det, psal).box
                touching += any(box.intersects(f) for f in gt)
                n += 1
        out[model] = {"mean_face_area_kept": round(float(np.mean(kept)), 3),
                      "titles_touching_a_face": round(touching / max(n, 1), 3), "layouts": n}
    return out


def run(detector, settings, peers, frames) -> dict:
    from bench.labelled import composites, sample_video_frames
    multi = [it for it in composites(n=60, seed=11) if len(it.faces) >= 2]
    items = [it for it in composites() + sample_video_frames() if it.faces]
    return {"multi_person_frames": len(multi), "slicing": slicing(multi, detector, settings, peers),
            "layer_cover": layer_cover(items, detector, settings), "one_per_moment": one_per_moment(settings),
            "agreement": agreement(detector), "model_ms": model_timings(frames, detector),
            "saliency_models": saliency_models(items, detector, settings)}


def markdown(e: dict) -> list[str]:
    L = ["## What a picture editor checks (issue 8)", "",
         f"**Faces sliced** — {e['multi_person_frames']} composites of two or three real people placed apart, "
         "five scenarios each; a face is sliced when 5–95 % of its hand-drawn box is inside the crop.", "",
         "| method | crops | no face sliced | all people kept when they fit |", "|---|---:|---:|---:|"]
    for m, r in e["slicing"].items():
        L.append(f"| {m} | {r['crops']} | {r['no_face_sliced']:.3f} | {r['all_people_kept_when_they_fit']:.3f} |")
    lc = e["layer_cover"]
    L += ["", f"**Fixed layers on faces** — streaming and cjk templates × five scenarios on the labelled frames "
          f"({lc['posters']} posters; a clean window existed for {lc['clean_alternative']}): a fixed layer covers "
          f"more than 5 % of a kept face in {lc['covered_m4_m6_only']} of them with M4–M6's window alone, in "
          f"**{lc['covered_autoposter']}** with autoposter's window.", ""]
    o = e["one_per_moment"]
    L += [f"**One poster per moment** — a five-shot montage of the photographs with an end card: "
          f"{o['shots_detected']} shots detected; the top 3 come from 3 different shots in "
          f"{o['top3_from_3_shots']} of {o['scenarios']} scenarios; posters from the end card: "
          f"{o['posters_from_the_end_card']}.", "",
          "**Models against the measures they replace** — share of labelled pairs each score orders as a person "
          "would (the unaltered picture first):", "", "| pair | n | score | agreement |", "|---|---:|---|---:|"]
    for label, r in e["agreement"].items():
        for k, v in r.items():
            if k != "pairs":
                L.append(f"| {label} | {r['pairs']} | {k} | {v:.2f} |")
    t = e["model_ms"]
    L += ["", "**Model timings** (median ms, one core): " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                                        for k, v in t.items()) + ".", "",
          "**U²-Netp against the classical map** on the labelled frames:", "",
          "| saliency | mean face area kept | titles touching a face | layouts |", "|---|---:|---:|---:|"]
    for m, r in e["saliency_models"].items():
        L.append(f"| {m} | {r['mean_face_area_kept']:.3f} | {r['titles_touching_a_face']:.3f} | {r['layouts']} |")
    return L + [""]
