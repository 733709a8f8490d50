"""What reading a video costs, by codec and by what is decoded (S10, S11): the figures behind
``frames.reference_only`` and behind the cost of a 10-minute video.

    python -m bench.decode [--seconds 30] [--repeat 3] [--out bench/results]

Files (made when missing, under build/): the cost bench's two 10-minute 1080p videos (the same
pictures as MPEG-4 Part 2 from OpenCV's writer and as H.264 High with B-frames at 8 Mbit/s,
``examples/make_long_video.py``), and one minute of film-like footage (``examples/make_films.py``:
hard cuts, camera moves, grain) as H.264 at 8 and 30 Mbit/s. For the first ``--seconds`` of each,
CPU seconds per video-second (one thread, median of ``--repeat``) of:

* a full-scan extraction (``frames.sample_segment``: decode, probes, candidates) with
  ``reference_only`` on (the default) and off;
* decoding alone: every frame, reference frames only (``avdiscard;nonref``), keyframes only
  (``avdiscard;nonkey``), with how many frames each decodes.

Ratios are against decoding every frame in the same process. Writes decode-<date>.md and .json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))
BUILD = ROOT / "build"
FILES = {
    "bench 10 min, MPEG-4 Part 2 4.6 Mbit/s": BUILD / "long_1080p.mp4",
    "bench 10 min, H.264 8 Mbit/s": BUILD / "long_1080p_h264.mp4",
    "film-like 1 min, H.264 8 Mbit/s": BUILD / "film_like_8mbps.mp4",
    "film-like 1 min, H.264 30 Mbit/s": BUILD / "film_like_30mbps.mp4",
}
DISCARD = {"every frame": None, "reference frames": "avdiscard;nonref", "keyframes": "avdiscard;nonkey"}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_missing() -> None:
    made = ROOT / "examples" / "make_long_video.py"
    if not FILES["bench 10 min, MPEG-4 Part 2 4.6 Mbit/s"].is_file():
        subprocess.run([sys.executable, str(made), "--out", str(FILES["bench 10 min, MPEG-4 Part 2 4.6 Mbit/s"])],
                       check=True)
    if not FILES["bench 10 min, H.264 8 Mbit/s"].is_file():
        subprocess.run([sys.executable, str(made), "--codec", "h264", "--out",
                        str(FILES["bench 10 min, H.264 8 Mbit/s"])], check=True)
    sys.path.insert(0, str(ROOT / "examples"))
    import make_films as mf
    for mbps, key in ((8, "film-like 1 min, H.264 8 Mbit/s"), (30, "film-like 1 min, H.264 30 Mbit/s")):
        if not FILES[key].is_file():
            mf.encode(FILES[key], mf.footage(width=1920, height=1080, seconds=60, fps=24, seed=3), fps=24,
                      bitrate=mbps * 1_000_000, gop=240)


def decode_only(path: Path, seconds: float, option: str | None) -> tuple[float, int]:
    """CPU s to grab (decode, no conversion) the first ``seconds`` of ``path``, and the frames grabbed."""
    import cv2
    from autoposter.video import capture_options
    with capture_options(option):
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    t, n = _cpu(), 0
    while cap.grab() and cap.get(cv2.CAP_PROP_POS_MSEC) < seconds * 1000:
        n += 1
    c = _cpu() - t
    cap.release()
    return c, n


def extraction(path: Path, seconds: float, reference_only: bool) -> float:
    """CPU s of a full-scan extraction of the first ``seconds`` (one segment)."""
    from autoposter import frames
    from autoposter.video import VideoSource, read_header
    src = VideoSource.local(path)
    s = frames.FrameSettings(reference_only=reference_only, scan="full")
    p = frames.plan(read_header(src), s, segment_seconds=seconds)
    t = _cpu()
    frames.sample_segment(src, p, p.segments[0], s)
    return _cpu() - t


def measure(seconds: float, repeat: int) -> dict:
    import cv2
    cv2.setNumThreads(1)
    out = {}
    for label, path in FILES.items():
        row = {"file": str(path.relative_to(ROOT)), "seconds": seconds}
        for name, option in DISCARD.items():
            runs = [decode_only(path, seconds, option) for _ in range(repeat)]
            row[f"decode: {name}"] = round(statistics.median(c for c, _ in runs) / seconds, 4)
            row[f"frames: {name}"] = runs[0][1]
        for ref in (True, False):
            runs = [extraction(path, seconds, ref) for _ in range(repeat)]
            row[f"extraction, reference_only {'on' if ref else 'off'}"] = round(statistics.median(runs) / seconds, 4)
        every = row["decode: every frame"]
        row["ratio: reference frames / every frame"] = round(row["decode: reference frames"] / every, 3)
        row["ratio: keyframes / every frame"] = round(row["decode: keyframes"] / every, 3)
        row["ratio: extraction on / off"] = round(row["extraction, reference_only on"]
                                                  / row["extraction, reference_only off"], 3)
        out[label] = row
        print(f"bench.decode: {label}: done", file=sys.stderr)
    return out


def markdown(rows: dict, seconds: float, repeat: int) -> str:
    cols = ["decode: every frame", "decode: reference frames", "decode: keyframes",
            "extraction, reference_only off", "extraction, reference_only on"]
    lines = [f"### Reading a video: CPU s per video-second (`python -m bench.decode`, first {seconds:g} s of "
             f"each file, one thread, median of {repeat})", "",
             "| file | " + " | ".join(cols) + " | frames decoded (every / reference / key) |",
             "|---|" + "---:|" * (len(cols) + 1)]
    for label, r in rows.items():
        lines.append(f"| {label} | " + " | ".join(f"{r[c]:.4f}" for c in cols)
                     + f" | {r['frames: every frame']} / {r['frames: reference frames']} / {r['frames: keyframes']} |")
    lines += ["", "| file | reference frames / every frame (decode) | keyframes / every frame (decode) | "
              "extraction, reference_only on / off |", "|---|---:|---:|---:|"]
    for label, r in rows.items():
        lines.append(f"| {label} | {r['ratio: reference frames / every frame']:.3f} | "
                     f"{r['ratio: keyframes / every frame']:.3f} | {r['ratio: extraction on / off']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    make_missing()
    rows = measure(a.seconds, a.repeat)
    day = dt.date.today().isoformat()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"decode-{day}.json").write_text(json.dumps(rows, indent=1))
    md = markdown(rows, a.seconds, a.repeat)
    (out / f"decode-{day}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
