"""M14: the gallery page and the manifest file (shared by the CLI and the publish function)."""
from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path


def write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _flags(p: dict) -> list[str]:
    """What a picture editor should know before using a poster (Q1, Q4)."""
    out = []
    up = p.get("upscale")
    if isinstance(up, (int, float)) and p.get("upscaled"):
        out.append(f"upscaled ×{up:.1f}")
    if p.get("faces_cut"):
        out.append(f"{len(p['faces_cut'])} face(s) cut")
    if p.get("layer_on_face"):
        out.append("layer on a face")
    if p.get("mode") == "fit":
        out.append(f"fit: {p.get('backdrop', 0):.0%} backdrop")
    return out


@functools.lru_cache(maxsize=1)
def _page():
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
    return env.from_string((Path(__file__).parent / "assets" / "gallery.html").read_text(encoding="utf-8"))


def gallery_html(manifest: dict, base: str = "", files: set | None = None) -> str:
    """A static page: every format asked and what came back, every poster grouped by template,
    scenario and language, each a link to the video.

    Jinja2 escapes everything it prints (``assets/gallery.html``); links are the video's (http/https
    only, checked at the edge) or, without one, the poster itself — never a dead ``#``. ``files``
    names the files beside the page (contact sheet, debug overlays) so only existing ones are
    linked. No script: the CDN's content security policy forbids it.
    """
    v = manifest["video"]
    link = v.get("link") or ""
    files = files or set()
    groups: dict = {}
    for p in manifest["posters"]:
        groups.setdefault((p["template"], p["scenario"], p.get("language", "")), []).append(p)
    out = []
    for (tpl, sc, lang), posters in groups.items():
        cards = []
        for p in posters:
            s = p["scores"]
            src = base + p["path"]
            cards.append({"src": src, "href": link or src, "rank": int(p.get("rank", 0)), "width": int(p["width"]),
                          "height": int(p["height"]), "time": f"{float(p['frame_time']):.1f}",
                          "total": f"{s['total']:.2f}", "sharp": f"{s['sharpness']:.2f}",
                          "expr": "–" if s.get("expression") is None else f"{s['expression']:.2f}",
                          "aesth": f"{s['aesthetics']:.2f}", "flags": _flags(p),
                          "debug": base + p["debug"] if p.get("debug") in files else ""})
        out.append({"template": tpl, "scenario": sc, "language": lang, "width": int(posters[0]["width"]),
                    "height": int(posters[0]["height"]), "cards": cards})
    return _page().render(title=v.get("title") or v.get("path") or "posters", link=link, base=base,
                          count=len(manifest["posters"]), sheet="contact_sheet.jpg" in files,
                          warnings=manifest.get("warnings", []), formats=manifest.get("formats", []),
                          groups=out, reasons=rejection_summary(manifest))


def reason_counts(rejected: list) -> dict:
    """Rejections by reason code (the part before the colon), most frequent first."""
    return dict(Counter(r["reason"].split(":")[0] for r in rejected).most_common())


def rejection_summary(manifest: dict) -> str:
    """``near_uniform ×21, blurry ×3`` — what the CLI and the gallery say when nothing passed."""
    return ", ".join(f"{k} ×{n}" for k, n in reason_counts(manifest.get("rejected", [])).items()) \
        or "no candidate frame"


LABEL_H = 24


def contact_sheet(manifest: dict, pictures: dict, thumb_h: int = 320, max_w: int = 2400):
    """One picture of every poster (BGR array), a row per template, or None when there is none;
    ``pictures`` maps each poster's path to its image."""
    import cv2
    import numpy as np

    rows, pad = [], 12
    by_tpl: dict = {}
    for p in manifest["posters"]:
        by_tpl.setdefault(p["template"], []).append(p)
    for tpl, posters in by_tpl.items():
        line, width = [], pad
        for p in posters:
            img = pictures.get(p["path"])
            if img is None:
                continue
            t = cv2.resize(img, (round(img.shape[1] * thumb_h / img.shape[0]), thumb_h), interpolation=cv2.INTER_AREA)
            label = f"{p['scenario']} #{p.get('rank', '')}" + ("  upscaled" if p.get("upscaled") else "")
            strip = np.full((LABEL_H, t.shape[1], 3), 24, np.uint8)          # under the poster, never over it
            cv2.putText(strip, label, (4, LABEL_H - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (235, 235, 235), 1, cv2.LINE_AA)
            t = np.vstack([t, strip])
            if width + t.shape[1] + pad > max_w and line:
                rows.append(line)
                line, width = [], pad
            line.append(t)
            width += t.shape[1] + pad
        if line:
            rows.append(line)
    if not rows:
        return None
    W = max(sum(t.shape[1] + pad for t in r) + pad for r in rows)
    row_h = thumb_h + LABEL_H
    sheet = np.full((len(rows) * (row_h + pad) + pad, W, 3), 24, np.uint8)
    for i, r in enumerate(rows):
        x, y = pad, pad + i * (row_h + pad)
        for t in r:
            sheet[y:y + row_h, x:x + t.shape[1]] = t
            x += t.shape[1] + pad
    return sheet
