"""Issue 15 on the hand-labelled set (bench/labels: 90 real images, 43 with people, 47 without): heads kept
whole, the faceless lead kept, layers over heads and bodies, formats asked vs returned — for autoposter and
the crops people use today (centre, smartcrop.py, OpenCV's Haar faces), in every scenario.

    python -m bench.people [--out bench/results] [--pairs DIR [--posters]]

Definitions (fixed before the run):
* a head is *kept whole* by a crop when ≥ 95 % or ≤ 5 % of its box is inside (a head cut by the image's
  own edge, ``head_cut``, is left out: no crop can keep it whole). A poster passes when every head does.
  Heads are people's heads and the heads of cartoon and artwork leads.
* the *faceless lead* (images without people) is kept when ≥ 90 % of its box is inside the crop, counted
  only where it fits: its box is no larger than the largest window of that aspect.
* a layer (title, logo, search box) is *over a head* when it covers more than 5 % of a head's box on the
  poster, *over a body* when it covers more than 10 % of a body's box. Peers have no layout step: their
  crops get the same template, laid out by the same code told only what the peer knows (OpenCV's faces for
  the Haar peer, nothing for the others).
* formats: five scenarios asked per image; returned = a poster came back (``below_threshold`` ones
  included, with their reason).

``--pairs DIR`` also writes the blind pairwise sheets (``bench/pairs.py``) for a judge; with ``--posters``
the sheets show whole posters (the template's logo, search box and title on every method's crop,
each laid out as ``peer_poster`` does), judged by ``bench.pairs.RULE_POSTERS``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from autoposter.analysis import Detectors, analyze_frame, score_crops  # noqa: E402
from autoposter.compose import compose  # noqa: E402
from autoposter.cropping import SCENARIOS, crop_window, inside_share  # noqa: E402
from autoposter.geometry import Box  # noqa: E402
from autoposter.pipeline import relearn_shortlist  # noqa: E402
from autoposter.render import render_poster, to_poster_space  # noqa: E402
from autoposter.settings import Settings  # noqa: E402
from autoposter.templates import load as load_template  # noqa: E402

LABELS = ROOT / "bench" / "labels"
TEMPLATE = "streaming"
META = {"title": "The Long Way Home", "tagline": "Tonight at nine", "search_text": "the long way home"}
GOALS = {"heads_whole": 0.97, "lead_kept": 0.95, "layer_over_head": 0.0, "layer_over_body": 0.05}


def items() -> list[dict]:
    doc = json.loads((LABELS / "labels.json").read_text())
    out = []
    for it in doc["images"]:
        img = cv2.imread(str(LABELS / it["file"]))
        assert img is not None, it["file"]
        heads = [Box(*p["head"]) for p in it["people"] if not p.get("head_cut")]
        heads += [Box(*s["head"]) for s in it["subjects"] if s.get("head") and not s.get("head_cut")]
        bodies = [Box(*p["body"]) for p in it["people"]]
        leads = [Box(*s["box"]) for s in it["subjects"] if s.get("lead")]
        out.append({"id": it["id"], "image": img, "heads": heads, "bodies": bodies,
                    "lead": leads[0] if leads and not it["people"] else None, "people": bool(it["people"])})
    return out


def ours(img, det, settings, tpl) -> dict:
    """The pipeline's own steps on one picture: analysis, the learned map where it changes a decision,
    a crop per scenario for the template, its layers laid out. {scenario: (crop, placements, reason)}."""
    fr = analyze_frame(img, det, settings)
    work = [(SimpleNamespace(id=0, time=0.0), fr, score_crops(img, fr, list(tpl.scenarios), settings, [tpl]))]
    work = relearn_shortlist(work, {0: img}, [tpl], list(tpl.scenarios), settings, det.people)
    out = {}
    for c in work[0][2]:
        if c.template == tpl.name and c.scenario not in out:
            poster, placements, _ = render_poster(img, c, tpl, META)
            out[c.scenario] = (c.crop, placements, c.rejected, fr, c.mode, _small(poster))
    return out


def _small(poster: np.ndarray, height: int = 300) -> np.ndarray:
    """A poster at the pairwise sheets' height (kept for ``--posters``)."""
    h, w = poster.shape[:2]
    return cv2.resize(poster, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def peer_poster(img, crop: Box, sc_name: str, tpl, faces=()) -> tuple:
    """A peer's crop with the same template, laid out knowing only ``faces`` (frame pixels): (poster
    at the sheets' height, placements)."""
    sc = SCENARIOS[sc_name]
    x, y, w, h = (int(v) for v in crop.to_list(None))
    canvas = cv2.resize(img[y:y + h, x:x + w], (sc.width, sc.height), interpolation=cv2.INTER_AREA)
    area = Box(0, 0, sc.width, sc.height)
    fp = [p for p in (to_poster_space(f, crop, sc).intersection(area) for f in faces) if p]
    poster, placements = compose(canvas, tpl, sc_name, META, fp, None)
    return _small(poster), placements


def covered(box: Box, layer: Box) -> float:
    inter = box.intersection(layer)
    return (inter.w * inter.h) / max(box.w * box.h, 1e-9) if inter else 0.0


def measure(it: dict, crop: Box, placements, sc_name: str) -> dict:
    h, w = it["image"].shape[:2]
    sc = SCENARIOS[sc_name]
    heads_ok = all(inside_share(hd, crop) >= 0.95 or inside_share(hd, crop) <= 0.05 for hd in it["heads"])
    row = {"heads": len(it["heads"]), "heads_whole": heads_ok}
    if it["lead"] is not None:
        biggest = crop_window(w, h, sc.aspect, (w / 2, h / 2))
        fits = it["lead"].w <= biggest.w + 1 and it["lead"].h <= biggest.h + 1
        row["lead_fits"] = fits
        row["lead_kept"] = fits and inside_share(it["lead"], crop) >= 0.90
    heads_p = [to_poster_space(hd, crop, sc) for hd in it["heads"] if inside_share(hd, crop) > 0.05]
    bodies_p = [to_poster_space(b, crop, sc) for b in it["bodies"] if inside_share(b, crop) > 0.05]
    layers = [p.box for p in placements]
    row["layer_over_head"] = any(covered(hd, ly) > 0.05 for hd in heads_p for ly in layers)
    row["layer_over_body"] = any(covered(b, ly) > 0.10 for b in bodies_p for ly in layers)
    row["people_on_poster"] = bool(bodies_p)
    return row


def summarise(rows: list[dict]) -> dict:
    def share(key, where=lambda r: True):
        sel = [r for r in rows if where(r)]
        return {"n": len(sel), "share": round(sum(bool(r[key]) for r in sel) / max(len(sel), 1), 3)}
    return {"posters": len(rows),
            "heads_whole": share("heads_whole", lambda r: r["heads"] > 0),
            "lead_kept": share("lead_kept", lambda r: r.get("lead_fits")),
            "layer_over_head": share("layer_over_head", lambda r: r["heads"] > 0),
            "layer_over_body": share("layer_over_body", lambda r: r["people_on_poster"])}


def run(pairs_dir: Path | None = None, posters: bool = False) -> dict:
    from bench.peers import OpenCVFaces, SmartCropPy, centre_crop
    settings = Settings.from_env()
    det = Detectors.load(settings)
    tpl = load_template(TEMPLATE)
    peers = {"centre": centre_crop, "smartcrop": SmartCropPy(), "opencv_faces": OpenCVFaces()}
    rows = {m: [] for m in ["autoposter", *peers]}
    formats = {"asked": 0, "returned": 0, "below_threshold": Counter(), "missing": Counter()}
    crops_for_pairs = []
    t0 = time.perf_counter()
    data = items()
    never = dataclasses.replace(tpl, fit="never")
    crop_ms = {"auto": [], "never": []}              # what the fit search costs, same frames, same process
    for n, it in enumerate(data, 1):
        img = it["image"]
        h, w = img.shape[:2]
        mine = ours(img, det, settings, tpl)
        fr = mine[next(iter(mine))][3]
        for mode, t in (("never", never), ("auto", tpl), ("never", never), ("auto", tpl)):
            t1 = time.perf_counter()
            score_crops(img, fr, list(tpl.scenarios), settings, [t])
            crop_ms[mode].append((time.perf_counter() - t1) * 1000)
        haar = peers["opencv_faces"].faces(img)
        for sc_name in tpl.scenarios:
            sc = SCENARIOS[sc_name]
            formats["asked"] += 1
            if sc_name not in mine:
                formats["missing"]["no candidate"] += 1
                continue
            crop, placements, reason, fr, mode, poster = mine[sc_name]
            formats["returned"] += 1
            if reason:
                formats["below_threshold"][reason.split(":")[0]] += 1
            rows["autoposter"].append({"id": it["id"], "scenario": sc_name, "mode": mode,
                                       **measure(it, crop, placements, sc_name)})
            peer_crops, peer_posters = {}, {"autoposter": poster}
            for m, fn in peers.items():
                pc = fn(img, sc.aspect, (sc.width, sc.height))
                peer_crops[m] = pc
                peer_posters[m], pl = peer_poster(img, pc, sc_name, tpl, haar if m == "opencv_faces" else ())
                rows[m].append({"id": it["id"], "scenario": sc_name, **measure(it, pc, pl, sc_name)})
            crops_for_pairs.append({"id": it["id"], "scenario": sc_name, "people": it["people"],
                                    "detected_face": bool(fr.faces), "autoposter": crop, **peer_crops,
                                    **({"posters": peer_posters} if posters else {})})
        print(f"\rpeople bench: {n}/{len(data)} images ({time.perf_counter() - t0:.0f}s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    result = {"date": dt.date.today().isoformat(), "images": len(data),
              "with_people": sum(it["people"] for it in data), "template": TEMPLATE,
              "scenarios": list(tpl.scenarios), "goals": GOALS,
              "methods": {m: summarise(r) for m, r in rows.items()},
              "formats": {"asked": formats["asked"], "returned": formats["returned"],
                          "below_threshold": dict(formats["below_threshold"]), "missing": dict(formats["missing"])},
              "failures": {m: [f"{r['id']} {r['scenario']}" for r in rs if r["heads"] and not r["heads_whole"]][:20]
                           for m, rs in rows.items()},
              "autoposter_misses": {k: [f"{r['id']} {r['scenario']}" for r in rows["autoposter"] if test(r)]
                                    for k, test in (("head_cut", lambda r: r["heads"] and not r["heads_whole"]),
                                                    ("lead_lost", lambda r: r.get("lead_fits") and not r["lead_kept"]),
                                                    ("layer_over_head", lambda r: r["layer_over_head"]),
                                                    ("layer_over_body", lambda r: r["layer_over_body"]))},
              "fit_posters": sum(1 for r in rows["autoposter"] if r.get("mode") == "fit"),
              "score_crops_ms": {m: round(statistics.median(v), 1) for m, v in crop_ms.items()}
              | {"ratio": round(statistics.median(crop_ms["auto"]) / max(statistics.median(crop_ms["never"]), 1e-9), 2)},
              "seconds": round(time.perf_counter() - t0, 1)}
    if pairs_dir is not None:
        from bench.pairs import write_sheets
        result["pairs"] = write_sheets(crops_for_pairs, {it["id"]: it["image"] for it in data}, pairs_dir,
                                       posters=posters)
    return result


def markdown(r: dict) -> str:
    lines = [f"### People, heads and faceless leads on the labelled set ({r['images']} images, "
             f"{r['with_people']} with people; template {r['template']}, {len(r['scenarios'])} scenarios)", "",
             "| method | heads kept whole (posters) | faceless lead kept | layer over a head | layer over a body |",
             "|---|---:|---:|---:|---:|"]
    for m, s in r["methods"].items():
        lines.append(f"| {m} | {s['heads_whole']['share']:.1%} of {s['heads_whole']['n']} | "
                     f"{s['lead_kept']['share']:.1%} of {s['lead_kept']['n']} | "
                     f"{s['layer_over_head']['share']:.1%} of {s['layer_over_head']['n']} | "
                     f"{s['layer_over_body']['share']:.1%} of {s['layer_over_body']['n']} |")
    g = r["goals"]
    f = r["formats"]
    lines += ["", f"Goals: heads whole ≥ {g['heads_whole']:.0%}, faceless lead kept ≥ {g['lead_kept']:.0%}, "
              f"layers over a head {g['layer_over_head']:.0%}, over a body ≤ {g['layer_over_body']:.0%}. "
              f"Formats: {f['returned']} posters returned for {f['asked']} asked"
              + (f"; below threshold (served, marked): {f['below_threshold']}" if f["below_threshold"] else "")
              + (f"; missing: {f['missing']}" if f["missing"] else "") + "."]
    if "fit_posters" in r:
        c = r.get("score_crops_ms")
        lines += ["", f"Fit posters (a window larger than the picture, blurred backdrop): {r['fit_posters']} of "
                  f"{r['methods']['autoposter']['posters']}." + (
                      f" Cropping one frame for the template's {len(r['scenarios'])} scenarios: median {c['auto']} ms "
                      f"with fit, {c['never']} ms without ({c['ratio']}×, same frames, same process)." if c else "")]
        miss = r.get("autoposter_misses", {})
        if miss:
            lines += ["", "autoposter's misses: " + "; ".join(f"{k} {len(v)}: {', '.join(v[:8])}"
                                                              + (" …" if len(v) > 8 else "") for k, v in miss.items())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--pairs", help="also write blind pairwise sheets here")
    ap.add_argument("--posters", action="store_true", help="the sheets show whole posters (layers on), not crops")
    a = ap.parse_args(argv)
    r = run(Path(a.pairs) if a.pairs else None, a.posters)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"people-{r['date']}.json").write_text(json.dumps(r, indent=1))
    (out / f"people-{r['date']}.md").write_text(markdown(r))
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
