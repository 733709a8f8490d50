"""Per-frame cost of each engine step on the sample video's frames, at their size and at 1080p.

    python bench/bench_frame.py [--video examples/sample.mp4] [--frames 12]

Prints median milliseconds per frame of detect (MTCNN), saliency, crop (crop
windows + sharpness/expression/aesthetics for all five scenarios) and compose
(the streaming template on every scenario), and the process's peak RSS.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import ROOT, input_frames, median, ms, peak_rss_mb, resize_to_height  # noqa: E402


def measure(frames, detector, settings, tpl):
    from autoposter.cropping import SCENARIOS
    from autoposter.analysis import FrameResult, score_crops
    from autoposter.render import render_poster
    from autoposter.saliency import saliency_map

    rows = {"detect": [], "saliency": [], "crop": [], "compose": []}
    scen = list(SCENARIOS)
    for img in frames:
        faces, t = ms(detector.detect, img)
        rows["detect"].append(t)
        sal, t = ms(saliency_map, img, settings.saliency)
        rows["saliency"].append(t)
        h, w = img.shape[:2]
        fr = FrameResult(0.0, 0, w, h, faces, sal.region)
        cands, t = ms(score_crops, img, fr, scen, settings)
        rows["crop"].append(t)
        meta = {"title": "Pioneers of Computing", "search_text": "pioneers"}
        _, t = ms(lambda: [render_poster(img, c, tpl, meta) for c in cands])
        rows["compose"].append(t / len(cands))
    return {k: median(v) for k, v in rows.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(ROOT / "examples" / "sample.mp4"))
    ap.add_argument("--frames", type=int, default=12)
    args = ap.parse_args()
    from autoposter.faces import FaceDetector
    from autoposter.settings import Settings
    from autoposter.templates import load

    settings = Settings.from_env()
    detector = FaceDetector(settings.faces)
    tpl = load("streaming")
    frames = input_frames([args.video], args.frames)
    detector.detect(frames[0])        # warm-up: sessions and caches
    native = measure(frames, detector, settings, tpl)
    rss_native = peak_rss_mb()
    hd = [resize_to_height(f, 1080) for f in frames]
    full = measure(hd, detector, settings, tpl)
    h, w = frames[0].shape[:2]
    hh, hw = hd[0].shape[:2]
    print(f"{len(frames)} frames of {Path(args.video).name}; median ms per frame (compose: per poster)\n")
    print(f"| step | {w}×{h} | {hw}×{hh} |")
    print("|---|---:|---:|")
    for k in native:
        print(f"| {k} | {native[k]:.1f} | {full[k]:.1f} |")
    total_n, total_f = sum(native.values()), sum(full.values())
    print(f"| **sum** | {total_n:.1f} | {total_f:.1f} |")
    print(f"\npeak RSS: {rss_native:.0f} MB after the native-size pass, {peak_rss_mb():.0f} MB after 1080p")


if __name__ == "__main__":
    main()
