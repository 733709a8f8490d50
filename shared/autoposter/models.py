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
    from .envvars import env_value
    return env_value(os.environ, "AUTOPOSTER_ORT_THREADS", 1, (0, 64))


# What each model must take and give: input and output names with their shapes (None: any size). A file
# swapped for another model, or a conversion that changed the graph, is refused by name before any work.
SPEC = {
    "pnet": ([("input", (None, 3, None, None))], [("reg", (None, 4, None, None)), ("prob", (None, 2, None, None))]),
    "rnet": ([("input", (None, 3, 24, 24))], [("reg", (None, 4)), ("prob", (None, 2))]),
    "onet": ([("input", (None, 3, 48, 48))], [("reg", (None, 4)), ("landmarks", (None, 10)), ("prob", (None, 2))]),
    "emotion": ([("input", (None, 64, 64, 1))], [("predictions", (None, 7))]),
    "pose_detection": ([("image", (1, 224, 224, 3))], [("regressors", (1, 2254, 12)), ("scores", (1, 2254, 1))]),
    "pose_landmark": ([("image", (1, 256, 256, 3))],
                      [("landmarks", (1, 195)), ("presence", (1, 1)), ("heatmap", (1, 64, 64, 39))]),
    "u2netp": ([(None, (1, 3, 320, 320))], [(None, (1, 1, 320, 320))] * 7),
}


def _signature_problem(name: str, sess) -> str | None:
    """Why ``sess`` is not the model ``name`` should be, or None."""
    if name not in SPEC:
        return None

    def same(got, want) -> bool:
        if len(got) != len(want):
            return False
        for g, (wname, wshape) in zip(got, want):
            shape = tuple(d if isinstance(d, int) else None for d in g.shape)
            if (wname is not None and g.name != wname) or len(shape) != len(wshape) or \
                    any(w is not None and s is not None and s != w for s, w in zip(shape, wshape)):
                return False
        return True
    ins, outs = SPEC[name]
    if same(sess.get_inputs(), ins) and same(sess.get_outputs(), outs):
        return None
    show = lambda xs: ", ".join(f"{x.name}{list(x.shape)}" for x in xs)    # noqa: E731
    return f"takes {show(sess.get_inputs())} and gives {show(sess.get_outputs())}"


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
    """An onnxruntime session for ``name`` (for example ``"pnet"``), checked against ``SPEC``."""
    path = model_dir() / f"{name}.onnx"
    if not path.is_file():
        raise ModelError(f"model file {path} is missing", code="Model::Missing")
    sess = _session(str(path), default_threads() if threads is None else threads)
    problem = _signature_problem(name, sess)
    if problem:
        raise ModelError(f"{path} is not the {name} model autoposter expects: it {problem} (convert it again with "
                         "layers/models/convert_models.py)", code="Model::Mismatch")
    return sess


@functools.lru_cache(maxsize=4)
def _verified(folder: str) -> bool:
    """Every file ``SHA256SUMS`` lists matches: the models the conversion scripts made, as shipped."""
    import hashlib
    sums = Path(folder) / "SHA256SUMS"
    try:
        lines = [ln.split() for ln in sums.read_text().splitlines() if ln.strip()]
        for digest, name in ((parts[0], parts[-1].lstrip("*")) for parts in lines):
            h = hashlib.sha256()
            with open(Path(folder) / name, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != digest:
                return False
        return bool(lines)
    except (OSError, ValueError, IndexError):
        return False


def check_all() -> Path:
    """Every model a run needs, checked before the first frame is decoded: when the folder's files match
    its ``SHA256SUMS`` (the shipped models) that is enough; otherwise each model is opened and its inputs
    and outputs compared with ``SPEC`` (``Model::*`` errors). The BRISQUE tables are parsed by
    ``quality.load_model``, which the caller runs too."""
    folder = model_dir()
    if not _verified(str(folder)):
        for name in SPEC:
            session(name)
    return folder
