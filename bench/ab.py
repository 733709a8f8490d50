"""Blind A/B of a setting on the labelled set: which default an editor prefers (issue 15's rule for fit).

    python -m bench.ab build/ab crop.fit_people=false     # v0 = the defaults, v1 = with these overrides:
                                                          # sheets of the posters that differ, and build/ab-key.json
    (judges who have not seen the key write build/ab/answers-<anything>.json: {"q001": "A" | "B" | "="})
    python -m bench.ab --score build/ab                   # bench/results/ab-<date>.md/.json

Both variants run the pipeline's own steps on every labelled image and format (``bench.people.ours``);
a pair is shown only when its two posters differ, A and B in a random order, judged by
``bench.pairs.RULE_POSTERS``. Several judges may each answer every pair, or split the sheets (every pair
answered at least once): each answer is counted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write(out: Path, overrides: dict, seed: int = 7) -> dict:
    from autoposter.geometry import Box
    from bench.pairs import RULE_POSTERS, _row, write_rows
    from bench.people import TEMPLATE, Detectors, Settings, items, load_template, ours
    variants = {"v0": Settings.from_env(), "v1": Settings.from_env(None, **overrides)}
    tpl = load_template(TEMPLATE)
    dets = {"v0": Detectors.load(variants["v0"])}           # a detector setting (people.tiles) needs its own
    same_models = all(getattr(variants["v1"], k) == getattr(variants["v0"], k) for k in ("faces", "people"))
    dets["v1"] = dets["v0"] if same_models else Detectors.load(variants["v1"])
    out.mkdir(parents=True, exist_ok=True)
    rng, rows, key, same = random.Random(seed), [], {}, 0
    for it in items():
        img = it["image"]
        res = {name: ours(img, dets[name], s, tpl) for name, s in variants.items()}
        for sc in tpl.scenarios:
            a, b = res["v0"][sc][5], res["v1"][sc][5]
            if a.shape == b.shape and float(np.abs(a.astype(int) - b).mean()) < 1.0:
                same += 1
                continue
            pid = f"q{len(key) + 1:03d}"
            v0_is_a = rng.random() < 0.5
            key[pid] = {"id": it["id"], "scenario": sc, "people": it["people"], "v0": "A" if v0_is_a else "B"}
            posters = (a, b) if v0_is_a else (b, a)
            rows.append((pid, _row(img, Box(0, 0, 1, 1), None, pid, posters)))
        print(f"\rbench.ab: {it['id']}: {len(key)} differ, {same} the same", end="", file=sys.stderr)
    print(file=sys.stderr)
    rng.shuffle(rows)
    sheets = write_rows(rows, out)
    (out / "README.txt").write_text(f"Judge each pair on its sheet. Rule: {RULE_POSTERS}\n")
    (out / "sheets.json").write_text(json.dumps(sheets, indent=1))
    Path(str(out) + "-key.json").write_text(json.dumps({"rule": RULE_POSTERS, "overrides": overrides,
                                                        "pairs": key, "same": same}, indent=1))
    return {"pairs": len(key), "same": same, "sheets": len(sheets)}


def score(out: Path) -> dict:
    key = json.loads(Path(str(out) + "-key.json").read_text())
    judges = {f.stem: json.loads(f.read_text()) for f in sorted(out.glob("answers-*.json"))}
    if not judges:
        raise SystemExit(f"no answers-*.json in {out}")
    table = {}
    unanswered = set(key["pairs"]) - set().union(*(set(a) for a in judges.values()))
    if unanswered:                               # judges may split the sheets; every pair needs one answer
        raise SystemExit(f"no judge answered {len(unanswered)} pairs: {sorted(unanswered)[:10]}")
    total = {"defaults": 0, "overrides": 0, "tie": 0}
    for name, ans in judges.items():
        t = {"defaults": 0, "overrides": 0, "tie": 0}
        for pid, m in key["pairs"].items():
            if pid not in ans:
                continue
            a = ans[pid].strip()
            t["tie" if a == "=" else "defaults" if a == m["v0"] else "overrides"] += 1
        table[name] = t
        for k in total:
            total[k] += t[k]
    if len(table) > 1:
        table["all judges"] = total
    return {"date": dt.date.today().isoformat(), "overrides": key["overrides"], "rule": key["rule"],
            "pairs": len(key["pairs"]), "same": key["same"], "judges": table}


def markdown(r: dict) -> str:
    over = ", ".join(f"`{k}={v}`" for k, v in r["overrides"].items())
    lines = [f"### Blind A/B: the defaults against {over}", "",
             f"{r['pairs']} labelled posters differ ({r['same']} the same). Rule, written before judging: {r['rule']}",
             "", "| judge | defaults win | overrides win | ties |", "|---|---:|---:|---:|"]
    for j, t in r["judges"].items():
        lines.append(f"| {j} | {t['defaults']} | {t['overrides']} | {t['tie']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("overrides", nargs="*", help="setting=value (as Settings.from_env overrides: crop.fit_people=false)")
    ap.add_argument("--score", action="store_true")
    a = ap.parse_args(argv)
    if a.score:
        r = score(Path(a.dir))
        res = ROOT / "bench" / "results"
        stem = "ab-" + "-".join(k.split(".")[-1].replace("_", "-") for k in r["overrides"]) + f"-{r['date']}"
        (res / f"{stem}.json").write_text(json.dumps(r, indent=1))
        (res / f"{stem}.md").write_text(markdown(r))
        print(markdown(r))
    else:
        print(write(Path(a.dir), dict(o.split("=", 1) for o in a.overrides)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
