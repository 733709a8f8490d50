"""S4/S9: the layers are built as `sam build` builds them (python3.13, arm64), each function with
its layers stays within the 200 MB budget, and the layers alone run every handler.

Builds with the same Makefiles into build/lambda (Lambda's manylinux_2_28 aarch64 wheels from
PyPI; cached after the first run). This machine is x86_64, so the run check installs the same
pinned versions for this machine beside the built layers' pure-Python parts.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, python313

BUILD = ROOT / "build" / "lambda"
RUNTIME_PINS = ("boto3==1.44.8",)          # Lambda's python3.13 runtime brings boto3 and botocore


@pytest.fixture(scope="module")
def size_report():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "lambda_size.py"), "--json", "--build-dir", str(BUILD)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    return json.loads(r.stdout)


def test_every_function_with_its_layers_is_within_200_mb(size_report):
    fns = size_report["functions"]
    assert set(fns) == {"extract_frames", "extract_segment", "sample", "analyse", "batch_failed", "publish", "job_failed"}
    for name, row in fns.items():
        assert row["total"] <= 200_000_000, (name, row)
    assert fns["analyse"]["layers"] == ["BaseLayer", "CoreLayer", "OnnxLayer", "ModelsLayer"]
    assert fns["publish"]["layers"] == ["BaseLayer", "CoreLayer", "ImagingLayer"]
    layers = size_report["layers"]
    assert layers["BaseLayer"] > 80e6 and layers["OnnxLayer"] > 15e6      # really holds numpy, OpenCV, onnxruntime
    base = Path(size_report["dirs"]["BaseLayer"]) / "python"
    assert any(base.glob("cv2/cv2*.so")) and any((base / "numpy").glob("_core/_multiarray_umath*aarch64*.so"))
    core = Path(size_report["dirs"]["CoreLayer"]) / "python"
    assert not (core / "autoposter_local").exists() and not (core / "moto").exists()     # no harness shipped


def test_each_handler_runs_from_its_own_layers_alone(size_report):
    py = python313()
    if py is None:
        pytest.skip("no Python 3.13 here to load the layers' pins (Lambda's runtime is python3.13)")
    sys.path.insert(0, str(ROOT / "scripts"))
    from lambda_size import LAYERS, build, function_layers
    import platform
    wiring = function_layers()
    m = platform.machine()
    host = (f"--platform manylinux_2_28_{m} --platform manylinux_2_17_{m} --platform manylinux2014_{m} "
            "--implementation cp --python-version 3.13 --abi cp313")
    dirs = build(ROOT / "build" / "lambda-host", [n for n in LAYERS if n != "ModelsLayer"], host, py)
    runtime = ROOT / "build" / "lambda-host" / "runtime"           # what Lambda's runtime brings: boto3
    if not (runtime / "boto3").is_dir():
        subprocess.run([py, "-m", "pip", "install", "-q", "--target", str(runtime), *RUNTIME_PINS], check=True)
    for fn, used in wiring.items():
        paths = [str(dirs[u] / "python") for u in used if u != "ModelsLayer"] + [str(runtime)]
        code = f"""
import sys, importlib.util
sys.path[:0] = {paths!r}
spec = importlib.util.spec_from_file_location("app", {str(ROOT / "functions")!r} + "/{fn}/app.py")
spec.loader.exec_module(importlib.util.module_from_spec(spec))
if {fn!r} == "analyse":
    from autoposter.faces import FaceDetector
    import cv2
    print(len(FaceDetector().detect(cv2.imread({str(ROOT / "examples" / "photos" / "astronaut.jpg")!r}))))
if {fn!r} == "publish":
    import numpy as np
    from autoposter.compose import compose
    from autoposter.templates import load
    poster, placed = compose(np.zeros((1920, 1080, 3), np.uint8), load("streaming"), "story", {{"title": "A title"}},
                             [], None)
    print(len(placed))
print(sorted({{m.split(".")[0] for m in sys.modules}} & {{"PIL", "onnxruntime", "sympy", "torch", "moto"}}))
"""
        env = {"PATH": os.environ["PATH"], "AUTOPOSTER_MODEL_DIR": str(ROOT / "layers" / "models" / "onnx"),
               "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
        r = subprocess.run([py, "-S", "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, (fn, r.stderr[-3000:])
        lines = r.stdout.strip().splitlines()
        loaded = eval(lines[-1])
        if fn == "analyse":
            assert lines[0] == "1" and "PIL" not in loaded and "onnxruntime" in loaded, lines
        if fn == "publish":
            assert int(lines[0]) >= 2 and "PIL" in loaded and "onnxruntime" not in loaded, lines
        assert "sympy" not in loaded and "torch" not in loaded and "moto" not in loaded
