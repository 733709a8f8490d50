"""Deploying: `sam validate --lint` and `sam build` on template.yaml, with the SAM CLI from PyPI in
an environment of its own (build/samcli, made once), and Lambda's runtime (python3.13) on PATH."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, python313

SAMCLI = ROOT / "build" / "samcli"


@pytest.fixture(scope="module")
def sam():
    exe = SAMCLI / "bin" / "sam"
    if not exe.is_file():
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(SAMCLI)], capture_output=True, text=True)
        got = made.returncode == 0 and subprocess.run(
            [str(SAMCLI / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "aws-sam-cli==1.170.0"], capture_output=True, text=True, timeout=900).returncode == 0
        if not got:
            pytest.skip("aws-sam-cli could not be installed from PyPI here (needed for sam validate / sam build)")
    py = python313()
    if py is None:
        pytest.skip("sam build for the python3.13 runtime needs a python3.13 on PATH; none found")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{Path(py).parent}:{os.environ['PATH']}"}

    def run(*args):
        return subprocess.run([str(exe), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return run


def test_sam_validate_lint(sam):
    r = sam("validate", "--lint")
    assert r.returncode == 0 and "is a valid SAM Template" in r.stdout + r.stderr, r.stdout + r.stderr


def test_sam_build_makes_arm64_layers_and_every_function(sam):
    out = ROOT / "build" / "sam"
    r = sam("build", "--build-dir", str(out))
    assert r.returncode == 0 and "Build Succeeded" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    for fn in ("ExtractFramesFunction", "AnalyseFunction", "BatchFailedFunction", "PublishFunction"):
        assert (out / fn / "app.py").is_file()
    assert list((out / "BaseLayer" / "python" / "cv2").glob("*.so"))
    ort = list((out / "OnnxLayer" / "python" / "onnxruntime" / "capi").glob("onnxruntime_pybind11_state*.so"))
    assert ort and "aarch64" in ort[0].name
    assert (out / "CoreLayer" / "python" / "autoposter" / "analysis.py").is_file()
    assert not (out / "CoreLayer" / "python" / "autoposter_local").exists()
