"""Convert facenet-pytorch 2.6.0's trained MTCNN weights to ONNX, and check parity.

Build-time only: needs torch (``pip install torch==2.13.0 onnx``); the runtime
never imports torch. The weights are read straight out of the facenet-pytorch
wheel (``facenet_pytorch/data/{pnet,rnet,onet}.pt``, MIT licence), because the
package's own detector imports torchvision, which does not import beside the CPU
torch on these machines. The network classes below mirror
``facenet_pytorch/models/mtcnn.py`` layer for layer.

Usage::

    python layers/models/convert_mtcnn.py [--wheel facenet_pytorch-2.6.0-py3-none-any.whl]

Writes ``layers/models/onnx/{pnet,rnet,onet}.onnx``, ``SHA256SUMS``, and the
PyTorch reference outputs ``tests/data/mtcnn_torch_reference.npz`` that
``tests/test_mtcnn_parity.py`` compares the ONNX cascade against.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "shared"))
OUT = ROOT / "layers" / "models" / "onnx"
REF = ROOT / "tests" / "data" / "mtcnn_torch_reference.npz"
PARITY_IMAGES = ["astronaut.jpg", "grace_hopper.jpg", "camera.jpg", "coffee.jpg"]
OPSET = 13  # onnxruntime 1.16 (the last build for Lambda's python3.11 glibc) reads up to 19


class PNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.softmax4_1 = nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x):
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        return self.conv4_2(x), self.softmax4_1(self.conv4_1(x))


class RNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu4(self.dense4(x.view(x.shape[0], -1)))
        return self.dense5_2(x), self.softmax5_1(self.dense5_1(x))


class ONet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


def fetch_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                    "facenet-pytorch==2.6.0", "-d", str(dest)], check=True)
    return next(dest.glob("facenet_pytorch-2.6.0-*.whl"))


def load_nets(wheel: Path) -> dict:
    nets = {"pnet": PNet(), "rnet": RNet(), "onet": ONet()}
    with zipfile.ZipFile(wheel) as z:
        for name, net in nets.items():
            raw = z.read(f"facenet_pytorch/data/{name}.pt")
            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
            net.eval()
    return nets


def export(nets: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    specs = {
        "pnet": ((1, 3, 24, 32), ["reg", "prob"], {"input": {0: "n", 2: "h", 3: "w"},
                                                   "reg": {0: "n", 2: "oh", 3: "ow"},
                                                   "prob": {0: "n", 2: "oh", 3: "ow"}}),
        "rnet": ((2, 3, 24, 24), ["reg", "prob"], {"input": {0: "n"}, "reg": {0: "n"}, "prob": {0: "n"}}),
        "onet": ((2, 3, 48, 48), ["reg", "landmarks", "prob"],
                 {"input": {0: "n"}, "reg": {0: "n"}, "landmarks": {0: "n"}, "prob": {0: "n"}}),
    }
    for name, (shape, outs, axes) in specs.items():
        path = OUT / f"{name}.onnx"
        torch.onnx.export(nets[name], torch.zeros(shape), str(path), input_names=["input"],
                          output_names=outs, dynamic_axes=axes, opset_version=OPSET,
                          dynamo=False, do_constant_folding=True)
    lines = []
    for name in ("pnet", "rnet", "onet"):
        digest = hashlib.sha256((OUT / f"{name}.onnx").read_bytes()).hexdigest()
        lines.append(f"{digest}  {name}.onnx")
    (OUT / "SHA256SUMS").write_text("\n".join(lines) + "\n")


class TorchNets:
    """The runner interface of ``autoposter.faces`` over the PyTorch networks."""

    def __init__(self, nets):
        self.n = nets

    def _run(self, name, x):
        with torch.no_grad():
            return tuple(t.numpy() for t in self.n[name](torch.from_numpy(x)))

    def pnet(self, x):
        return self._run("pnet", x)

    def rnet(self, x):
        return self._run("rnet", x)

    def onet(self, x):
        return self._run("onet", x)


def reference(nets: dict) -> dict:
    """Cascade outputs with the PyTorch nets on the real photos, plus raw net outputs."""
    import cv2
    from autoposter.faces import mtcnn

    runner = TorchNets(nets)
    ref = {}
    rng = np.random.default_rng(0)
    for i, name in enumerate(PARITY_IMAGES):
        rgb = cv2.cvtColor(cv2.imread(str(ROOT / "examples" / "photos" / name)), cv2.COLOR_BGR2RGB)
        boxes, points = mtcnn(rgb, runner)
        ref[f"boxes_{i}"] = boxes
        ref[f"points_{i}"] = points
        # raw stage outputs on crops of the real photo (deterministic positions)
        h, w = rgb.shape[:2]
        crops24, crops48 = [], []
        for _ in range(8):
            s = int(rng.integers(40, min(h, w) // 2))
            x, y = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
            patch = rgb[y:y + s, x:x + s]
            crops24.append(cv2.resize(patch, (24, 24), interpolation=cv2.INTER_AREA))
            crops48.append(cv2.resize(patch, (48, 48), interpolation=cv2.INTER_AREA))
        ref[f"rnet_in_{i}"] = np.stack(crops24)
        ref[f"onet_in_{i}"] = np.stack(crops48)
        from autoposter.faces import _normalise
        ref[f"rnet_out_{i}"] = np.concatenate(runner.rnet(_normalise(ref[f"rnet_in_{i}"])), axis=1)
        ref[f"onet_out_{i}"] = np.concatenate(runner.onet(_normalise(ref[f"onet_in_{i}"])), axis=1)
        small = cv2.resize(rgb, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
        ref[f"pnet_in_{i}"] = small
        ref[f"pnet_out_{i}"] = np.concatenate(runner.pnet(_normalise(small[None])), axis=1)
    ref["images"] = np.array(PARITY_IMAGES)
    return ref


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="facenet_pytorch-2.6.0 wheel (downloaded if omitted)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        nets = load_nets(wheel)
        export(nets)
        ref = reference(nets)
    REF.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REF, **ref)
    print(f"wrote {OUT} and {REF}")
    print((OUT / "SHA256SUMS").read_text())


if __name__ == "__main__":
    main()
