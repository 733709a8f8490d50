import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))
PHOTOS = ROOT / "examples" / "photos"
SAMPLE = ROOT / "examples" / "sample.mp4"


def photo(name: str) -> np.ndarray:
    img = cv2.imread(str(PHOTOS / f"{name}.jpg"))
    assert img is not None, name
    return img


def write_video(path: Path, frames, fps: float = 10.0) -> Path:
    frames = list(frames)
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened()
    for f in frames:
        vw.write(f)
    vw.release()
    return path


@pytest.fixture(scope="session")
def detector():
    from autoposter.faces import FaceDetector
    return FaceDetector()


@pytest.fixture(scope="session")
def sample_video() -> Path:
    assert SAMPLE.is_file(), "examples/sample.mp4 is missing (python examples/make_sample_video.py)"
    return SAMPLE


def python313() -> str | None:
    """Lambda's runtime version (python3.13) on this machine, if any: the layers pin its wheels."""
    cands = [sys.executable] + sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3")))
    for c in cands + [shutil.which("python3.13") or ""]:
        if c and subprocess.run([c, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 13))"],
                                capture_output=True).returncode == 0:
            return c
    return None
