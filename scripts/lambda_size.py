"""Unzipped size of each Lambda function plus its layers, against the project's 200 MB budget (S4, S9).

Builds the layers exactly as ``sam build`` does (the same Makefiles; Lambda's platform:
python3.13, arm64, manylinux_2_28 wheels) into ``build/`` and adds up the bytes. Which
layers each function carries is read from ``template.yaml`` (Globals + the function's own):

    python scripts/lambda_size.py [--json] [--build-dir build/lambda]
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
BUDGET = 200_000_000         # 200 MB: 20 % under Lambda's limit
LAMBDA_LIMIT = 262_144_000   # 250 MiB, function + all its layers, unzipped
# layer logical id -> (source folder, make target); the models layer is committed as it ships
LAYERS = {"BaseLayer": ("layers/deps", "build-BaseLayer"), "OnnxLayer": ("layers/deps", "build-OnnxLayer"),
          "ImagingLayer": ("layers/deps", "build-ImagingLayer"), "CoreLayer": ("shared", "build-CoreLayer"),
          "ModelsLayer": ("layers/models", None)}


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def function_layers() -> dict[str, list[str]]:
    """{function folder: [layer logical ids]} as template.yaml wires them."""
    from cfnlint.decode import decode

    tpl, errors = decode(str(ROOT / "template.yaml"))
    if errors:
        raise SystemExit(f"template.yaml does not parse: {errors[0]}")
    glob = [ref["Ref"] for ref in tpl["Globals"]["Function"].get("Layers", [])]
    out = {}
    for res in tpl["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            p = res["Properties"]
            out[Path(p["CodeUri"]).name] = glob + [ref["Ref"] for ref in p.get("Layers", [])]
    return out


def build(build_dir: Path, names, platform: str | None = None, python: str | None = None) -> dict[str, Path]:
    """Build the layers into ``build_dir``; ``platform`` overrides the Makefiles' PLATFORM (the
    tests build this machine's wheels of the same pins, pruned the same way, to run them)."""
    pip = f"{python or sys.executable} -m pip"
    extra = [f"PLATFORM={platform}"] if platform else []
    out = {}
    for name in names:
        src, target = LAYERS[name]
        if target is None:
            out[name] = ROOT / src / "onnx"
            continue
        dest = build_dir / name
        if name == "CoreLayer" or not (dest / "python").is_dir():      # the project's own code: always fresh
            shutil.rmtree(dest, ignore_errors=True)
            subprocess.run(["make", "-s", "-C", str(ROOT / src), target, f"ARTIFACTS_DIR={dest}", f"PIP={pip}", *extra],
                           check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        out[name] = dest
    return out


def sizes(build_dir: Path) -> dict:
    wiring = function_layers()
    layers = build(build_dir, sorted({n for used in wiring.values() for n in used}))
    layer_bytes = {k: tree_bytes(v) for k, v in layers.items()}
    rows = {}
    for fn, used in sorted(wiring.items()):
        code = tree_bytes(ROOT / "functions" / fn)
        total = code + sum(layer_bytes[u] for u in used)
        rows[fn] = {"code": code, "layers": used, "total": total, "budget": BUDGET, "limit": LAMBDA_LIMIT,
                    "ok": total <= BUDGET}
    return {"platform": "python3.13, arm64 (manylinux_2_28_aarch64)", "layers": layer_bytes, "functions": rows,
            "dirs": {k: str(v) for k, v in layers.items()}}


def markdown(res: dict) -> str:
    mb = lambda b: f"{b / 1e6:.1f} MB"   # noqa: E731
    lines = ["| layer | unzipped |", "|---|---:|"] + [f"| {k} | {mb(v)} |" for k, v in res["layers"].items()]
    lines += ["", "| function | code | layers | function + layers | of 200 MB budget | of 250 MiB limit |",
              "|---|---:|---|---:|---:|---:|"]
    for k, v in res["functions"].items():
        lines.append(f"| {k} | {v['code']:,} B | {' + '.join(v['layers'])} | {mb(v['total'])} | "
                     f"{100 * v['total'] / BUDGET:.0f} % | {100 * v['total'] / LAMBDA_LIMIT:.0f} % |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=str(ROOT / "build" / "lambda"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = sizes(Path(args.build_dir))
    print(json.dumps(res, indent=2) if args.json else markdown(res))
    return 0 if all(v["ok"] for v in res["functions"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
