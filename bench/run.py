"""autoposter side by side with the crops people use today: speed, start-up, memory, extraction
throughput, cost, size, crop quality and layout quality — one command, numbers from this run.

    python -m bench [INPUT ...] [--out bench/results] [--frames 6]

INPUT: folders or files of videos / images for the speed runs (default: examples/sample.mp4).
Writes bench/results/<date>.md and .json. Runs on one core (OMP_NUM_THREADS=1, onnxruntime
intra-op threads 1). Medians and ratios come from the same process, same frames.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))
cv2.setNumThreads(1)

from autoposter.cropping import SCENARIOS, group_faces, plan_crop  # noqa: E402
from autoposter.faces import FaceDetector  # noqa: E402
from autoposter.geometry import Box  # noqa: E402
from autoposter.layout import free_box, region_px  # noqa: E402
from autoposter.analysis import FrameResult, score_crops  # noqa: E402
from autoposter.render import render_poster, to_poster_space  # noqa: E402
from autoposter.saliency import saliency_map  # noqa: E402
from autoposter.settings import Settings  # noqa: E402
from autoposter.templates import load as load_template  # noqa: E402
from bench.common import at_res, input_frames, ms, p95  # noqa: E402
from bench.peers import OpenCVFaces, SmartCropPy, centre_crop  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))

RES = {"720p": 720, "1080p": 1080, "4K": 2160}

def stats(xs):
    return {"median": round(statistics.median(xs), 2), "p95": round(p95(xs), 2), "n": len(xs)} if xs else None


# ------------------------------------------------------------------------------------ inputs
# ------------------------------------------------------------------------------------ speed
def speed(frames, detector, settings, peers) -> dict:
    tpl = load_template("streaming")
    meta = {"title": "Pioneers of Computing", "search_text": "pioneers"}
    story = SCENARIOS["story"]
    out = {}
    for label, h in RES.items():
        rows = {k: [] for k in ("detect", "saliency", "crop_1", "crop_score_5", "compose", "ours_crop_total",
                                "centre", "opencv_faces", "smartcrop")}
        warm = at_res(frames[0], h)              # one untimed pass per size: caches, FFT plans, fonts
        detector.detect(warm)
        saliency_map(warm, settings.saliency)
        for fn in peers.values():
            fn(warm, story.aspect, (story.width, story.height))
        for src in frames:
            img = at_res(src, h)
            faces, t_det = ms(detector.detect, img)
            sal, t_sal = ms(saliency_map, img, settings.saliency)
            _, t_c1 = ms(plan_crop, img.shape[1], img.shape[0], story, [f.box for f in faces], sal.region,
                         settings.crop)
            fr = FrameResult(0.0, 0, img.shape[1], img.shape[0], faces, sal.region)
            cands, t_c5 = ms(score_crops, img, fr, list(SCENARIOS), settings)
            story_c = next(c for c in cands if c.scenario == "story")
            _, t_comp = ms(render_poster, img, story_c, tpl, meta)
            rows["detect"].append(t_det)
            rows["saliency"].append(t_sal)
            rows["crop_1"].append(t_c1)
            rows["crop_score_5"].append(t_c5)
            rows["compose"].append(t_comp)
            rows["ours_crop_total"].append(t_det + t_sal + t_c1)
            for name, fn in peers.items():
                _, t = ms(fn, img, story.aspect, (story.width, story.height))
                if isinstance(fn, OpenCVFaces):      # detection timed inside its own process
                    t = t - (fn.last_wall_ms - fn.last_ms)
                rows[name].append(t)
        out[label] = {k: stats(v) for k, v in rows.items()}
        ours = out[label]["ours_crop_total"]["median"]
        out[label]["ratio_peer_over_ours"] = {p: round(out[label][p]["median"] / ours, 3) for p in peers}
    return out


# ------------------------------------------------------------------------------------ start-up, memory
START_CODE = {
    "python": "pass",
    "detect": "from autoposter.faces import FaceDetector; FaceDetector().detect(__import__('numpy').zeros((64,64,3),'uint8'))",
    "compose": "from autoposter.compose import compose; from autoposter.templates import load; "
               "from autoposter.compose import _font; t=load('streaming'); _font(str(t.font_path(t.layers[2])), 40)",
    "handlers": "import importlib.util,sys\nfor n in ('extract_frames','analyse','batch_failed','publish'):\n"
                " s=importlib.util.spec_from_file_location('f'+n, r'%s/functions/'+n+'/app.py'); "
                "s.loader.exec_module(importlib.util.module_from_spec(s))" % ROOT,
}


def startup(repeats: int = 3) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "shared"), "POWERTOOLS_TRACE_DISABLED": "true",
           "AWS_DEFAULT_REGION": "us-east-1"}
    out = {}
    for name, code in START_CODE.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = round(statistics.median(times), 1)
    return out


MEM_CODE = r"""
import sys, json, cv2, numpy as np
sys.path.insert(0, {shared!r}); sys.path.insert(0, {root!r})
from bench.common import at_res, peak_rss_mb
from autoposter.settings import Settings
from autoposter.faces import FaceDetector
from autoposter.analysis import analyze_frame, score_crops
from autoposter.render import render_poster
from autoposter.cropping import SCENARIOS
from autoposter.templates import load
img = at_res(cv2.imread({photo!r}), {h})
s = Settings.from_env()
base = peak_rss_mb()
fr = analyze_frame(img, FaceDetector(), s) if {step!r} != "compose_only" else None
if {step!r} in ("crop", "compose"):
    cands = score_crops(img, fr, list(SCENARIOS), s)
if {step!r} == "compose":
    for t in ("streaming", "cjk"):
        for c in cands:
            render_poster(img, c, load(t), {{"title": "Pioneers", "tagline": "x"}})
print(json.dumps({{"peak_mb": peak_rss_mb(), "import_mb": base}}))
"""


def memory() -> dict:
    out = {}
    for label in ("1080p", "4K"):
        for step in ("detect", "crop", "compose"):
            code = MEM_CODE.format(shared=str(ROOT / "shared"), root=str(ROOT), h=RES[label], step=step,
                                   photo=str(ROOT / "examples" / "photos" / "astronaut.jpg"))
            r = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                               env={**os.environ})
            out.setdefault(label, {})[step] = round(json.loads(r.stdout.strip().splitlines()[-1])["peak_mb"], 1)
    return out


def extraction() -> dict:
    """The sample's plan and segments sampled in this process (decode, probes, candidates as JPEG)."""
    from autoposter.frames import sample_segment
    from autoposter.pipeline import plan_job
    from autoposter.video import VideoSource
    settings = Settings.from_env()
    source = VideoSource.local(ROOT / "examples" / "sample.mp4")
    plan = plan_job(source, settings)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = [sample_segment(source, plan, seg, settings.frames) for seg in plan.segments]
        runs.append(time.perf_counter() - t0)
    el = statistics.median(runs)
    h = plan.header
    return {"video_seconds": round(h.duration, 2), "size": f"{h.width}x{h.height}",
            "frames_decoded": sum(r.decoded for r in res), "candidates": sum(len(r.frames) for r in res),
            "elapsed_s": round(el, 3), "x_real_time": round(h.duration / el, 1)}


# ------------------------------------------------------------------------------------ cost
LONG_VIDEO = ROOT / "build" / "long_1080p.mp4"             # MPEG-4 Part 2, no B-frames, 4.6 Mbit/s (the history's)
LONG_H264 = ROOT / "build" / "long_1080p_h264.mp4"        # the same pictures as uploads come: H.264 High, 8 Mbit/s


def cloud_usage(video: Path, parity: bool = False) -> dict:
    """One real local-cloud run (IAM enforced) of ``video`` with template.yaml's defaults: usage.json's report;
    with ``parity``, also the command line on the same file and whether both chose the same posters (Q9)."""
    import logging

    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("moto").setLevel(logging.ERROR)
    from autoposter.video import VideoSource
    from autoposter_local.cloud import LocalCloud
    from autoposter_local.usage import report
    with LocalCloud() as cloud:                    # template.yaml's function environment, its defaults
        key = f"uploads/{video.name}"
        r = cloud.deliver(cloud.upload(video, key, {"title": "Film"}))["results"][0]
        d = cloud.wait(r["execution_arn"], timeout=1800)
        assert d["status"] == "SUCCEEDED", d
        out = json.loads(d["output"])
        usage = report(cloud, r["execution_arn"], VideoSource.local(video), out)
        if parity:
            from bench.films import cli_run, same_posters
            manifest = cloud.get_json("cdn", out["manifest_key"])
            cli, _ = cli_run(video, ",".join(manifest["job"]["templates"]))
            usage["cli_parity"] = same_posters(manifest, cli)
            usage["rerender"] = rerender_usage(cloud, r, video, manifest, usage)
        return usage


def rerender_usage(cloud, started: dict, video: Path, manifest: dict, full: dict) -> dict:
    """S14: the console's rerender of the same job — the same templates, a new title — against the full
    run it follows: what it invoked, its cost and its wall time as fractions of the full run's."""
    from autoposter.video import VideoSource
    from autoposter_local.usage import report
    seen = {k: len(v) for k, v in cloud.server.cpu.items()}
    calls = len(cloud.server.calls)
    t0 = time.perf_counter()
    arn = cloud.start({"rerender": {"job": started["job_id"], "templates": manifest["job"]["templates"],
                                    "title": "Film, retitled"}}, name=f"{started['execution']}-rerender")
    d = cloud.wait(arn, timeout=600)
    wall = time.perf_counter() - t0
    assert d["status"] == "SUCCEEDED", d
    invoked = [n for n, _ in cloud.server.calls[calls:]]
    for part in ("cpu", "durations"):                       # bill only what the rerender ran
        table = getattr(cloud.server, part)
        setattr(cloud.server, part, {k: v[seen.get(k, 0):] for k, v in table.items() if v[seen.get(k, 0):]})
    again = report(cloud, arn, VideoSource.local(video), json.loads(d["output"]))

    def handler_s(u: dict) -> float:
        return sum(row["wall_s"] for row in u["lambda"].values())

    return {"invoked": invoked, "cost_per_video_usd": again["cost_per_video_usd"],
            "cost_share_of_full": round(again["cost_per_video_usd"] / full["cost_per_video_usd"], 3),
            "handler_s": round(handler_s(again), 2),
            "handler_share_of_full": round(handler_s(again) / max(handler_s(full), 1e-9), 3),
            "wall_s": round(wall, 2), "posters": again["posters_published"]}


def costs() -> dict:
    """The sample, then 10 minutes of 1080p twice: as OpenCV's writer made it (the figure kept since the first
    benchmark) and as H.264 with B-frames, which is what is uploaded and costs about 3× as much to decode."""
    made = ROOT / "examples" / "make_long_video.py"
    if not LONG_VIDEO.is_file():
        subprocess.run([sys.executable, str(made), "--out", str(LONG_VIDEO)], check=True)
    if not LONG_H264.is_file():
        subprocess.run([sys.executable, str(made), "--codec", "h264", "--out", str(LONG_H264)], check=True)
    return {"sample": cloud_usage(ROOT / "examples" / "sample.mp4", parity=True), "long_1080p": cloud_usage(LONG_VIDEO),
            "long_1080p_h264": cloud_usage(LONG_H264)}


# ------------------------------------------------------------------------------------ quality
def face_kept(face: Box, crop: Box) -> float:
    i = face.intersection(crop)
    return (i.area / face.area) if i and face.area else 0.0


def analyse(items, detector, settings) -> list:
    """autoposter's view of each labelled frame with faces: (item, detected face boxes, salient region)."""
    return [(it, [f.box for f in detector.detect(it.image)], saliency_map(it.image, settings.saliency).region)
            for it in items if it.faces]


def crop_quality(analysed, settings, peers) -> dict:
    methods = {"autoposter": None, **peers}
    res = {m: {a: {"groups_ok": 0, "groups_n": 0, "one_ok": 0, "area": [], "frames": 0} for a in SCENARIOS}
           for m in methods}
    for it, faces, sal in analysed:
        h, w = it.image.shape[:2]
        gt_groups = group_faces(it.faces, settings.crop.dilation)
        for sname, sc in SCENARIOS.items():
            for m, fn in methods.items():
                if fn is None:
                    crop = plan_crop(w, h, sc, faces, sal, settings.crop).window
                else:
                    crop = fn(it.image, sc.aspect, (sc.width, sc.height))
                r = res[m][sname]
                r["frames"] += 1
                fitting = [g for g in gt_groups if g.w <= crop.w + 0.5 and g.h <= crop.h + 0.5]
                if fitting:
                    r["groups_n"] += 1
                    r["groups_ok"] += all(crop.contains(g, tol=1) for g in fitting)
                kept = [face_kept(f, crop) for f in it.faces]
                r["one_ok"] += any(k >= 0.9 for k in kept)
                r["area"].append(sum(k * f.area for k, f in zip(kept, it.faces)) / sum(f.area for f in it.faces))
    out = {}
    for m, per in res.items():
        out[m] = {}
        for a, r in per.items():
            out[m][a] = {"frames": r["frames"],
                         "all_fitting_groups_kept": round(r["groups_ok"] / r["groups_n"], 3) if r["groups_n"] else None,
                         "at_least_one_face_kept": round(r["one_ok"] / r["frames"], 3) if r["frames"] else None,
                         "mean_face_area_kept": round(float(np.mean(r["area"])), 3) if r["area"] else None}
    return out


def layout_quality(analysed, settings) -> dict:
    """The streaming template's title: ours (M8 placement) vs the template's default spot
    (bottom-centre of its placement region), on our own crops; faces are the hand-boxed ones."""
    tpl = load_template("streaming")
    title = next(ly for ly in tpl.layers if ly.name == "title")
    acc = {k: {"overlap": [], "saliency": [], "gradient": []} for k in ("autoposter", "default_spot")}
    for it, faces, sal in analysed:
        h, w = it.image.shape[:2]
        for sname in ("story", "landscape", "feed"):
            sc = SCENARIOS[sname]
            crop = plan_crop(w, h, sc, faces, sal, settings.crop).window
            x, y, cw, ch = (int(v) for v in crop.to_list(None))
            canvas = cv2.resize(it.image[y:y + ch, x:x + cw], (sc.width, sc.height), interpolation=cv2.INTER_AREA)
            area = Box(0, 0, sc.width, sc.height)
            det = [b for b in (to_poster_space(f, crop, sc).intersection(area) for f in faces) if b]
            gt = [b for b in (to_poster_space(f, crop, sc).intersection(area) for f in it.faces) if b]
            smap = saliency_map(canvas, settings.saliency)
            salmap = smap.full(sc.width, sc.height)
            sal_p = smap.region
            gray = cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY)
            grad = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
            region = region_px(title.region_for(sname), sc.width, sc.height)
            sw, sh = title.size_for(sname)
            size = (round(sw * sc.width), round(sh * sc.height))
            ours = free_box(gray, region, size, det, sal_p).box
            default = Box(round(region.x + (region.w - size[0]) / 2), round(region.y2 - size[1]), size[0], size[1])
            for k, b in (("autoposter", ours), ("default_spot", default)):
                bx, by, bw, bh = (int(v) for v in b.to_list(None))
                acc[k]["overlap"].append(any(b.intersects(f) for f in gt))
                acc[k]["saliency"].append(float(salmap[by:by + bh, bx:bx + bw].mean()))
                acc[k]["gradient"].append(float(grad[by:by + bh, bx:bx + bw].mean()))
    return {k: {"layers": len(v["overlap"]), "share_overlapping_a_face": round(float(np.mean(v["overlap"])), 3),
                "mean_saliency_under_layer": round(float(np.mean(v["saliency"])), 4),
                "mean_gradient_under_text": round(float(np.mean(v["gradient"])), 2)} for k, v in acc.items()}


# ------------------------------------------------------------------------------------ report
def render_md(r: dict) -> str:
    L = [f"# autoposter benchmark — {r['date']}", "",
         f"Machine: {r['machine']}. One core: OMP_NUM_THREADS=1, onnxruntime intra-op threads 1, "
         f"cv2.setNumThreads(1). Speed frames: {r['speed_frames']} frames from {', '.join(r['inputs'])}, "
         "scaled to each resolution (16:9). Reproduce: `python -m bench`.", ""]
    L += ["## Speed (ms per frame, median / p95)", "",
          "*ours (crop)* = detect + saliency + crop window for one scenario (story) — the same job the "
          "peers do. *crop+score ×5* = the crop function's real work: five scenarios with sharpness, "
          "expression and aesthetics. *compose* = one story poster, streaming template.", "",
          "| step | " + " | ".join(RES) + " |", "|---|" + "---:|" * len(RES)]
    names = [("detect", "detect (MTCNN)"), ("saliency", "saliency"), ("crop_1", "crop window"),
             ("crop_score_5", "crop+score ×5"), ("compose", "compose"), ("ours_crop_total", "**ours (crop)**"),
             ("centre", "centre crop"), ("opencv_faces", "OpenCV faces (thumbor-style)"), ("smartcrop", "smartcrop.py")]
    for k, label in names:
        L.append(f"| {label} | " + " | ".join(f"{r['speed'][res][k]['median']:.1f} / {r['speed'][res][k]['p95']:.1f}"
                                            for res in RES) + " |")
    L += ["", "| peer / ours (median, same process) | " + " | ".join(RES) + " |", "|---|" + "---:|" * len(RES)]
    for p in ("centre", "opencv_faces", "smartcrop"):
        L.append(f"| {p} | " + " | ".join(f"{r['speed'][res]['ratio_peer_over_ours'][p]:.3f}" for res in RES) + " |")
    s = r["startup"]
    L += ["", "## Start-up and memory", "",
          f"Import plus model load, fresh process (median of 3): bare python {s['python']:.0f} ms; "
          f"detect (imports + MTCNN sessions + first run) {s['detect']:.0f} ms; compose (imports + template + "
          f"font) {s['compose']:.0f} ms; all four handlers with Powertools {s['handlers']:.0f} ms.", "",
          "| peak RSS (MB) | detect | crop (5 scenarios) | compose (2 templates × 5) |", "|---|---:|---:|---:|"]
    for res, row in r["memory"].items():
        L.append(f"| {res} | {row['detect']} | {row['crop']} | {row['compose']} |")
    e = r["extraction"]
    L += ["", f"Frame extraction on the sample video ({e['size']}, {e['video_seconds']} s, {e['frames_decoded']} "
          f"frames decoded, {e['candidates']} candidates): {e['elapsed_s']} s, **{e['x_real_time']}× real time**.", ""]
    from autoposter_local.usage import markdown as usage_md
    L += ["## Cost of one video-minute (AWS list prices, arm64)", "",
          "Each line is one local-cloud run under the template's IAM, with template.yaml's defaults "
          "(templates, batch size), priced by `autoposter_local/usage.py` — the same report "
          "`autoposter local-cloud VIDEO --out DIR` writes to `DIR/usage.json`.", ""]
    for label, u in r["cost"].items():
        L += [usage_md(u, label), ""]
        if "cli_parity" in u:
            p = u["cli_parity"]
            L += [f"Command line vs cloud on the {label} (Q9): {p['posters']} posters, "
                  + ("identical (same frames, crops, scores and layer boxes)." if p["identical"]
                     else f"{p['differing']} differ."), ""]
        if "rerender" in u:
            rr = u["rerender"]
            L += [f"Rerender of the {label} from its stored analysis (S14: the console input "
                  f"`{{\"rerender\": {{\"job\": …, \"title\": …}}}}`, same templates, new title): invoked "
                  f"{', '.join(rr['invoked'])} only; {rr['posters']} posters for ${rr['cost_per_video_usd']:.7f}, "
                  f"**{rr['cost_share_of_full']:.0%} of the full run's cost**, handlers {rr['handler_s']} s "
                  f"({rr['handler_share_of_full']:.0%} of the full run's handler time).", ""]
    from lambda_size import markdown as size_md
    L += [f"## Size (unzipped, function + layers, {r['size']['platform']}; budget 200 MB)", "",
          size_md(r["size"])]
    q = r["crop_quality"]
    L += ["", "## Crop quality on labelled frames", "",
          f"{r['labelled']['frames_with_faces']} frames with hand-boxed faces: {r['labelled']['composites']} "
          "composites of real photographs (6 sizes from 800×1000 to 2560×1080, 1–3 people) and "
          f"{r['labelled']['sample']} candidate frames of the sample video. Per target aspect: share of frames whose "
          "crop keeps every face group that fits whole / share keeping at least one face (≥ 90 % of it) / mean "
          "share of face area kept.", "",
          "| method | " + " | ".join(SCENARIOS) + " |", "|---|" + "---|" * len(SCENARIOS)]
    for m, per in q.items():
        L.append(f"| {m} | " + " | ".join(
            f"{per[a]['all_fitting_groups_kept']:.2f} / {per[a]['at_least_one_face_kept']:.2f} / "
            f"{per[a]['mean_face_area_kept']:.2f}" for a in SCENARIOS) + " |")
    lq = r["layout_quality"]
    L += ["", "## Layout quality (streaming template's title; story, landscape, feed)", "",
          "| placement | layers | overlaps a face | mean saliency under layer | mean gradient under text |",
          "|---|---:|---:|---:|---:|"]
    for k, v in lq.items():
        L.append(f"| {k} | {v['layers']} | {v['share_overlapping_a_face']:.3f} | {v['mean_saliency_under_layer']:.4f} "
                 f"| {v['mean_gradient_under_text']:.1f} |")
    from bench import editor
    L += [""] + editor.markdown(r["editor"])
    L += ["## Where autoposter is behind", ""] + [f"- {line}" for line in r["behind"]] + [""]
    return "\n".join(L)


def behind(r: dict) -> list[str]:
    out = []
    for res in RES:
        for p, ratio in r["speed"][res]["ratio_peer_over_ours"].items():
            if ratio < 1:
                out.append(f"{res}: {p} is faster than autoposter's crop decision "
                           f"({r['speed'][res][p]['median']:.1f} vs {r['speed'][res]['ours_crop_total']['median']:.1f} ms, "
                           f"ratio {ratio:.3f}).")
    q = r["crop_quality"]
    for a in SCENARIOS:
        ours = q["autoposter"][a]
        for m, per in q.items():
            if m == "autoposter":
                continue
            for key in ("all_fitting_groups_kept", "at_least_one_face_kept", "mean_face_area_kept"):
                if per[a][key] is not None and ours[key] is not None and per[a][key] > ours[key] + 1e-9:
                    out.append(f"{a}: {m} scores higher on {key.replace('_', ' ')} ({per[a][key]:.2f} vs {ours[key]:.2f}).")
    lq = r["layout_quality"]
    for key in ("share_overlapping_a_face", "mean_saliency_under_layer", "mean_gradient_under_text"):
        if lq["default_spot"][key] < lq["autoposter"][key]:
            out.append(f"layout: the default spot has lower {key.replace('_', ' ')} "
                       f"({lq['default_spot'][key]} vs {lq['autoposter'][key]}).")
    return out or ["nowhere in this run."]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="*", default=[str(ROOT / "examples" / "sample.mp4")])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--frames", type=int, default=6, help="frames per input video for the speed runs")
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    settings = Settings.from_env()
    detector = FaceDetector(settings.faces, threads=1)
    peers = {"centre": centre_crop, "opencv_faces": OpenCVFaces(), "smartcrop": SmartCropPy()}

    def step(name):
        print(f"bench: {name} ({time.perf_counter() - t_all:.0f}s)", file=sys.stderr, flush=True)

    step("speed")
    frames = input_frames(args.inputs, args.frames)
    detector.detect(frames[0])
    r = {"date": dt.date.today().isoformat(), "inputs": [os.path.relpath(i, ROOT) for i in args.inputs],
         "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                    f"OpenCV {cv2.__version__}, onnxruntime {__import__('onnxruntime').__version__}",
         "speed_frames": len(frames)}
    r["speed"] = speed(frames, detector, settings, peers)
    step("start-up")
    r["startup"] = startup()
    step("memory")
    r["memory"] = memory()
    step("extraction")
    r["extraction"] = extraction()
    step("local cloud: cost of the sample and of a 10-minute 1080p video (MPEG-4 Part 2, then H.264)")
    r["cost"] = costs()
    step("size")
    from lambda_size import sizes
    r["size"] = sizes(ROOT / "build" / "lambda")
    r["size"].pop("dirs", None)
    step("labelled set")
    from bench.labelled import composites, sample_video_frames
    comp, sample = composites(), sample_video_frames()
    items = [it for it in comp + sample if it.faces]
    r["labelled"] = {"composites": sum(1 for it in comp if it.faces), "sample": sum(1 for it in sample if it.faces),
                     "frames_with_faces": len(items)}
    step("crop quality")
    analysed = analyse(items, detector, settings)
    r["crop_quality"] = crop_quality(analysed, settings, peers)
    step("layout quality")
    r["layout_quality"] = layout_quality(analysed, settings)
    step("what a picture editor checks")
    from bench import editor
    r["editor"] = editor.run(detector, settings, peers, frames)
    r["behind"] = behind(r)
    r["seconds"] = round(time.perf_counter() - t_all, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = render_md(r) + f"\nWhole run: {r['seconds']} s.\n"
    (out / f"{r['date']}.md").write_text(md)
    (out / f"{r['date']}.json").write_text(json.dumps(r, indent=1) + "\n")
    print(md)
    print(f"bench: wrote {out / (r['date'] + '.md')} and .json in {r['seconds']} s", file=sys.stderr)
    return 0
