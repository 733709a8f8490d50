"""Hostile and careless input at the command line, one row per case: the exit code the README
documents, one line naming the typed error, no traceback, no hang (10 s per case), and --out
exactly as it was before the run (a folder holding a previous set, or no folder at all)."""
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, photo, write_video

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}
LIMIT_S = 10
HELD: list = []                   # lock file descriptors this test process holds (out-busy)


def png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG that claims w×h pixels (a decompression bomb's header) with a token IDAT."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))
    return path


def template(tmp: Path, **change) -> Path:
    """A valid one-layer template in its own folder, with ``change`` applied to the document or its layer."""
    folder = tmp / "tpl"
    folder.mkdir(exist_ok=True)
    doc = {"name": "mine", "scenarios": ["feed"],
           "layers": [{"name": "title", "kind": "free", "source": {"field": "title"},
                       "region": [0.05, 0.05, 0.9, 0.9], "size": [0.8, 0.15]}]}
    layer = change.pop("layer", None)
    if layer:
        doc["layers"][0].update(layer)
    doc.update(change)
    p = folder / "template.json"
    p.write_text(json.dumps(doc))
    return p


def deep(n: int) -> str:
    return "[" * n + "]" * n


def snapshot(out: Path):
    """Every entry's path, and every file's size, mtime and bytes: --out byte-identical."""
    if not os.path.lexists(out):               # False (not an error) for a path longer than PATH_MAX
        return None
    return sorted((str(p.relative_to(out)),) + ((p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
                                               if p.is_file() else ()) for p in out.rglob("*"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    import cv2
    tmp = tmp_path_factory.mktemp("clip")
    a = cv2.resize(photo("astronaut"), (320, 240))
    return write_video(tmp / "clip.mp4", [np.roll(a, i * 3, axis=1) for i in range(16)], fps=8)


# id, video (None: the clip), extra arguments (callables get tmp), env, exit code, error code
ROWS = [
    ("rate-zero", None, ["--rate", "0"], {}, 2, "Settings::Invalid"),
    ("rate-negative", None, ["--rate", "-1"], {}, 2, "Settings::Invalid"),
    ("rate-nan", None, ["--rate", "nan"], {}, 2, "Settings::Invalid"),
    ("rate-inf", None, ["--rate", "inf"], {}, 2, "Settings::Invalid"),
    ("rate-huge", None, ["--rate", "1e9"], {}, 2, "Settings::Invalid"),
    ("top-zero", None, ["--top", "0"], {}, 2, "Settings::Invalid"),
    ("top-negative", None, ["--top", "-1"], {}, 2, "Settings::Invalid"),
    ("top-huge", None, ["--top", "51"], {}, 2, "Settings::Invalid"),
    ("meta-empty-key", None, ["--meta", "=x"], {}, 2, "Settings::Invalid"),
    ("meta-no-equals", None, ["--meta", "tagline"], {}, 2, "Settings::Invalid"),
    ("meta-bad-key", None, ["--meta", "bad key=x"], {}, 2, "Settings::Invalid"),
    ("meta-long-value", None, ["--meta", "tagline=" + "x" * 400], {}, 2, "Settings::TextTooLong"),
    ("link-javascript", None, ["--link", "javascript:alert(document.domain)"], {}, 2, "Settings::Link"),
    ("link-data", None, ["--link", "data:text/html,<script>alert(1)</script>"], {}, 2, "Settings::Link"),
    ("link-ftp", None, ["--link", "ftp://example.com/v"], {}, 2, "Settings::Link"),
    ("link-no-host", None, ["--link", "https://"], {}, 2, "Settings::Link"),
    ("link-relative", None, ["--link", "/watch/42"], {}, 2, "Settings::Link"),
    ("link-with-space", None, ["--link", "https://example.com/a b"], {}, 2, "Settings::Link"),
    ("title-301", None, ["--title", "x" * 301], {}, 2, "Settings::TextTooLong"),
    ("title-5000", None, ["--title", "word " * 1000], {}, 2, "Settings::TextTooLong"),
    ("tagline-201", None, ["--tagline", "t" * 201], {}, 2, "Settings::TextTooLong"),
    ("scenario-unknown", None, ["--scenario", "tiktok"], {}, 2, "Settings::UnknownScenario"),
    ("templates-too-many", None, ["--template", ",".join(["minimal"] * 11)], {}, 2, "Settings::Invalid"),
    ("env-faces-max-side-zero", None, [], {"AUTOPOSTER_FACES_MAX_SIDE": "0"}, 2, "Settings::Invalid"),
    ("env-rate-text", None, [], {"AUTOPOSTER_FRAMES_RATE": "fast"}, 2, "Settings::Invalid"),
    ("env-top-k-float", None, [], {"AUTOPOSTER_SCORE_TOP_K": "1.5"}, 2, "Settings::Invalid"),
    ("env-alpha-2", None, [], {"AUTOPOSTER_CROP_ALPHA": "2"}, 2, "Settings::Invalid"),
    ("env-weight-negative", None, [], {"AUTOPOSTER_SCORE_W_SHARPNESS": "-1"}, 2, "Settings::Invalid"),
    ("env-threads-negative", None, [], {"AUTOPOSTER_ORT_THREADS": "-3"}, 2, "Settings::Invalid"),
    ("env-bool-garbage", None, [], {"AUTOPOSTER_CROP_KEEP_GROUP": "maybe"}, 2, "Settings::Invalid"),
    ("feedback-broken-json", None, ["--feedback", lambda t: _write(t / "fb.json", "{not json")], {}, 2,
     "Feedback::Invalid"),
    ("feedback-list", None, ["--feedback", lambda t: _write(t / "fb.json", "[1, 2]")], {}, 2, "Feedback::Invalid"),
    ("feedback-strings", None, ["--feedback", lambda t: _write(t / "fb.json", '{"feed@1.0": {"ctr": "high"}}')], {},
     2, "Feedback::Invalid"),
    ("feedback-out-of-range", None, ["--feedback", lambda t: _write(t / "fb.json", '{"feed@1.0": {"ctr": 2}}')], {},
     2, "Feedback::Invalid"),
    ("feedback-bad-key", None, ["--feedback", lambda t: _write(t / "fb.json", '{"feed": {"ctr": 0.1}}')], {}, 2,
     "Feedback::Invalid"),
    ("feedback-deep", None, ["--feedback", lambda t: _write(t / "fb.json", deep(100_000))], {}, 2,
     "Feedback::Invalid"),
    ("feedback-missing", None, ["--feedback", lambda t: str(t / "nope.json")], {}, 2, "Feedback::Invalid"),
    ("out-is-a-file", None, "OUT_FILE", {}, 2, "Settings::Out"),
    ("out-under-a-file", None, "OUT_UNDER_FILE", {}, 2, "Settings::Out"),
    ("out-busy", None, "OUT_BUSY", {}, 2, "Settings::OutBusy"),
    ("model-dir-wrong", None, [], {"AUTOPOSTER_MODEL_DIR": "/nonexistent/models"}, 5, "Model::Missing"),
    ("model-corrupt", None, [], "MODEL_CORRUPT", 5, "Model::Unloadable"),
    ("video-missing", "missing.mp4", [], {}, 3, "Video::NotFound"),
    ("video-empty", lambda t: _write(t / "empty.mp4", b""), [], {}, 3, "Video::Empty"),
    ("video-text", lambda t: _write(t / "text.mp4", "hello\n" * 100), [], {}, 3, "Video::Unreadable"),
    ("video-random-bytes", lambda t: _write(t / "noise.mp4", os.urandom(50_000)), [], {}, 3, "Video::Unreadable"),
    ("video-truncated", lambda t: _write(t / "trunc.mp4", (ROOT / "examples" / "sample.mp4").read_bytes()[:200_000]),
     [], {}, 3, "Video::Unreadable"),
    ("video-is-png", lambda t: _write(t / "still.mp4", (ROOT / "shared/autoposter/templates/cjk/logo.png").read_bytes()),
     [], {}, 3, "Video::NotAVideo"),
    ("video-is-jpeg", lambda t: _write(t / "photo.mov", (ROOT / "examples/photos/coffee.jpg").read_bytes()), [], {},
     3, "Video::NotAVideo"),
    ("video-is-folder", lambda t: str(t), [], {}, 3, "Video::NotFound"),
    ("video-tiny-frames", lambda t: str(write_video(t / "tiny.mp4", [np.full((16, 16, 3), 90, np.uint8)] * 4)), [],
     {}, 3, "Video::TooSmall"),
    ("template-missing", None, ["--template", "no/such/template.json"], {}, 4, "Template::NotFound"),
    ("template-broken-json", None, ["--template", lambda t: _write(t / "b.json", "{")], {}, 4, "Template::Unparseable"),
    ("template-deep", None, ["--template", lambda t: _write(t / "d.json", deep(100_000))], {}, 4,
     "Template::Unparseable"),
    ("template-huge-file", None, ["--template", lambda t: _write(t / "h.json", " " * 300_000 + "{}")], {}, 4,
     "Template::TooLarge"),
    ("template-2000-layers", None, ["--template", lambda t: str(_many_layers(t, 2000))], {}, 4,
     "Template::FieldInvalid"),
    ("template-unknown-field", None, ["--template", lambda t: str(template(t, colour="red"))], {}, 4,
     "Template::FieldUnknown"),
    ("template-unknown-layer-field", None, ["--template", lambda t: str(template(t, layer={"z": 1}))], {}, 4,
     "Template::FieldUnknown"),
    ("template-missing-region", None, ["--template", lambda t: str(_without_region(t))], {}, 4,
     "Template::FieldMissing"),
    ("template-asset-parent", None, ["--template", lambda t: str(_asset(t, "../outside.png"))], {}, 4,
     "Template::AssetOutside"),
    ("template-asset-etc-passwd", None, ["--template", lambda t: str(_asset(t, "../../../../../etc/passwd"))], {}, 4,
     "Template::AssetOutside"),
    ("template-asset-absolute", None, ["--template", lambda t: str(_asset(t, "/etc/passwd"))], {}, 4,
     "Template::AssetOutside"),
    ("template-asset-bomb", None, ["--template", lambda t: str(_asset(t, "bomb.png", bomb=True))], {}, 4,
     "Template::FieldInvalid"),
    ("template-asset-not-image", None, ["--template", lambda t: str(_asset(t, "logo.png", text=True))], {}, 4,
     "Template::FieldInvalid"),
    ("template-font-outside", None, ["--template", lambda t: str(template(t, layer={"style": {"font": "../f.ttf"}}))],
     {}, 4, "Template::AssetOutside"),
    ("template-aspect-huge", None, ["--template", lambda t: str(_fixed(t, aspect=1e308))], {}, 4,
     "Template::FieldInvalid"),
    ("template-aspect-tiny", None, ["--template", lambda t: str(_fixed(t, aspect=1e-300))], {}, 4,
     "Template::FieldInvalid"),
    ("template-one-pixel-region", None, ["--template", lambda t: str(template(
        t, layer={"region": [0, 0, 0.001, 0.001], "size": [0.001, 0.001]}))], {}, 4, "Template::FieldInvalid"),
    ("template-sliver-size", None, ["--template", lambda t: str(template(t, layer={"size": [0.9, 0.02]}))], {}, 4,
     "Template::FieldInvalid"),
    ("template-size-beyond-region", None, ["--template", lambda t: str(template(
        t, layer={"region": [0, 0, 0.5, 0.5], "size": [0.6, 0.2]}))], {}, 4, "Template::FieldInvalid"),
    ("template-bad-name", None, ["--template", lambda t: str(template(t, name="My Brand!"))], {}, 4,
     "Template::FieldInvalid"),
    ("template-text-too-long", None, ["--template", lambda t: str(template(t, layer={"source": {"text": "x" * 400}}))],
     {}, 4, "Template::FieldInvalid"),
    ("no-poster-grey", lambda t: str(write_video(t / "grey.mp4", [np.full((240, 320, 3), 128, np.uint8)] * 24)), [],
     {}, 6, "near_uniform"),
    ("no-poster-black", lambda t: str(write_video(t / "black.mp4", [np.zeros((240, 320, 3), np.uint8)] * 24)), [],
     {}, 6, "near_black"),
    # #17, special files: only regular files are read, never blocking, never unbounded
    ("template-fifo", None, ["--template", lambda t: _fifo(t / "t.json")], {}, 4, "Template::Unreadable"),
    ("template-dev-zero", None, ["--template", "/dev/zero"], {}, 4, "Template::Unreadable"),
    ("feedback-fifo", None, ["--feedback", lambda t: _fifo(t / "fb.json")], {}, 2, "Feedback::Invalid"),
    ("feedback-dev-urandom", None, ["--feedback", "/dev/urandom"], {}, 2, "Feedback::Invalid"),
    ("overrides-dev-zero", None, ["--overrides", "/dev/zero"], {}, 2, "Overrides::Invalid"),
    ("overrides-fifo", None, ["--overrides", lambda t: _fifo(t / "ov.json")], {}, 2, "Overrides::Invalid"),
    ("template-folder-without-file", None, ["--template", lambda t: str(_mkdir(t / "empty-tpl"))], {}, 4,
     "Template::Unreadable"),
    ("video-fifo", lambda t: _fifo(t / "v.mp4"), [], {}, 3, "Video::NotFound"),
    # #17, every input checked before the first frame: numbers finite, assets decoded, fonts loaded, models named
    ("template-nan-region", None, ["--template", lambda t: _raw_template(t, '"region": [NaN, 0, 0.9, 0.9]')], {}, 4,
     "Template::Unparseable"),
    ("template-minus-infinity-size", None, ["--template", lambda t: _raw_template(t, '"size": [-Infinity, 0.1]')], {},
     4, "Template::Unparseable"),
    ("template-5000-digit-number", None, ["--template", lambda t: _raw_template(t, '"size": [' + "9" * 5000 + ', 1]')],
     {}, 4, "Template::Unparseable"),
    ("template-not-utf8", None, ["--template", lambda t: _write(t / "latin1.json", '{"name": "caf\xe9"}'.encode("latin-1"))],
     {}, 4, "Template::Unreadable"),
    ("asset-png-zero-wide", None, ["--template", lambda t: str(_asset_bytes(t, "logo.png", _png(0, 40)))], {}, 4,
     "Template::FieldInvalid"),
    ("asset-png-header-only", None, ["--template", lambda t: str(_asset_bytes(t, "logo.png", _png(40, 40)))], {}, 4,
     "Template::FieldInvalid"),
    ("asset-jpeg-cut-in-header", None, ["--template", lambda t: str(_asset_bytes(t, "logo.jpg", b"\xff\xd8\xff\xc0\x00\x11"))],
     {}, 4, "Template::FieldInvalid"),
    ("asset-jpeg-cut-in-data", None, ["--template", lambda t: str(_asset_bytes(
        t, "logo.jpg", (ROOT / "examples/photos/coffee.jpg").read_bytes()[:700]))], {}, 4, "Template::FieldInvalid"),
    ("font-is-text", None, ["--template", lambda t: str(_font(t, b"this is not a font"))], {}, 4, "Template::FieldInvalid"),
    ("font-is-empty", None, ["--template", lambda t: str(_font(t, b""))], {}, 4, "Template::FieldInvalid"),
    ("font-is-png", None, ["--template", lambda t: str(_font(t, (ROOT / "shared/autoposter/templates/cjk/logo.png").read_bytes()))],
     {}, 4, "Template::FieldInvalid"),
    ("template-text-lone-surrogate", None, ["--template", lambda t: _raw_template(t, '"source": {"text": "a\\udc80b"}')],
     {}, 4, "Template::FieldInvalid"),
    ("template-text-zero-width", None, ["--template", lambda t: str(template(t, layer={"source": {"text": "\u200b\u2060"}}))],
     {}, 4, "Template::FieldInvalid"),
    ("link-not-utf8", None, ["--link", os.fsdecode(b"https://example.com/caf\xe9")], {}, 2, "Settings::Link"),
    ("title-not-utf8", None, ["--title", os.fsdecode(b"Caf\xe9 \xff")], {}, 2, "Settings::TextInvalid"),
    ("tagline-not-utf8", None, ["--tagline", os.fsdecode(b"\x80\x81")], {}, 2, "Settings::TextInvalid"),
    ("env-thresholds-one-value", None, [], {"AUTOPOSTER_FACES_THRESHOLDS": "0.6"}, 2, "Settings::Invalid"),
    ("env-thresholds-four-values", None, [], {"AUTOPOSTER_FACES_THRESHOLDS": "0.6,0.7,0.7,0.8"}, 2, "Settings::Invalid"),
    ("env-weights-all-zero", None, [], {"AUTOPOSTER_SCORE_W_SHARPNESS": "0", "AUTOPOSTER_SCORE_W_EXPRESSION": "0",
                                        "AUTOPOSTER_SCORE_W_AESTHETICS": "0"}, 2, "Settings::Invalid"),
    ("model-swapped", None, [], "MODEL_SWAPPED", 5, "Model::Mismatch"),
    ("brisque-table-cut", None, [], "BRISQUE_CUT", 5, "Model::Unloadable"),
    ("brisque-range-short", None, [], "BRISQUE_SHORT", 5, "Model::Unloadable"),
    # #17, silent accepts made loud
    ("title-only-zero-width", None, ["--title", "\u200b" * 50], {}, 2, "Settings::TextInvalid"),
    ("title-combining-flood", None, ["--title", "Z" + "\u0336\u0337\u0338" * 30], {}, 2, "Settings::TextInvalid"),
    ("tagline-only-marks", None, ["--tagline", "\u0301" * 10], {}, 2, "Settings::TextInvalid"),
    ("meta-link-javascript", None, ["--meta", "link=javascript:alert(1)"], {}, 2, "Settings::Link"),
    ("meta-url-data", None, ["--meta", "poster_url=data:text/html,x"], {}, 2, "Settings::Link"),
    ("templates-same-name", None, ["--template", lambda t: "minimal," + str(template(t, name="minimal"))], {}, 4,
     "Template::Duplicate"),
    ("template-name-newline", None, ["--template", lambda t: str(template(t, name="mine\n"))], {}, 4,
     "Template::FieldInvalid"),
    ("template-colour-newline", None, ["--template", lambda t: str(template(t, layer={"style": {"color": "#ffffff\n"}}))],
     {}, 4, "Template::FieldInvalid"),
    ("feedback-underscore-seconds", None, ["--feedback", lambda t: _write(t / "fb.json", '{"feed@1_0": {"ctr": 0.1}}')],
     {}, 2, "Feedback::Invalid"),
    ("feedback-same-moment-twice", None, ["--feedback", lambda t: _write(
        t / "fb.json", '{"feed@1": {"ctr": 0.1}, "feed@1.00": {"ctr": 0.2}}')], {}, 2, "Feedback::Invalid"),
    ("feedback-nan", None, ["--feedback", lambda t: _write(t / "fb.json", '{"feed@1.0": {"ctr": NaN}}')], {}, 2,
     "Feedback::Invalid"),
    # #17, the output folder: what autoposter did not make is never followed, replaced or deleted
    ("out-lock-is-a-folder", None, "OUT_LOCK_DIR", {}, 2, "Settings::Out"),
    ("out-sets-is-a-link", None, "OUT_SETS_LINK", {}, 2, "Settings::Out"),
    ("out-jobs-is-a-link", None, "OUT_JOBS_LINK", {}, 2, "Settings::Out"),
    ("out-own-is-a-file", None, "OUT_OWN_FILE", {}, 2, "Settings::Out"),
    ("out-path-too-long", None, "OUT_PATH_MAX", {}, 2, "Settings::Out"),
    ("out-name-too-long", None, "OUT_NAME_MAX", {}, 2, "Settings::Out"),
]


def _write(path: Path, data) -> str:
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    return str(path)


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _png(w: int, h: int) -> bytes:
    """A PNG header claiming w×h pixels and no image data at all."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def _asset_bytes(tmp: Path, name: str, data: bytes) -> Path:
    p = template(tmp, layer={"kind": "fixed", "source": {"asset": name}})
    (p.parent / name).write_bytes(data)
    return p


def _font(tmp: Path, data: bytes) -> Path:
    p = template(tmp, layer={"style": {"font": "brand.ttf"}})
    (p.parent / "brand.ttf").write_bytes(data)
    return p


def _raw_template(tmp: Path, layer_field: str) -> str:
    """A template whose one layer has ``layer_field`` written as raw JSON text (NaN, escapes, long numbers)."""
    p = template(tmp)
    text = p.read_text()
    key = layer_field.split(":")[0].strip().strip('"')
    doc = json.loads(text)
    doc["layers"][0][key] = "@@FIELD@@"
    p.write_text(json.dumps(doc).replace(f'"{key}": "@@FIELD@@"', layer_field))
    return str(p)


def _many_layers(tmp: Path, n: int) -> Path:
    p = template(tmp)
    doc = json.loads(p.read_text())
    doc["layers"] = [{**doc["layers"][0], "name": f"l{i}"} for i in range(n)]
    p.write_text(json.dumps(doc))
    return p


def _without_region(tmp: Path) -> Path:
    p = template(tmp)
    doc = json.loads(p.read_text())
    del doc["layers"][0]["region"]
    p.write_text(json.dumps(doc))
    return p


def _fixed(tmp: Path, aspect: float) -> Path:
    return template(tmp, layer={"kind": "fixed", "source": {"text": "Brand"}, "aspect": aspect})


def _asset(tmp: Path, rel: str, bomb: bool = False, text: bool = False) -> Path:
    p = template(tmp, layer={"kind": "fixed", "source": {"asset": rel}})
    (tmp / "outside.png").write_bytes((ROOT / "shared/autoposter/templates/cjk/logo.png").read_bytes())
    if bomb:
        png_header_only(p.parent / rel, 30000, 30000)
    if text:
        (p.parent / rel).write_text("not an image")
    return p


def _prepare(row, tmp: Path, clip: Path):
    rid, video, args, env, code, words = row
    out = tmp / "out"
    (out / "feed").mkdir(parents=True)                      # a previous run's set, which must survive
    (out / "feed" / "01_old.jpg").write_bytes(b"old poster")
    (out / "manifest.json").write_text('{"posters": [{"path": "feed/01_old.jpg"}]}')
    extra_env = {}
    if args == "OUT_FILE":
        out = tmp / "out-file"
        out.write_text("a file")
        args = []
    elif args == "OUT_UNDER_FILE":
        (tmp / "plain").write_text("a file")
        out = tmp / "plain" / "sub"
        args = []
    elif args == "OUT_BUSY":                                          # a live run holds the folder's lock
        import fcntl
        (out / ".autoposter").mkdir()
        fd = os.open(out / ".autoposter" / "lock", os.O_CREAT | os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        HELD.append(fd)
        args = []
    if args == "OUT_LOCK_DIR":
        (out / ".autoposter" / "lock").mkdir(parents=True)
        args = []
    elif args in ("OUT_SETS_LINK", "OUT_JOBS_LINK"):
        (out / ".autoposter").mkdir()
        (tmp / "elsewhere").mkdir()
        os.symlink(tmp / "elsewhere", out / ".autoposter" / ("sets" if args == "OUT_SETS_LINK" else "jobs"))
        args = []
    elif args == "OUT_OWN_FILE":
        (out / ".autoposter").write_text("mine")
        args = []
    elif args == "OUT_PATH_MAX":
        out = tmp / "/".join(["d" * 250] * 20)
        args = []
    elif args == "OUT_NAME_MAX":
        out = tmp / ("n" * 300)
        args = []
    if env in ("MODEL_SWAPPED", "BRISQUE_CUT", "BRISQUE_SHORT"):
        import shutil
        models = tmp / "models"
        shutil.copytree(ROOT / "layers/models/onnx", models)
        if env == "MODEL_SWAPPED":
            shutil.copy(models / "emotion.onnx", models / "rnet.onnx")
        elif env == "BRISQUE_CUT":
            (models / "brisque_svm.txt").write_text((models / "brisque_svm.txt").read_text()[:300])
        else:
            (models / "brisque_range.json").write_text(json.dumps({"min": [0.0] * 35, "max": [1.0] * 35}))
        env = {"AUTOPOSTER_MODEL_DIR": str(models)}
    if env == "MODEL_CORRUPT":
        bad = tmp / "models"
        bad.mkdir()
        for n in ("pnet", "rnet", "onet"):
            (bad / f"{n}.onnx").write_bytes(b"not a model")
        env = {"AUTOPOSTER_MODEL_DIR": str(bad)}
    extra_env.update(env)
    v = str(clip) if video is None else (video(tmp) if callable(video) else str(tmp / video))
    args = [a(tmp) if callable(a) else a for a in args]
    return v, out, args, extra_env, code, words


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_fails_clearly_fast_and_leaves_out_alone(row, tmp_path, clip):
    video, out, args, env, code, words = _prepare(row, tmp_path, clip)
    before = snapshot(out)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "autoposter.cli", "run", video, "--out", str(out), "--quiet", *args],
                       cwd=tmp_path, env={**ENV, **env}, capture_output=True, text=True, errors="backslashreplace",
                       timeout=LIMIT_S)
    took = time.monotonic() - t0
    assert r.returncode == code, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("autoposter: ") and words in last, r.stderr[-1000:]
    assert snapshot(out) == before, "--out changed"
    assert not list(tmp_path.glob("**/.staging-*"))
    assert took < LIMIT_S


def test_the_table_is_at_least_sixty_rows():
    assert len(ROWS) >= 110 and len({r[0] for r in ROWS}) == len(ROWS)
