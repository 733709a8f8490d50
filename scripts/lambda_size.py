"""Unzipped size of each Lambda function plus its layers, against Lambda's 250 MB limit (S4).

Builds the layers exactly as ``sam build`` does (the same Makefiles, Lambda's
manylinux2014 wheels) into ``build/`` and adds up the bytes:

    python scripts/lambda_size.py [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 262_144_000          # 250 MiB, function + all its layers, unzipped
LAYERS_OF = {"detect": ("deps", "core", "models")}   # every other function: deps + core (template.yaml Globals)
FUNCTIONS = ("extract_frames", "detect", "crop", "compose", "frame_failed", "publish")


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def build(build_dir: Path) -> dict[str, Path]:
    pip = f"{sys.executable} -m pip"
    out = {}
    for name, src, target in (("deps", ROOT / "layers" / "deps", "build-DepsLayer"),
                              ("core", ROOT / "shared", "build-CoreLayer")):
        dest = build_dir / name
        if not (dest / "python").is_dir():
            shutil.rmtree(dest, ignore_errors=True)
            subprocess.run(["make", "-s", "-C", str(src), target, f"ARTIFACTS_DIR={dest}", f"PIP={pip}"],
                           check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        out[name] = dest
    out["models"] = ROOT / "layers" / "models"
    return out


def sizes(build_dir: Path) -> dict:
    layers = build(build_dir)
    layer_bytes = {k: tree_bytes(v) for k, v in layers.items()}
    rows = {}
    for fn in FUNCTIONS:
        code = tree_bytes(ROOT / "functions" / fn)
        used = LAYERS_OF.get(fn, ("deps", "core"))
        total = code + sum(layer_bytes[u] for u in used)
        rows[fn] = {"code": code, "layers": list(used), "total": total, "limit": LIMIT, "ok": total < LIMIT}
    return {"layers": layer_bytes, "functions": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=str(ROOT / "build" / "lambda"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = sizes(Path(args.build_dir))
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        mb = lambda b: f"{b / 1e6:.1f} MB"   # noqa: E731
        print("| layer | unzipped |\n|---|---:|")
        for k, v in res["layers"].items():
            print(f"| {k} | {mb(v)} |")
        print("\n| function | code | layers | function + layers | of 250 MiB |\n|---|---:|---|---:|---:|")
        for k, v in res["functions"].items():
            print(f"| {k} | {v['code']:,} B | {' + '.join(v['layers'])} | {mb(v['total'])} | "
                  f"{100 * v['total'] / LIMIT:.0f} % |")
    return 0 if all(v["ok"] for v in res["functions"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
