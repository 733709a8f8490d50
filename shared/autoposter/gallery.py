"""M14: the gallery page and the manifest file (shared by the CLI and the publish function)."""
from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path


def write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def gallery_html(manifest: dict, base: str = "") -> str:
    """A static page: every poster, grouped by template and scenario, each a link to the video."""
    v = manifest["video"]
    link = html.escape(v.get("link") or "#", quote=True)
    title = html.escape(v.get("title") or v.get("path") or "posters")
    groups: dict = {}
    for p in manifest["posters"]:
        groups.setdefault((p["template"], p["scenario"]), []).append(p)
    sections = []
    for (tpl, sc), posters in groups.items():
        cards = []
        for p in posters:
            s = p["scores"]
            expr = "–" if s["expression"] is None else f"{s['expression']:.2f}"
            src = html.escape(base + p["path"], quote=True)
            cards.append(
                f'<figure><a href="{link}"><img src="{src}" loading="lazy" alt="{html.escape(tpl)} {sc} poster"'
                f' width="{p["width"]}" height="{p["height"]}"></a><figcaption>#{p.get("rank", "")} · '
                f't={p["frame_time"]:.1f}s · total {s["total"]:.2f} · sharp {s["sharpness"]:.2f} · '
                f'expr {expr} · aesth {s["aesthetics"]:.2f}</figcaption></figure>')
        sections.append(f'<section><h2>{html.escape(tpl)} · {html.escape(sc)} '
                        f'({posters[0]["width"]}×{posters[0]["height"]})</h2><div class="row">'
                        + "".join(cards) + "</div></section>")
    if not sections:
        sections.append(f"<p>No poster passed. Reasons: {html.escape(rejection_summary(manifest))}</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — posters</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;background:#111;color:#eee}}
a{{color:#8cf}} .row{{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}}
figure{{margin:0;max-width:260px}} img{{max-width:260px;height:auto;display:block;border-radius:6px}}
figcaption{{font-size:.75rem;color:#aaa;margin-top:.3rem}}</style></head>
<body><h1>{title}</h1><p>Video: <a href="{link}">{link}</a> · {len(manifest['posters'])} posters</p>
{''.join(sections)}
</body></html>
"""


def reason_counts(rejected: list) -> dict:
    """Rejections by reason code (the part before the colon), most frequent first."""
    return dict(Counter(r["reason"].split(":")[0] for r in rejected).most_common())


def rejection_summary(manifest: dict) -> str:
    """``near_uniform ×21, blurry ×3`` — what the CLI and the gallery say when nothing passed."""
    return ", ".join(f"{k} ×{n}" for k, n in reason_counts(manifest.get("rejected", [])).items()) \
        or "no candidate frame"


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
    sheet = np.full((len(rows) * (thumb_h + pad) + pad, W, 3), 24, np.uint8)
    for i, r in enumerate(rows):
        x, y = pad, pad + i * (thumb_h + pad)
        for t in r:
            sheet[y:y + thumb_h, x:x + t.shape[1]] = t
            x += t.shape[1] + pad
    return sheet
