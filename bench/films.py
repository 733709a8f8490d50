"""Feature films through the cloud and the command line (#13): extraction cost, the slowest segment
against its timeout, wall-clock on AWS (estimated from measured parts) and here, cost per video-minute,
bytes read, and whether both paths made the same posters.

    python -m bench.films [--films film_2h_8mbps,episode_20m_30mbps_letterbox] [--out bench/results]

The films are made from real footage by examples/make_films.py (build/films/, not committed: about
12 GB, ~25 minutes to write). One core per worker: the local cloud runs one handler at a time, the
command line one process per core (2 here). Writes bench/results/films-<date>.json and .md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))
FILMS = ROOT / "build" / "films"
PRESETS = {"film_2h_8mbps": "2-hour 1080p film, 8 Mbit/s, index at the end",
           "episode_20m_30mbps_letterbox": "20-minute 1080p episode, 30 Mbit/s, letterboxed 2.35:1"}
OVERHEAD_S = 0.3                  # s a Step Functions state takes to start, per state on the critical path (estimate)


def ensure(name: str) -> Path:
    path = FILMS / f"{name}.mp4"
    if not path.is_file():
        FILMS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "examples" / "make_films.py"), "--preset", name, "--out", str(path)],
                       check=True)
    return path


def cloud_run(path: Path, templates: str) -> dict:
    import logging

    from autoposter.video import VideoSource
    from autoposter_local.cloud import LocalCloud
    from autoposter_local.usage import report
    logging.getLogger("moto").setLevel(logging.ERROR)
    with LocalCloud({"POWERTOOLS_METRICS_DISABLED": "true", "TEMPLATES": templates}) as cloud:
        t0 = time.perf_counter()
        started = cloud.deliver(cloud.upload(path, f"uploads/{path.name}", {"title": "Film"}))["results"][0]
        assert started["status"] == "started", started
        d = cloud.wait(started["execution_arn"], timeout=6 * 3600)
        wall = time.perf_counter() - t0
        if d["status"] != "SUCCEEDED":              # say which state and how long each function ran
            slow = {k: round(max(v), 1) for k, v in cloud.server.durations.items() if v}
            events = [e for e in cloud.history(started["execution_arn"]) if "Failed" in e.get("type", "")
                      or "TimedOut" in e.get("type", "")]
            raise RuntimeError(f"{path.name}: execution {d['status']} ({d.get('error')}: {str(d.get('cause'))[:300]}); "
                               f"slowest handler runs (s): {slow}; failure events: {events[:3]}")
        out = json.loads(d["output"])
        usage = report(cloud, started["execution_arn"], VideoSource.local(path), out)
        manifest = cloud.get_json("cdn", out["manifest_key"])
        durations = {k: list(v) for k, v in cloud.server.durations.items()}
        cpu = {k: list(v) for k, v in cloud.server.cpu.items()}
        inp = json.loads(d["input"])
        concurrency = inp.get("concurrency", 40)
    return {"wall_s": wall, "usage": usage, "manifest": manifest, "durations": durations, "cpu": cpu,
            "concurrency": concurrency, "segments": started["segments"]}


def aws_concurrency() -> int:
    """template.yaml's MapConcurrency default: how many children a Map runs at once on AWS."""
    from autoposter_local import stack
    return int(stack.parameters(ROOT / "template.yaml")["MapConcurrency"])


def aws_estimate(run: dict, timeouts: dict) -> dict:
    """Wall-clock on AWS from this run's measured parts: the door, then waves of segments (the Map's
    concurrency), Sample, waves of batches, Publish, plus each state's start-up on the critical path."""
    d, c = run["durations"], aws_concurrency()       # the local cloud runs one child at a time; AWS, MapConcurrency
    segs, batches = d.get("extract_segment", []), d.get("analyse", [])
    waves_s = math.ceil(len(segs) / c) if segs else 0
    waves_b = math.ceil(len(batches) / c) if batches else 0
    parts = {"door": sum(d.get("extract_frames", [])),
             "extract": waves_s * (max(segs) if segs else 0.0),
             "sample": sum(d.get("sample", [])),
             "analyse": waves_b * (max(batches) if batches else 0.0),
             "publish": sum(d.get("publish", [])),
             "states": OVERHEAD_S * (6 + waves_s + waves_b)}
    door = d.get("extract_frames", [])
    slowest, timeout = ((max(segs), timeouts["ExtractSegmentFunction"]) if segs else   # no Extract map: the door
                        (max(door) if door else None, timeouts["ExtractFramesFunction"]))   # read it (keys scan)
    return {"parts_s": {k: round(v, 1) for k, v in parts.items()}, "total_s": round(sum(parts.values()), 1),
            "slowest_segment_s": None if slowest is None else round(slowest, 1),
            "segment_timeout_s": timeout, "extraction_in": "segments" if segs else "door",
            "slowest_batch_s": round(max(batches), 1) if batches else None,
            "batch_timeout_s": timeouts["AnalyseFunction"]}


def cli_run(path: Path, templates: str) -> tuple[dict, float]:
    from autoposter.analysis import Job
    from autoposter.pipeline import run_video
    from autoposter.settings import Settings
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        m = run_video(path, Path(tmp) / "out", Job(title="Film", link="https://example.com/videos/uploads/" + path.name,
                                                   templates=tuple(templates.split(","))),
                      Settings.from_env({}), workers=os.cpu_count())
        return m, time.perf_counter() - t0


def same_posters(a: dict, b: dict) -> dict:
    keys = ("path", "frame_time", "crop", "scores")
    pa = [{k: p[k] for k in keys} | {"layers": [ly["box"] for ly in p["layers"]]} for p in a["posters"]]
    pb = [{k: p[k] for k in keys} | {"layers": [ly["box"] for ly in p["layers"]]} for p in b["posters"]]
    return {"posters": len(pa), "identical": pa == pb, "differing": sum(x != y for x, y in zip(pa, pb))}


def film(name: str, templates: str) -> dict:
    sys.path.insert(0, str(ROOT / "statemachine"))
    import build
    path = ensure(name)
    from autoposter.video import VideoSource, read_header
    h = read_header(VideoSource.local(path))
    print(f"films: {name}: local cloud", file=sys.stderr, flush=True)
    run = cloud_run(path, templates)
    u = run["usage"]
    minutes = h.duration / 60
    seg_cpu = run["cpu"].get("extract_segment", [])
    door_cpu = sum(run["cpu"].get("extract_frames", []))
    extraction_cpu = sum(seg_cpu) + door_cpu + sum(run["cpu"].get("sample", []))
    print(f"films: {name}: command line", file=sys.stderr, flush=True)
    manifest, cli_wall = cli_run(path, templates)
    return {"name": name, "what": PRESETS.get(name, name), "seconds": round(h.duration, 1),
            "bitrate_mbps": round(h.bitrate / 1e6, 2), "size_bytes": h.size_bytes, "width": h.width, "height": h.height,
            "segments": run["segments"], "extraction_cpu_s_per_video_minute": round(extraction_cpu / minutes, 2),
            "segment_cpu_s": {"median": round(statistics.median(seg_cpu), 1) if seg_cpu else None,
                              "max": round(max(seg_cpu), 1) if seg_cpu else None},
            "aws_estimate": aws_estimate(run, build.function_timeouts([*build.FUNCTIONS, "ExtractFramesFunction"])),
            "local_cloud_wall_s": round(run["wall_s"], 1), "cli_wall_s": round(cli_wall, 1),
            "cost_per_video_minute_usd": u["cost_per_video_minute_usd"],
            "cost_parts_per_video_minute_usd": u["cost_per_video_minute_parts_usd"],
            "storage": u["storage"], "workers_read_share_of_file": u["s3"]["workers_read_share_of_file"],
            "workers_read_per_video_minute_bytes": u["s3"]["workers_read_per_video_minute"],
            "frames_analysed": u["frames_analysed"], "posters": u["posters_published"],
            "letterboxed": run["manifest"]["video"].get("letterboxed"),
            "parity": same_posters(manifest, run["manifest"])}


def markdown(rows: list[dict]) -> str:
    lines = ["### Feature films (`python -m bench.films`)", "",
             "Real footage made into a 2-hour film and a letterboxed 20-minute episode (examples/make_films.py). "
             "Extraction CPU is the handlers' own CPU time (what one vCPU bills); the AWS wall is estimated from "
             "the measured parts (segments and batches in parallel waves of the Map's concurrency); the local "
             "cloud runs one handler at a time. *Same posters*: the command line and the cloud chose the same "
             "frames, crops, scores and layer boxes.", "",
             "| film | segments | extraction CPU s / video-min | slowest segment / timeout | AWS wall (estimate) | "
             "local cloud wall | CLI wall (2 cores) | $ / video-min (extraction) | read from S3 | same posters |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        e = r["aws_estimate"]
        lines.append(
            f"| {r['what']} | {r['segments']} | {r['extraction_cpu_s_per_video_minute']} | "
            f"{e['slowest_segment_s']} s / {e['segment_timeout_s']} s{' (door)' if e.get('extraction_in') == 'door' else ''} | "
            f"{e['total_s'] / 60:.1f} min | "
            f"{r['local_cloud_wall_s'] / 60:.1f} min | {r['cli_wall_s'] / 60:.1f} min | "
            f"{r['cost_per_video_minute_usd']:.6f} ({r['cost_parts_per_video_minute_usd']['extraction_compute']:.6f}) | "
            f"{r['workers_read_share_of_file']:.2f}× the file | "
            f"{'yes' if r['parity']['identical'] else 'no: ' + str(r['parity']['differing'])} ({r['parity']['posters']}) |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--films", default=",".join(PRESETS))
    ap.add_argument("--templates", default="streaming,cjk")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args(argv)
    rows = [film(n, args.templates) for n in args.films.split(",") if n]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    date = dt.date.today().isoformat()
    (out / f"films-{date}.json").write_text(json.dumps(rows, indent=1) + "\n")
    md = markdown(rows)
    (out / f"films-{date}.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "AUTOPOSTER_ORT_THREADS"):
        os.environ.setdefault(var, "1")
    raise SystemExit(main())
