"""Blind pairwise preference (issue 15): autoposter's crop against each peer's on the same frame, shown
as A and B in a random order, judged by a rule written before looking.

    python -m bench.people --pairs build/pairs        # writes the sheets and build/pairs-key.json
    (a judge who has not seen the key writes build/pairs/answers.json: {"p001": "A" | "B" | "="}; judges who
     split the sheets write answers-<first>-<last>.json, which take precedence for their pairs)
    python -m bench.pairs build/pairs                  # scores them: bench/results/pairs-<date>.md/.json
    python -m bench.people --pairs build/pp --posters  # whole posters (layers on) instead of crops, judged by
    python -m bench.pairs build/pp                     # RULE_POSTERS: bench/results/pairs-posters-<date>.md/.json

One frame per labelled image, its scenario rotating through the five; a pair whose two crops are the
same window (IoU ≥ 0.9) is a tie without being shown. Groups: frames with people (labelled), and frames
where no face was detected (faceless leads, people from behind or too small) — a frame can be in both.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RULE = ("Prefer the crop that (1) keeps every head and the main subject whole (not sliced by the edge); "
        "if equal, (2) shows more of the main subject or of the people; if equal, (3) has no black bars or "
        "empty border; if equal, (4) has the better composition (subject placed well, less wasted space). "
        "Answer = when you cannot tell them apart on these points.")
RULE_POSTERS = ("Prefer the poster that (1) keeps every head and the main subject whole: not sliced by the edge and "
                "not covered by the logo, the search box or the title; if equal, (2) shows more of the main subject "
                "or of the people; if equal, (3) has no black bars or empty border; if equal, (4) has the better "
                "composition (subject placed well, title easy to read, less wasted space). Answer = when you cannot "
                "tell them apart on these points.")
PEERS = ("centre", "smartcrop", "opencv_faces")
PER_SHEET = 6
H = 300                                   # px height of each crop on a sheet


def _iou(a, b) -> float:
    inter = a.intersection(b)
    if not inter:
        return 0.0
    i = inter.w * inter.h
    return i / (a.w * a.h + b.w * b.h - i)


def _tile(img, crop, label: str) -> np.ndarray:
    from autoposter.fitting import cut                    # a fit window shows its backdrop, as the poster does
    c = cut(img, crop, (max(1, round(crop.w * H / crop.h)), H))
    pad = np.full((H + 40, c.shape[1] + 20, 3), 255, np.uint8)
    pad[30:30 + H, 10:10 + c.shape[1]] = c
    cv2.putText(pad, label, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    return pad


def _label(poster: np.ndarray, label: str) -> np.ndarray:
    pad = np.full((H + 40, poster.shape[1] + 20, 3), 255, np.uint8)
    pad[30:30 + H, 10:10 + poster.shape[1]] = poster[:H]
    cv2.putText(pad, label, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    return pad


def _row(img, a, b, pid: str, posters=None) -> np.ndarray:
    """The frame, then A and B: crops, or (``posters``: the two posters at height H) whole posters."""
    h, w = img.shape[:2]
    whole = cv2.resize(img, (round(w * H / h), H), interpolation=cv2.INTER_AREA)
    ab = [_label(posters[0], "A"), _label(posters[1], "B")] if posters else [_tile(img, a, "A"), _tile(img, b, "B")]
    parts = [_tile(whole, type(a)(0, 0, whole.shape[1], H), f"{pid} frame"), *ab]
    row = np.full((H + 40, sum(p.shape[1] for p in parts) + 40, 3), 255, np.uint8)
    x = 0
    for p in parts:
        row[:, x:x + p.shape[1]] = p
        x += p.shape[1] + 20
    return row


def write_rows(rows: list, out: Path) -> list[dict]:
    """``rows`` ([(pair id, row image)]) on sheets of PER_SHEET in ``out``: [{"sheet", "pairs"}]."""
    sheets = []
    for s in range(0, len(rows), PER_SHEET):
        chunk = rows[s:s + PER_SHEET]
        width = max(r.shape[1] for _, r in chunk)
        sheet = np.full((sum(r.shape[0] + 10 for _, r in chunk), width, 3), 255, np.uint8)
        y = 0
        for _, r in chunk:
            sheet[y:y + r.shape[0], :r.shape[1]] = r
            y += r.shape[0] + 10
        name = f"sheet{s // PER_SHEET + 1:02d}.png"            # PNG: every viewer shows it
        cv2.imwrite(str(out / name), sheet)
        sheets.append({"sheet": name, "pairs": [pid for pid, _ in chunk]})
    return sheets


def write_sheets(crops: list[dict], images: dict, out: Path, seed: int = 15, posters: bool = False) -> dict:
    """Sheets of PER_SHEET pairs (frame, A, B) in ``out``; the key beside it (``<out>-key.json``). With
    ``posters`` the pairs are whole posters (each crop's ``posters`` entry) judged by RULE_POSTERS, and
    two posters count as identical only when their crops are and their pixels barely differ."""
    rule = RULE_POSTERS if posters else RULE
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    by_image = {}
    for c in crops:
        by_image.setdefault(c["id"], []).append(c)
    frames = []
    for i, (iid, cs) in enumerate(sorted(by_image.items())):
        frames.append(cs[i % len(cs)])                    # one scenario per image, rotating
    key, rows, ties = {}, [], []
    n = 0
    for f in frames:
        for peer in PEERS:
            a, b = f["autoposter"], f[peer]
            meta = {"id": f["id"], "scenario": f["scenario"], "peer": peer, "people": f["people"],
                    "detected_face": f["detected_face"]}
            pa, pb = (f["posters"]["autoposter"], f["posters"][peer]) if posters else (None, None)
            same = _iou(a, b) >= 0.9 and (not posters or (pa.shape == pb.shape and
                                                          float(np.abs(pa.astype(int) - pb).mean()) < 2.0))
            if same:
                ties.append(meta)
                continue
            n += 1
            pid = f"p{n:03d}"
            ours_is_a = rng.random() < 0.5
            key[pid] = {**meta, "autoposter": "A" if ours_is_a else "B"}
            pp = ((pa, pb) if ours_is_a else (pb, pa)) if posters else None
            rows.append((pid, _row(images[f["id"]], a if ours_is_a else b, b if ours_is_a else a, pid, pp)))
    rng.shuffle(rows)                                     # peers and frames interleaved
    sheets = write_rows(rows, out)
    (out / "README.txt").write_text(f"Judge each pair on its sheet. Rule: {rule}\nWrite answers.json here: "
                                    '{"p001": "A", "p002": "=", ...} for every pair id.\n')
    (out / "sheets.json").write_text(json.dumps(sheets, indent=1))
    Path(str(out) + "-key.json").write_text(json.dumps({"rule": rule, "posters": posters, "pairs": key, "ties": ties},
                                                       indent=1))
    return {"frames": len(frames), "pairs_shown": len(key), "identical_pairs": len(ties), "sheets": len(sheets)}


def score(out: Path) -> dict:
    key = json.loads(Path(str(out) + "-key.json").read_text())
    answers = {}                                          # several judges may split the sheets: answers.json,
    for f in [out / "answers.json", *sorted(out.glob("answers-*.json"))]:   # then answers-<first>-<last>.json
        if f.is_file():
            answers.update(json.loads(f.read_text()))
    missing = sorted(set(key["pairs"]) - set(answers))
    if missing:
        raise SystemExit(f"answers.json lacks {len(missing)} pairs: {missing[:10]}")
    groups = {"with people": lambda m: m["people"], "no detected face": lambda m: not m["detected_face"],
              "all": lambda m: True}
    table = {}
    for g, sel in groups.items():
        for peer in PEERS:
            w = l = t = 0
            for pid, m in key["pairs"].items():
                if m["peer"] != peer or not sel(m):
                    continue
                a = answers[pid].strip()
                if a == "=":
                    t += 1
                elif a == m["autoposter"]:
                    w += 1
                else:
                    l += 1
            t += sum(1 for m in key["ties"] if m["peer"] == peer and sel(m))
            table.setdefault(g, {})[peer] = {"autoposter": w, "peer": l, "tie": t,
                                             "ratio": round(w / l, 2) if l else None}
    return {"date": dt.date.today().isoformat(), "rule": key["rule"], "posters": bool(key.get("posters")),
            "pairs": len(key["pairs"]),
            "identical": len(key["ties"]), "table": table}


def markdown(r: dict) -> str:
    what = "whole posters, layers on" if r.get("posters") else "crops"
    lines = [f"### Blind pairwise preference ({what}; {r['pairs']} pairs shown, {r['identical']} identical "
             "counted as ties)", "", f"Rule, written before judging: {r['rule']}", "",
             "| frames | vs | autoposter wins | peer wins | ties | ratio |", "|---|---|---:|---:|---:|---:|"]
    for g, peers in r["table"].items():
        for p, s in peers.items():
            ratio = f"{s['ratio']}:1" if s["ratio"] is not None else ("∞" if s["autoposter"] else "–")
            lines.append(f"| {g} | {p} | {s['autoposter']} | {s['peer']} | {s['tie']} | {ratio} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    d = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "pairs")
    res = score(d)
    outdir = ROOT / "bench" / "results"
    stem = f"pairs-{'posters-' if res['posters'] else ''}{res['date']}"
    (outdir / f"{stem}.json").write_text(json.dumps(res, indent=1))
    (outdir / f"{stem}.md").write_text(markdown(res))
    print(markdown(res))
