"""What one local-cloud run would cost on AWS: counts measured here, prices typed in from AWS's list.

Lambda: invocations and GB-seconds per function = measured handler durations × configured
memory (template.yaml), plus one cold start (init: imports and model loading, billed by
Lambda since 2025) per function per run — a lone upload, the dearest case. Durations are
this machine's single core; at 1769 MB a function has one full vCPU, so they carry over.
Step Functions: the Standard parent's state transitions (inline Map iterations are free, the
states inside them are not; a Distributed Map bills one transition per child it starts);
children of the Distributed Map are priced as the template configures them (EXPRESS:
requests + duration at the 64 MB minimum; STANDARD: their transitions). S3: requests by
operation as the local S3 endpoint saw them, by function. Not included: CloudFront,
storage, CloudWatch Logs, data transfer.
"""
from __future__ import annotations

# AWS list prices, us-east-1, as of 2026-11 (the only typed-in numbers of the report)
PRICES = {
    "arm64": {"lambda_gb_s": 0.0000133334},
    "x86_64": {"lambda_gb_s": 0.0000166667},
    "lambda_request": 0.20 / 1e6,
    "sfn_standard_transition": 0.025 / 1000,
    "sfn_express_request": 1.00 / 1e6,
    "sfn_express_gb_s": 0.00001667,
    "s3_put_class": 0.005 / 1000,      # PUT, COPY, POST, LIST
    "s3_get_class": 0.0004 / 1000,     # GET, HEAD and the rest
}
PUT_CLASS = {"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects", "MultipartUpload",
             "UploadPart", "CreateBucket"}
EXPRESS_MIN_GB = 64 / 1024


def template_config(template_path) -> dict:
    """Memory per function folder, the architecture and the children's execution type from template.yaml."""
    from pathlib import Path

    from cfnlint.decode import decode

    tpl, _ = decode(str(template_path))
    glob = tpl["Globals"]["Function"]
    memory = {}
    for res in tpl["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            p = res["Properties"]
            memory[Path(p["CodeUri"]).name] = int(p.get("MemorySize", glob.get("MemorySize", 128)))
    return {"memory_mb": memory, "architecture": glob.get("Architectures", ["x86_64"])[0],
            "child_execution_type": tpl["Parameters"]["ChildExecutionType"]["Default"]}


def cold_start_seconds(root, function: str, env: dict | None = None) -> float:
    """Import of functions/<function>/app.py (and what its module level loads: the models) in a
    fresh interpreter, less a bare interpreter's start: the function's INIT phase."""
    import os
    import subprocess
    import sys

    code = ("import importlib.util,time,sys;t=time.perf_counter();"
            f"s=importlib.util.spec_from_file_location('app', {str(root / 'functions' / function / 'app.py')!r});"
            "s.loader.exec_module(importlib.util.module_from_spec(s));print(time.perf_counter()-t)")
    e = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
         "POWERTOOLS_METRICS_DISABLED": "true", **(env or {})}
    runs = []
    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=120)
        runs.append(float(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else 0.0)
    return sorted(runs)[1]


def report(cloud, execution_arn: str, video_seconds: float, output: dict) -> dict:
    cfg = template_config(cloud.root / "template.yaml")
    arch, child_type = cfg["architecture"], cfg["child_execution_type"]
    lam = {}
    for fn, durs in cloud.server.durations.items():
        mem_gb = cfg["memory_mb"][fn] / 1024
        init = cold_start_seconds(cloud.root, fn)
        lam[fn] = {"invocations": len(durs), "duration_s": round(sum(durs), 3), "init_s": round(init, 3),
                   "memory_mb": cfg["memory_mb"][fn], "gb_s": round((sum(durs) + init) * mem_gb, 4)}
    children = cloud.map_run_items(execution_arn)       # one child execution per item (no ItemBatcher)
    parent = cloud.transitions(execution_arn)
    child_tasks = {fn: len(cloud.server.durations.get(fn, [])) for fn in ("analyse", "batch_failed")}
    child_seconds = sum(sum(cloud.server.durations.get(fn, [])) for fn in child_tasks)
    sfn = {"standard_transitions": parent + children, "children": children,
           "child_execution_type": child_type, "express_requests": 0, "express_gb_s": 0.0}
    if child_type == "EXPRESS":
        sfn["express_requests"] = children
        sfn["express_gb_s"] = round(child_seconds * EXPRESS_MIN_GB, 4)
    else:                                               # a STANDARD child bills each state it enters
        sfn["standard_transitions"] += sum(child_tasks.values())
    s3 = cloud.s3_requests()
    put = sum(n for ops in s3.values() for op, n in ops.items() if op in PUT_CLASS)
    get = sum(n for ops in s3.values() for op, n in ops.items() if op not in PUT_CLASS)
    invocations = sum(v["invocations"] for v in lam.values())
    parts = {
        "lambda_compute": sum(v["gb_s"] for v in lam.values()) * PRICES[arch]["lambda_gb_s"],
        "lambda_requests": invocations * PRICES["lambda_request"],
        "step_functions": sfn["standard_transitions"] * PRICES["sfn_standard_transition"]
        + sfn["express_requests"] * PRICES["sfn_express_request"] + sfn["express_gb_s"] * PRICES["sfn_express_gb_s"],
        "s3_requests": put * PRICES["s3_put_class"] + get * PRICES["s3_get_class"],
    }
    per_video = sum(parts.values())
    per_minute = per_video * 60.0 / max(video_seconds, 1e-9)
    frames = output.get("frames_analysed", 0)
    return {
        "architecture": arch, "video_seconds": round(video_seconds, 3),
        "lambda": lam, "lambda_invocations": invocations, "step_functions": sfn,
        "s3": {"by_function": s3, "put_class": put, "get_class": get,
               "get_per_frame": round(sum(n for ops in s3.values() for op, n in ops.items()
                                          if op == "GetObject") / max(frames, 1), 3)},
        "frames_analysed": frames, "batches": output.get("batches", 0),
        "transitions_per_frame": round(sfn["standard_transitions"] / max(frames, 1), 3),
        "posters_rendered": output.get("rendered", 0), "posters_published": output.get("posters", 0),
        "cost_usd": {k: round(v, 7) for k, v in parts.items()}, "cost_per_video_usd": round(per_video, 7),
        "cost_per_video_minute_usd": round(per_minute, 6),
        "cost_per_video_minute_parts_usd": {k: round(v * 60.0 / max(video_seconds, 1e-9), 6)
                                            for k, v in parts.items()},
        "prices": {"lambda_gb_s": PRICES[arch]["lambda_gb_s"],
                   **{k: v for k, v in PRICES.items() if k not in ("arm64", "x86_64")}},
        "notes": "list prices us-east-1; durations measured on this machine (one core); one cold start per "
                 "function; CloudFront, storage, logs and transfer not included",
    }


def markdown(u: dict, label: str) -> str:
    lines = [f"**{label}** ({u['video_seconds']:.0f} s of video, {u['frames_analysed']} frames in {u['batches']} "
             f"batches, {u['architecture']}): **${u['cost_per_video_minute_usd']:.6f} per video-minute**; "
             f"{u['posters_rendered']} posters rendered for {u['posters_published']} published; "
             f"{u['s3']['get_per_frame']} S3 GETs and {u['transitions_per_frame']} state transitions per frame.", "",
             "| part | $ per video | $ per video-minute |", "|---|---:|---:|"]
    for k, v in u["cost_usd"].items():
        lines.append(f"| {k} | {v:.7f} | {u['cost_per_video_minute_parts_usd'][k]:.6f} |")
    lines.append(f"| **total** | **{u['cost_per_video_usd']:.7f}** | **{u['cost_per_video_minute_usd']:.6f}** |")
    lines += ["", "| function | invocations | handler s | init s | memory MB | GB-s |", "|---|---:|---:|---:|---:|---:|"]
    for fn, v in u["lambda"].items():
        lines.append(f"| {fn} | {v['invocations']} | {v['duration_s']:.2f} | {v['init_s']:.2f} | {v['memory_mb']} "
                     f"| {v['gb_s']:.3f} |")
    sfn = u["step_functions"]
    lines += ["", f"Step Functions: {sfn['standard_transitions']} Standard transitions, {sfn['children']} Distributed "
              f"Map children ({sfn['child_execution_type']}: {sfn['express_requests']} Express requests, "
              f"{sfn['express_gb_s']} GB-s). S3: {u['s3']['put_class']} PUT-class and {u['s3']['get_class']} "
              f"GET-class requests."]
    return "\n".join(lines)
