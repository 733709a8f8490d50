"""Build the person models of the model layer (BlazePose) from the MediaPipe wheel, and their references.

    python3.11 -m venv /tmp/convert-pose && /tmp/convert-pose/bin/pip install tensorflow-cpu==2.21.0 \
        tf2onnx==1.17.0 onnx onnxruntime opencv-python-headless numpy
    python3.11 -m venv /tmp/mp-ref && /tmp/mp-ref/bin/pip install --no-deps mediapipe==0.10.14 && \
        /tmp/mp-ref/bin/pip install "numpy<2" "protobuf<5" absl-py attrs flatbuffers opencv-python-headless matplotlib
    /tmp/convert-pose/bin/python layers/models/convert_pose.py --mediapipe-python /tmp/mp-ref/bin/python

Both files come out of PyPI ``mediapipe==0.10.14`` (the cp311 manylinux x86_64 wheel; Apache-2.0), the
last release that ships them (1.x downloads its models at run time). ``pip download`` fetches the wheel
(no install, no import of mediapipe here) and the two members are read from the zip:

* ``mediapipe/modules/pose_detection/pose_detection.tflite`` — the BlazePose person detector: 224×224×3
  RGB in [-1, 1], letterboxed with black; 2254 SSD anchors × 12 regressors (a box x, y, w, h — in
  fact a fixed-size placeholder around the anchor — and four keypoints: hip centre, a point on the
  full-body circle, shoulder centre, a point on the upper-body circle) and 2254 score logits. → ``onnx/pose_detection.onnx`` (input ``image``, outputs
  ``regressors`` [1, 2254, 12], ``scores`` [1, 2254, 1]).
* ``mediapipe/modules/pose_landmark/pose_landmark_full.tflite`` — BlazePose GHUM "full": 256×256×3 RGB in
  [0, 1] of the rotated person ROI; 39 landmarks × (x, y, z, visibility, presence) (33 body points and
  two alignment points), the pose presence, a 64×64×39 heatmap, a 256×256 person mask and world
  landmarks. → ``onnx/pose_landmark.onnx`` (input ``image``, outputs ``landmarks`` [1, 195],
  ``presence`` [1, 1], ``heatmap`` [1, 64, 64, 39]). The mask and the world landmarks are cut off the
  graph (``onnx.utils.Extractor``): the mask's decoder is half the model's cost (≈ 37 → 15–19 ms a
  person on one core; onnxruntime runs every node whatever outputs are asked for) and nothing here
  uses it.

How:

* The landmark model converts with ``python -m tf2onnx.convert --tflite … --opset 17`` as it is.
* The detector does not: 38 of its 1×1 convolution kernels are stored sparse (TFLite ``DENSIFY`` op
  on fp16 weights), which tf2onnx cannot read. So the flatbuffer is rewritten first
  (:func:`densify`): the TFLite interpreter runs once with ``experimental_preserve_all_tensors`` and
  no delegate, every ``DENSIFY`` output (the dense fp16 kernel) is read back, written into the
  buffer of the sparse input tensor (whose sparsity descriptor is dropped), the ``DENSIFY`` output
  tensor is pointed at that same buffer and the op is removed. The rewritten model gives
  bit-identical outputs to the original under the same interpreter (checked here every run), and
  then converts with tf2onnx like the landmark model. No op is written by hand.
* Every weight of both models is fp16 in the TFLite files (``DEQUANTIZE`` to fp32 at load).
  tf2onnx writes them as fp32; :func:`fp16_storage` stores each back as fp16 followed by a
  ``Cast`` to fp32 — the same numbers exactly (checked), half the bytes; onnxruntime folds the casts
  when it loads the session (~0.13 s a model).
* tf2onnx numbers its constants differently on every run; :func:`canonical_names` renames them in
  order of use, so a rebuild writes the same bytes (the same ``SHA256SUMS`` line).

The detector's SSD anchors are not in the graph: ``autoposter.people.ssd_anchors`` computes them from
MediaPipe's ``SsdAnchorsCalculator`` options in ``pose_detection_cpu.pbtxt`` (5 layers, strides 8,
16, 32, 32, 32, one aspect ratio 1.0 plus the interpolated one, fixed anchor size, offset 0.5).

References (``tests/data/pose_reference.npz``, compared by ``tests/test_pose_parity.py``):

* the ORIGINAL TFLite files run by TensorFlow's TFLite interpreter (with its default XNNPACK
  delegate, as MediaPipe runs them) on the detector inputs of real photographs — the six of
  ``examples/photos``, three portraits side by side in one frame ("trio"; the cameraman is too small
  there to be found) and OpenCV's ``basketball1.png`` (two people, one seen from behind; Debian
  ``opencv-doc``, used when installed) — and on the landmark ROIs that ``autoposter.people`` cuts
  from them: raw outputs (the heatmap after its sigmoid, fp16) plus the uint8 inputs (detector
  input = u8 · 2/255 − 1, landmark input = u8 / 255: exactly what the pipeline feeds, checked);
* with ``--mediapipe-python``: MediaPipe 0.10.14's own Pose graph (the Pose solution's, static
  images, model complexity 1; run in that interpreter because it needs numpy < 2) on the three
  single-person photos, with its intermediate streams: the detection it keeps (score, four
  keypoints), the ROI it derives and the 33 landmarks, in frame pixels. The test checks each stage
  of ``autoposter.people`` against them — letterbox, anchors, decoding and weighted NMS against the
  detection; the rotated ROI against MediaPipe's ROI; the crop, heatmap refinement and projection
  (fed MediaPipe's ROI) against its landmarks — not only the networks.

Finally ``onnx/SHA256SUMS`` gets the two new lines (other lines are kept).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "shared"))
OUT = ROOT / "layers" / "models" / "onnx"
REFERENCE = ROOT / "tests" / "data" / "pose_reference.npz"
WHEEL = "mediapipe==0.10.14"
MEMBERS = {"pose_detection": "mediapipe/modules/pose_detection/pose_detection.tflite",
           "pose_landmark": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"}
OPSET = 17
# tf2onnx's names (the TFLite model's) -> ours; outputs not listed are cut off the graph.
NAMES = {"pose_detection": {"input_1": "image", "Identity": "regressors", "Identity_1": "scores"},
         "pose_landmark": {"input_1": "image", "Identity": "landmarks", "Identity_1": "presence",
                           "Identity_3": "heatmap"}}
PHOTOS = ("astronaut", "grace_hopper", "camera", "coffee", "chelsea", "rocket")
BASKETBALL = Path("/usr/share/doc/opencv-doc/examples/data/basketball1.png")


def trio() -> np.ndarray:
    """Three real portraits side by side in one 1536×600 frame: three people (astronaut, Grace Hopper, cameraman)."""
    tiles = []
    for name in ("astronaut", "grace_hopper", "camera"):
        img = cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg"))
        tiles.append(cv2.copyMakeBorder(img, 0, 600 - img.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0)))
    return np.hstack(tiles)


def photographs() -> dict[str, np.ndarray]:
    imgs = {name: cv2.imread(str(ROOT / "examples" / "photos" / f"{name}.jpg")) for name in PHOTOS}
    imgs["trio"] = trio()
    if BASKETBALL.is_file():
        imgs["basketball1"] = cv2.imread(str(BASKETBALL))
    else:
        print(f"note: {BASKETBALL} missing (apt-get install opencv-doc): references without it")
    return imgs


def wheel_members(dest: Path) -> dict[str, Path]:
    """The two .tflite files out of the mediapipe wheel (cp311 manylinux x86_64, whatever Python runs this)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.11", "--platform", "manylinux_2_17_x86_64", "-d", tmp, WHEEL],
                       check=True)
        whl = next(Path(tmp).glob("mediapipe-0.10.14-*.whl"))
        out = {}
        with zipfile.ZipFile(whl) as z:
            for key, member in MEMBERS.items():
                out[key] = dest / Path(member).name
                out[key].write_bytes(z.read(member))
                print(f"{member}: {out[key].stat().st_size} bytes, sha256 {sha256(out[key])}")
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def interpreter(path: Path, delegate: bool = True, preserve: bool = False):
    import tensorflow as tf
    kw = {} if delegate else {"experimental_op_resolver_type":
                              tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    it = tf.lite.Interpreter(model_path=str(path), experimental_preserve_all_tensors=preserve, **kw)
    it.allocate_tensors()
    return it


def run_tflite(it, x: np.ndarray) -> list[np.ndarray]:
    it.set_tensor(it.get_input_details()[0]["index"], x.astype(np.float32))
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def densify(src: Path, dst: Path) -> int:
    """Rewrite ``src`` with every DENSIFY op replaced by its dense result as a constant. Returns the count."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils
    it = interpreter(src, delegate=False, preserve=True)
    run_tflite(it, np.zeros((1, 224, 224, 3), np.float32))       # DENSIFY runs once; its output is kept
    model = flatbuffer_utils.read_model(str(src))
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    kept, n = [], 0
    for op in graph.operators:
        if codes[op.opcodeIndex] != schema.BuiltinOperator.DENSIFY:
            kept.append(op)
            continue
        sparse, dense = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        value = it.get_tensor(op.outputs[0])
        assert value.dtype == np.float16 and tuple(value.shape) == tuple(dense.shape), (value.dtype, value.shape)
        model.buffers[sparse.buffer].data = np.frombuffer(value.tobytes(), np.uint8)
        sparse.sparsity = None                      # now a plain dense constant (nothing reads it any more)
        dense.buffer = sparse.buffer                # the former DENSIFY output is that constant
        n += 1
    graph.operators = kept
    flatbuffer_utils.write_model(model, str(dst))
    return n


def tf2onnx(tflite: Path, out: Path) -> None:
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite), "--opset", str(OPSET),
                    "--output", str(out)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fp16_storage(model) -> int:
    """Store every fp32 initializer that is exactly fp16 as fp16 + Cast (the TFLite weights are fp16)."""
    import onnx
    from onnx import helper, numpy_helper
    g = model.graph
    casts, keep, moved = [], [], 0
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.size >= 16 and np.array_equal(a.astype(np.float16).astype(np.float32), a):
            half = numpy_helper.from_array(a.astype(np.float16), init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                          name=init.name + "_cast"))
            moved += a.size
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return moved


def canonical_names(model) -> None:
    """Name every initializer after its first use (``w0``, ``w1``, …) and store them in that order:
    tf2onnx numbers its constants differently on every run, so without this each rebuild would give
    a file with another checksum for the same graph and weights."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    order: list[str] = []
    for node in g.node:
        for name in node.input:
            if name in inits and name not in order:
                order.append(name)
    order += [n for n in inits if n not in order]
    rename = {old: f"w{k}" for k, old in enumerate(order)}
    for node in g.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
    kept = [inits[n] for n in order]
    for init in kept:
        init.name = rename[init.name]
    del g.initializer[:]
    g.initializer.extend(kept)


def finish(raw: Path, key: str, out: Path) -> None:
    """Keep the outputs we use, give inputs/outputs our names, fp16 storage, provenance, check, save."""
    import onnx
    from onnx import utils
    names = NAMES[key]
    model = onnx.load(str(raw))
    outputs = [o.name for o in model.graph.output if o.name in names]
    model = utils.Extractor(model).extract_model([i.name for i in model.graph.input], outputs)
    g = model.graph
    for node in g.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    for v in list(g.input) + list(g.output):
        v.name = names.get(v.name, v.name)
    canonical_names(model)
    fp16_storage(model)
    model.producer_name = "autoposter layers/models/convert_pose.py"
    model.doc_string = (f"{MEMBERS[key]} from PyPI {WHEEL} (Apache-2.0, Google), converted with tf2onnx "
                        f"opset {OPSET}; weights stored fp16 as in the TFLite file")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out))


class TFLiteNets:
    """The original TFLite models behind the runner interface of ``autoposter.people`` (same pipeline)."""

    def __init__(self, files: dict[str, Path]):
        self._d = interpreter(files["pose_detection"])
        self._l = interpreter(files["pose_landmark"])
        self.calls = {"detector": [], "landmarks": []}

    def detector(self, x: np.ndarray):
        reg, score = run_tflite(self._d, x)
        self.calls["detector"].append((x, reg, score))
        return reg, score

    def landmarks(self, x: np.ndarray):
        lm, presence, _mask, heatmap, _world = run_tflite(self._l, x)
        self.calls["landmarks"].append((x, lm, presence, heatmap))
        return lm, presence, heatmap


def mediapipe_pipeline(python: str, images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """MediaPipe 0.10.14's own Pose graph (the Pose solution's, static images, model complexity 1, no
    smoothing) run in another interpreter, with its intermediate streams: the detection it keeps
    (score, four keypoints), the ROI it derives (centre, size, rotation) and the 33 landmarks."""
    script = r"""
import json, sys, cv2
from mediapipe.python.solution_base import SolutionBase
from mediapipe.python.solutions import pose
out = {}
for path in json.loads(sys.argv[1]):
    img = cv2.imread(path)
    h, w = img.shape[:2]
    graph = SolutionBase(binary_graph_path=pose._BINARYPB_FILE_PATH,
        side_inputs={"model_complexity": 1, "smooth_landmarks": False, "enable_segmentation": False,
                     "smooth_segmentation": False, "use_prev_landmarks": False},
        calculator_params={"posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": 0.5,
            "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold": 0.5},
        outputs=["pose_landmarks", "pose_detection", "pose_rect_from_detection"])
    with graph:
        r = graph.process({"image": cv2.cvtColor(img, cv2.COLOR_BGR2RGB)})
    if r.pose_landmarks is None:
        continue
    d, roi = r.pose_detection, r.pose_rect_from_detection
    out[path] = {"score": d.score[0],
                 "keypoints": [[k.x * w, k.y * h] for k in d.location_data.relative_keypoints],
                 "roi": [roi.x_center * w, roi.y_center * h, roi.width * w, roi.height * h, roi.rotation],
                 "landmarks": [[l.x * w, l.y * h, l.visibility] for l in r.pose_landmarks.landmark]}
print("RESULT" + json.dumps(out))
"""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, img in images.items():
            paths[name] = str(Path(tmp) / f"{name}.png")      # lossless: both sides read the same pixels
            cv2.imwrite(paths[name], img)
        env = dict(os.environ, GLOG_minloglevel="3", TF_CPP_MIN_LOG_LEVEL="3")
        res = subprocess.run([python, "-c", script, json.dumps(list(paths.values()))], check=True,
                             capture_output=True, text=True, env=env)
        line = next(l for l in res.stdout.splitlines() if l.startswith("RESULT"))
        found = json.loads(line[len("RESULT"):])
    out = {}
    for name, path in paths.items():
        if path in found:
            for key, value in found[path].items():
                out[f"mediapipe_{name}_{key}"] = np.asarray(value, np.float32)
    return out


def update_sums(names: list[str]) -> None:
    path = OUT / "SHA256SUMS"
    lines = [l for l in path.read_text().splitlines() if l.strip() and l.split()[1] not in names]
    lines += [f"{sha256(OUT / n)}  {n}" for n in names]
    path.write_text("".join(l + "\n" for l in sorted(lines, key=lambda l: l.split()[1])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mediapipe-python", help="a Python with mediapipe==0.10.14 (numpy<2) for the pipeline references")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import onnxruntime as ort

    from autoposter import people
    ref: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = wheel_members(tmp)

        # 1. the detector: densify, check, convert
        dense = tmp / "pose_detection_dense.tflite"
        print(f"densified {densify(files['pose_detection'], dense)} sparse kernels")
        x = people.detector_input(people.letterbox(cv2.imread(str(ROOT / "examples" / "photos" / "astronaut.jpg")))[0])
        a = run_tflite(interpreter(files["pose_detection"]), x)
        b = run_tflite(interpreter(dense), x)
        assert all(np.array_equal(u, v) for u, v in zip(a, b)), "the densified detector differs from the original"
        for key, tflite in (("pose_detection", dense), ("pose_landmark", files["pose_landmark"])):
            raw = tmp / f"{key}_raw.onnx"
            tf2onnx(tflite, raw)
            finish(raw, key, OUT / f"{key}.onnx")
            print(f"wrote {OUT / f'{key}.onnx'} ({(OUT / f'{key}.onnx').stat().st_size} bytes)")

        # 2. references: the original TFLite models through the very pipeline of autoposter.people
        nets = TFLiteNets(files)
        detector = people.PersonDetector(people.PeopleSettings(max_landmark_people=10), nets=nets)
        images = photographs()
        det_names, lm_names = [], []
        for name, img in images.items():
            n_before = len(nets.calls["landmarks"])
            found = detector.detect(img)
            det_names.append(name)
            lm_names += [name] * (len(nets.calls["landmarks"]) - n_before)
            print(f"{name}: {len(found)} people (TFLite), scores {[round(p.score, 3) for p in found]}")
        to_u8 = lambda x, lo: np.round((x[0] - lo) * (255.0 / (1.0 - lo))).astype(np.uint8)
        d, l = nets.calls["detector"], nets.calls["landmarks"]
        ref["detector_names"] = np.array(det_names)
        ref["detector_inputs"] = np.stack([to_u8(c[0], -1.0) for c in d])
        ref["detector_regressors"] = np.stack([c[1][0] for c in d])
        ref["detector_scores"] = np.stack([c[2][0] for c in d])
        ref["landmark_names"] = np.array(lm_names)
        ref["landmark_inputs"] = np.stack([to_u8(c[0], 0.0) for c in l])
        ref["landmark_landmarks"] = np.stack([c[1][0] for c in l])
        ref["landmark_presence"] = np.stack([c[2][0] for c in l])
        # the heatmap as the pipeline uses it (sigmoid), fp16: 2.4e-4 rounding at most, 8x smaller
        ref["landmark_heatmap_sigmoid"] = np.stack([1 / (1 + np.exp(-c[3][0].astype(np.float64))) for c in l]
                                                   ).astype(np.float16)
        # the inputs are stored as uint8: check the models saw exactly what the test will rebuild
        assert all(np.array_equal(people.detector_input(u), c[0]) for u, c in zip(ref["detector_inputs"], d))
        assert all(np.array_equal(people.landmark_input(u), c[0]) for u, c in zip(ref["landmark_inputs"], l))

        if args.mediapipe_python:
            single = {k: v for k, v in images.items() if k in ("astronaut", "grace_hopper", "camera")}
            ref.update(mediapipe_pipeline(args.mediapipe_python, single))

    # 3. the converted models on the same inputs (a quick look; the test asserts)
    for key, outs in (("pose_detection", ("detector_regressors", "detector_scores")),
                      ("pose_landmark", ("landmark_landmarks", "landmark_presence"))):
        s = ort.InferenceSession(str(OUT / f"{key}.onnx"), providers=["CPUExecutionProvider"])
        prefix = outs[0].split("_")[0]
        conv = people.detector_input if key == "pose_detection" else people.landmark_input
        worst = [0.0] * len(outs)
        for i, u in enumerate(ref[f"{prefix}_inputs"]):
            got = s.run(None, {"image": conv(u)})
            for k, o in enumerate(outs):
                worst[k] = max(worst[k], float(np.abs(got[k][0] - ref[o][i]).max()))
        print(key, "max |ONNX - TFLite|:", dict(zip(outs, worst)))
    np.savez_compressed(REFERENCE, **ref)
    update_sums(["pose_detection.onnx", "pose_landmark.onnx"])
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes) and SHA256SUMS")


if __name__ == "__main__":
    main()
