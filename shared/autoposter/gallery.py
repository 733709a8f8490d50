"""M14: the gallery page and the manifest file (shared by the CLI and the publish function)."""
from __future__ import annotations

import html
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
    return out


def gallery_html(manifest: dict, base: str = "", files: set | None = None) -> str:
    """A static page: every poster, grouped by template and scenario, each a link to the video.

    Everything printed is escaped; links are the video's (http/https only, checked at the edge)
    or, without one, the poster itself — never a dead ``#``. ``files`` names the extra files
    beside the page (contact sheet, debug overlays) so only existing ones are linked. No script:
    the CDN's content security policy forbids it.
    """
    esc = html.escape
    v = manifest["video"]
    link = v.get("link") or ""
    files = files or set()
    title = esc(v.get("title") or v.get("path") or "posters")
    groups: dict = {}
    for p in manifest["posters"]:
        groups.setdefault((p["template"], p["scenario"]), []).append(p)
    sections = []
    for (tpl, sc), posters in groups.items():
        cards = []
        for p in posters:
            s = p["scores"]
            expr = "–" if s.get("expression") is None else f"{s['expression']:.2f}"
            src = esc(base + p["path"], quote=True)
            href = esc(link, quote=True) if link else src
            flags = "".join(f'<span class="flag">{esc(f)}</span>' for f in _flags(p))
            debug = p.get("debug")
            dbg = f' · <a href="{esc(base + debug, quote=True)}">debug</a>' if debug and debug in files else ""
            cards.append(
                f'<figure><a href="{href}"><img src="{src}" loading="lazy" '
                f'alt="{esc(tpl, quote=True)} {esc(sc, quote=True)} poster #{int(p.get("rank", 0))}" '
                f'width="{int(p["width"])}" height="{int(p["height"])}"></a>'
                f'<figcaption>#{int(p.get("rank", 0))} · t={float(p["frame_time"]):.1f}s · total {s["total"]:.2f} · '
                f'sharp {s["sharpness"]:.2f} · expr {expr} · aesth {s["aesthetics"]:.2f}{dbg}{flags}</figcaption>'
                "</figure>")
        sections.append(f'<section><h2>{esc(tpl)} · {esc(sc)} ({int(posters[0]["width"])}×'
                        f'{int(posters[0]["height"])})</h2><div class="grid">' + "".join(cards) + "</div></section>")
    if not sections:
        sections.append(f"<p>No poster passed. Reasons: {esc(rejection_summary(manifest))}</p>")
    video = f'<a href="{esc(link, quote=True)}">{esc(link)}</a>' if link else "no link given"
    extras = [f'<a href="{esc(base, quote=True)}manifest.json">manifest</a>']
    if "contact_sheet.jpg" in files:
        extras.insert(0, f'<a href="{esc(base, quote=True)}contact_sheet.jpg">contact sheet</a>')
    warnings = "".join(f"<li>{esc(w)}</li>" for w in manifest.get("warnings", []))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — posters</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:1400px;background:#111;color:#eee}}
a{{color:#8cf}} h1{{font-size:1.4rem;overflow-wrap:anywhere}} h2{{font-size:1.05rem;margin:1.5rem 0 .5rem}}
.grid{{display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,240px),1fr));align-items:start}}
figure{{margin:0;min-width:0}} img{{width:100%;height:auto;display:block;border-radius:6px;background:#222}}
figcaption{{font-size:.75rem;color:#aaa;margin-top:.3rem;overflow-wrap:anywhere}}
.flag{{display:inline-block;margin-left:.4rem;padding:0 .35rem;border-radius:3px;background:#a33;color:#fff}}
.warn{{color:#fc6}}</style></head>
<body><h1>{title}</h1><p>Video: {video} · {len(manifest['posters'])} posters · {' · '.join(extras)}</p>
{f'<ul class="warn">{warnings}</ul>' if warnings else ''}{''.join(sections)}
</body></html>
"""


def reason_counts(rejected: list) -> dict:
    """Rejections by reason code (the part before the colon), most frequent first."""
    return dict(Counter(r["reason"].split(":")[0] for r in rejected).most_common())


def rejection_summary(manifest: dict) -> str:
    """``near_uniform ×21, blurry ×3`` — what the CLI and the gallery say when nothing passed."""
    return ", ".join(f"{k} ×{n}" for k, n in reason_counts(manifest.get("rejected", [])).items()) \
        or "no candidate frame"


LABEL_H = 24


def contact_sheet(manifest: dict, folder: Path, thumb_h: int = 320, max_w: int = 2400):
    """One picture of every poster (BGR array), a row per template, or None when there is none."""
    import cv2
    import numpy as np

    rows, pad = [], 12
    by_tpl: dict = {}
    for p in manifest["posters"]:
        by_tpl.setdefault(p["template"], []).append(p)
    for tpl, posters in by_tpl.items():
        line, width = [], pad
        for p in posters:
            img = cv2.imread(str(Path(folder) / p["path"]))
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
