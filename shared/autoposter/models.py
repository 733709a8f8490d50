"""Where the ONNX files live and how sessions are opened.

Search order for the model folder: ``$AUTOPOSTER_MODEL_DIR``; ``/opt/onnx`` (the
Lambda model layer); ``layers/models/onnx`` of the source checkout this package
sits in. Sessions are cached per (folder, name, threads) so a warm Lambda or a
long CLI run opens each model once.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from .errors import ModelError

LAMBDA_LAYER_DIR = Path("/opt/onnx")


def model_dir() -> Path:
    env = os.environ.get("AUTOPOSTER_MODEL_DIR")
    if env:                         # asked for explicitly: that folder or an error, never a silent fallback
        if not (Path(env) / "pnet.onnx").is_file():
            raise ModelError(f"AUTOPOSTER_MODEL_DIR={env}: no pnet.onnx there (expected the folder holding "
                             "pnet.onnx, rnet.onnx and onet.onnx; see layers/models/README.md)", code="Model::Missing")
        return Path(env)
    candidates = [LAMBDA_LAYER_DIR]
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidates.append(parent / "layers" / "models" / "onnx")
    for c in candidates:
        if (c / "pnet.onnx").is_file():
            return c
    raise ModelError(
        "MTCNN ONNX files not found; set AUTOPOSTER_MODEL_DIR to the folder holding "
        "pnet.onnx, rnet.onnx and onet.onnx (see layers/models/README.md)",
        code="Model::Missing")


def default_threads() -> int:
    """Intra-op threads for onnxruntime: ``$AUTOPOSTER_ORT_THREADS`` (default 1: the command line runs one
    process per core, a Lambda has one vCPU; 0 = onnxruntime's choice). One thread also keeps results
    identical wherever they are computed."""
    from .settings import env_value
    return env_value(os.environ, "AUTOPOSTER_ORT_THREADS", 1, (0, 64))


@functools.lru_cache(maxsize=16)
def _session(path: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load model {path}: {exc}".splitlines()[0],
                         code="Model::Unloadable") from exc


def session(name: str, threads: int | None = None):
    """An onnxruntime session for ``name`` (for example ``"pnet"``)."""
    path = model_dir() / f"{name}.onnx"
    if not path.is_file():
        raise ModelError(f"model file {path} is missing", code="Model::Missing")
    return _session(str(path), default_threads() if threads is None else threads)
