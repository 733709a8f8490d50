"""Draw every label of bench/labels/labels.json onto its image, to check the boxes by eye.

    python bench/labels/check.py --out /tmp/labels_check/            # all images
    python bench/labels/check.py --out /tmp/labels_check/ --only vtest --grid 50 --scale 2

People: head red, body green (number = index in "people", letter = view: F/P/B/?).
Subjects: box cyan when lead, blue otherwise; subject heads magenta.
Writes PNG files (lossless, so thin lines stay readable) and prints a short summary;
exits non-zero if a label is malformed (box outside the image, body not containing head,
not exactly one lead subject among subjects, file size mismatch)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
VIEWS = {"frontal": "F", "profile": "P", "back": "B", "unknown": "?"}


def inside(b, W, H):
    x, y, w, h = b
    return x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= W and y + h <= H


def contains(outer, inner):
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])


def validate(rec, img) -> list[str]:
    errs = []
    H, W = img.shape[:2]
    if (W, H) != (rec["width"], rec["height"]):
        errs.append(f"size {W}x{H} != labels {rec['width']}x{rec['height']}")
    for i, p in enumerate(rec["people"]):
        for k in ("head", "body"):
            if not inside(p[k], W, H):
                errs.append(f"person {i} {k} {p[k]} outside image")
        if not contains(p["body"], p["head"]):
            errs.append(f"person {i} body does not contain head")
        if p["view"] not in VIEWS:
            errs.append(f"person {i} bad view {p['view']}")
    for i, s in enumerate(rec["subjects"]):
        if not inside(s["box"], W, H):
            errs.append(f"subject {i} box outside image")
        if "head" in s and not contains(s["box"], s["head"]):
            errs.append(f"subject {i} box does not contain its head")
    if rec["subjects"] and sum(bool(s["lead"]) for s in rec["subjects"]) != 1:
        errs.append("subjects need exactly one lead")
    if not rec["people"] and not rec["subjects"]:
        errs.append("no label at all")
    return errs


def draw(rec, img, scale: float, grid: int):
    if scale != 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    H, W = img.shape[:2]
    if grid:
        ov = img.copy()
        for g in range(0, max(rec["width"], rec["height"]) + 1, grid):
            X = Y = int(g * scale)
            cv2.line(ov, (X, 0), (X, H), (0, 255, 255), 1)
            cv2.line(ov, (0, Y), (W, Y), (0, 255, 255), 1)
            cv2.putText(ov, str(g), (X + 2, 11), 0, 0.35, (0, 255, 255), 1)
            cv2.putText(ov, str(g), (2, Y + 11), 0, 0.35, (0, 255, 255), 1)
        img = cv2.addWeighted(ov, 0.35, img, 0.65, 0)
    t = max(1, round(scale))

    def rect(b, col, text=None):
        x, y, w, h = (int(round(v * scale)) for v in b)
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), col, t)
        if text:
            cv2.putText(img, text, (x + 2, y + 12), 0, 0.4, (0, 0, 0), 3)
            cv2.putText(img, text, (x + 2, y + 12), 0, 0.4, col, 1)

    for i, p in enumerate(rec["people"]):
        rect(p["body"], (0, 220, 0))
        rect(p["head"], (0, 0, 255), f"{i}{VIEWS.get(p['view'], '?')}")
    for i, s in enumerate(rec["subjects"]):
        rect(s["box"], (255, 255, 0) if s["lead"] else (255, 120, 0), f"{s['kind']}{'*' if s['lead'] else ''}")
        if "head" in s:
            rect(s["head"], (255, 0, 255))
    return img


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/labels_check/")
    ap.add_argument("--only", default="", help="substring of the ids to draw")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--grid", type=int, default=0, help="draw a coordinate grid every N px")
    a = ap.parse_args()
    doc = json.loads((HERE / "labels.json").read_text())
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    bad = 0
    n = np_ = ns = 0
    for rec in doc["images"]:
        if a.only and a.only not in rec["id"]:
            continue
        img = cv2.imread(str(HERE / rec["file"]))
        if img is None:
            print(f"{rec['id']}: cannot read {rec['file']}")
            bad += 1
            continue
        for e in validate(rec, img):
            print(f"{rec['id']}: {e}")
            bad += 1
        cv2.imwrite(str(out / f"{rec['id']}.png"), draw(rec, img, a.scale, a.grid))
        n += 1
        np_ += len(rec["people"])
        ns += len(rec["subjects"])
    print(f"drew {n} images ({np_} people, {ns} subjects) into {out}; {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
