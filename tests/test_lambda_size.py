"""S4: the layers are built as `sam build` builds them, fit Lambda's 250 MB, and are enough to run.

Builds with the same Makefiles into build/lambda (Lambda's manylinux2014 wheels from
PyPI; cached after the first run).
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BUILD = ROOT / "build" / "lambda"
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")  # in the runtime


@pytest.fixture(scope="module")
def size_report():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "lambda_size.py"), "--json", "--build-dir", str(BUILD)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    return json.loads(r.stdout)


def test_every_function_with_its_layers_is_under_250_mb(size_report):
    fns = size_report["functions"]
    assert set(fns) == {"extract_frames", "detect", "crop", "compose", "frame_failed", "publish"}
    for name, row in fns.items():
        assert row["total"] < 262_144_000, (name, row)
    assert fns["detect"]["layers"] == ["deps", "core", "models"]
    assert size_report["layers"]["deps"] > 100e6          # really holds numpy, OpenCV, onnxruntime, Pillow


def test_layers_alone_run_the_handlers(size_report, tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        src = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        os.symlink(src, runtime / src.name)
    paths = [str(BUILD / "deps" / "python"), str(BUILD / "core" / "python"), str(runtime)]
    code = f"""
import sys, importlib.util
sys.path[:0] = {paths!r}
for name in {["extract_frames", "detect", "crop", "compose", "frame_failed", "publish"]!r}:
    spec = importlib.util.spec_from_file_location("fn_" + name, {str(ROOT / "functions")!r} + "/" + name + "/app.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
from autoposter.faces import FaceDetector
import cv2
faces = FaceDetector().detect(cv2.imread({str(ROOT / "examples" / "photos" / "astronaut.jpg")!r}))
bad = [m for m in sys.modules if m.split(".")[0] in ("sympy", "torch")]
print(len(faces), bad, sys.modules["numpy"].__file__)
"""
    env = {"PATH": os.environ["PATH"], "AUTOPOSTER_MODEL_DIR": str(ROOT / "layers" / "models" / "onnx"),
           "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("1 [] ") and str(BUILD / "deps") in r.stdout
