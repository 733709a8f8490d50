"""What one local-cloud run would cost on AWS: counts measured here, prices typed in from AWS's list (S10).

* Lambda compute: each handler's **CPU time** (measured on the thread that ran it; OpenCV and
  onnxruntime run one thread, as on a 1769 MB function's single vCPU) plus one cold start per
  function (its INIT: imports and model loading, CPU time of a fresh interpreter, billed since
  2025), × the function's memory. CPU time does not depend on how loaded this machine is;
  S3 latency, which Lambda bills as wall time, is added as an estimate per request (``S3_WAIT``).
* Step Functions: the Standard parent's state transitions; Distributed Map children as the
  template configures them (EXPRESS: requests + duration at the 64 MB minimum).
* S3 requests by operation as the local S3 endpoint saw them, and the bytes the workers read.
* Storage, per month it is kept: the upload (input bucket, kept until deleted unless
  UploadExpirationDays is set), the job's work (work bucket, expired after WorkExpirationDays),
  the published set (CDN bucket, kept). Logs: bytes the handlers logged at the deployed level
  (INFO) plus Lambda's platform lines, at CloudWatch's ingestion price; X-Ray: one trace per
  execution and per child.
* Left out (said in ``notes``): CloudFront requests and transfer, data transfer, free tiers,
  KMS (the buckets use SSE-S3, which is free), SQS (only on failure).
"""
from __future__ import annotations

from pathlib import Path

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
    "s3_gb_month": 0.023,              # S3 Standard, first 50 TB
    "logs_gb_ingested": 0.50,
    "xray_trace": 5.00 / 1e6,
}
PUT_CLASS = {"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects", "MultipartUpload",
             "UploadPart", "CreateBucket", "ListObjectVersions"}
EXPRESS_MIN_GB = 64 / 1024
S3_WAIT = 0.015                   # s of billed wall time per S3 request (latency; estimated, not measured)
PLATFORM_LOG_BYTES = 350          # START, END and REPORT lines Lambda writes per invocation
EXTRACTION = ("extract_frames", "extract_segment", "sample")


def template_config(template_path) -> dict:
    """Memory per function folder, the architecture, the children's execution type and the lifecycle days."""
    from cfnlint.decode import decode

    tpl, _ = decode(str(template_path))
    glob = tpl["Globals"]["Function"]
    memory = {}
    for res in tpl["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            p = res["Properties"]
            memory[Path(p["CodeUri"]).name] = int(p.get("MemorySize", glob.get("MemorySize", 128)))
    params = {k: v.get("Default") for k, v in tpl["Parameters"].items()}
    return {"memory_mb": memory, "architecture": glob.get("Architectures", ["x86_64"])[0],
            "child_execution_type": params["ChildExecutionType"],
            "work_days": float(params.get("WorkExpirationDays", 14)),
            "upload_days": float(params.get("UploadExpirationDays", 0) or 0)}


def cold_start_cpus(root, functions, env: dict | None = None) -> dict:
    """CPU seconds of importing each functions/<function>/app.py (and what its module level loads: the
    models) in a fresh interpreter, less a bare interpreter's: the function's INIT phase, median of 3.
    The probes run side by side (one per core): CPU time is what is measured, so running them together
    changes the figure little and the wait a lot. Remembered per process: INIT does not change."""
    key = (str(root), tuple(sorted((env or {}).items())))
    known = _INIT_CPU.setdefault(key, {})
    todo = [f for f in functions if f not in known]
    if todo:
        known.update(_probe_init(root, todo, env))
    return {f: known[f] for f in functions}


_INIT_CPU: dict = {}


def _probe_init(root, functions, env: dict | None) -> dict:
    import os
    import subprocess
    import sys

    probe = ("import resource,importlib.util,sys;"
             "u=lambda:(lambda r:r.ru_utime+r.ru_stime)(resource.getrusage(resource.RUSAGE_SELF));t=u();{}"
             "print(u()-t)")
    e = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
         "POWERTOOLS_METRICS_DISABLED": "true", "OMP_NUM_THREADS": "1", **(env or {})}
    jobs = [f for f in functions for _ in range(3)]
    runs: dict = {f: [] for f in functions}
    width = max(1, os.cpu_count() or 1)
    for i in range(0, len(jobs), width):
        procs = []
        for f in jobs[i:i + width]:
            load = (f"s=importlib.util.spec_from_file_location('app', {str(root / 'functions' / f / 'app.py')!r});"
                    "s.loader.exec_module(importlib.util.module_from_spec(s));")
            procs.append((f, subprocess.Popen([sys.executable, "-c", probe.format(load)], stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL, text=True, env=e)))
        for f, p in procs:
            try:
                out, _ = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                out = ""
            lines = (out or "").strip().splitlines()
            runs[f].append(float(lines[-1]) if p.returncode == 0 and lines else None)
    for f, v in runs.items():
        if None in v:
            raise RuntimeError(f"the INIT probe of functions/{f}/app.py failed (import it in a fresh python to see why)")
    return {f: sorted(v)[1] for f, v in runs.items()}


def _sizes(cloud, bucket: str, prefix: str) -> int:
    total, token = 0, None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = cloud.s3.list_objects_v2(Bucket=cloud.buckets[bucket], Prefix=prefix, **kw)
        total += sum(o["Size"] for o in page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not token:
            return total


def report(cloud, execution_arn: str, source, output: dict) -> dict:
    """The usage and cost of one execution; ``source`` is the uploaded video (its size and length)."""
    from autoposter.video import read_header

    cfg = template_config(cloud.template)
    arch, child_type = cfg["architecture"], cfg["child_execution_type"]
    video_seconds = read_header(source).duration
    s3 = cloud.s3_requests()
    lam = {}
    inits = cold_start_cpus(cloud.root, tuple(cloud.server.cpu))
    for fn, cpu in cloud.server.cpu.items():
        mem_gb = cfg["memory_mb"][fn] / 1024
        init = inits[fn]
        wait = S3_WAIT * sum(s3.get(fn, {}).values())
        billed = sum(cpu) + init + wait
        lam[fn] = {"invocations": len(cpu), "cpu_s": round(sum(cpu), 3), "init_cpu_s": round(init, 3),
                   "s3_wait_s": round(wait, 3), "wall_s": round(sum(cloud.server.durations[fn]), 3),
                   "memory_mb": cfg["memory_mb"][fn], "gb_s": round(billed * mem_gb, 4)}
    children = cloud.map_run_items(execution_arn)       # one child execution per item (no ItemBatcher)
    parent = cloud.transitions(execution_arn)
    child_fns = ("extract_segment", "analyse", "batch_failed")
    child_seconds = sum(lam[f]["cpu_s"] + lam[f]["s3_wait_s"] for f in child_fns if f in lam)
    sfn = {"standard_transitions": parent + children, "children": children,
           "child_execution_type": child_type, "express_requests": 0, "express_gb_s": 0.0}
    if child_type == "EXPRESS":
        sfn["express_requests"] = children
        sfn["express_gb_s"] = round(child_seconds * EXPRESS_MIN_GB, 4)
    else:                                               # a STANDARD child bills each state it enters
        sfn["standard_transitions"] += sum(lam[f]["invocations"] for f in child_fns if f in lam)
    put = sum(n for ops in s3.values() for op, n in ops.items() if op in PUT_CLASS)
    get = sum(n for ops in s3.values() for op, n in ops.items() if op not in PUT_CLASS)
    invocations = sum(v["invocations"] for v in lam.values())
    gb_s = {fn: v["gb_s"] for fn, v in lam.items()}
    price = PRICES[arch]["lambda_gb_s"]
    parts = {
        "extraction_compute": sum(v for fn, v in gb_s.items() if fn in EXTRACTION) * price,
        "analysis_publish_compute": sum(v for fn, v in gb_s.items() if fn not in EXTRACTION) * price,
        "lambda_requests": invocations * PRICES["lambda_request"],
        "step_functions": sfn["standard_transitions"] * PRICES["sfn_standard_transition"]
        + sfn["express_requests"] * PRICES["sfn_express_request"] + sfn["express_gb_s"] * PRICES["sfn_express_gb_s"],
        "s3_requests": put * PRICES["s3_put_class"] + get * PRICES["s3_get_class"],
        "logs": (cloud.log_bytes + PLATFORM_LOG_BYTES * invocations) / 1e9 * PRICES["logs_gb_ingested"],
        "xray": (1 + children) * PRICES["xray_trace"],
    }
    per_video = sum(parts.values())
    minutes = max(video_seconds, 1e-9) / 60.0
    job_id = output.get("job_id", "")
    work = _sizes(cloud, "work", f"jobs/{job_id}/") if job_id else 0
    cdn = _sizes(cloud, "cdn", output.get("set", "\0"))
    gbm = PRICES["s3_gb_month"] / 1e9
    storage = {"input_bytes": source.size_bytes, "work_bytes": work, "cdn_bytes": cdn,
               "input_per_month_usd": round(source.size_bytes * gbm, 7),
               "work_once_usd": round(work * gbm * cfg["work_days"] / 30.0, 7),
               "cdn_per_month_usd": round(cdn * gbm, 7)}
    read = cloud.s3_bytes_read()
    workers_read = sum(read.get(f, 0) for f in ("extract_frames", "extract_segment"))
    frames = output.get("frames_analysed", 0)
    return {
        "architecture": arch, "video_seconds": round(video_seconds, 3), "video_bytes": source.size_bytes,
        "lambda": lam, "lambda_invocations": invocations, "step_functions": sfn,
        "s3": {"by_function": s3, "put_class": put, "get_class": get, "bytes_read": read,
               "workers_read_per_video_minute": round(workers_read / minutes),
               "workers_read_share_of_file": round(workers_read / max(source.size_bytes, 1), 3)},
        "storage": storage, "log_bytes": cloud.log_bytes + PLATFORM_LOG_BYTES * invocations,
        "frames_analysed": frames, "posters_published": output.get("posters", 0),
        "cost_usd": {k: round(v, 7) for k, v in parts.items()}, "cost_per_video_usd": round(per_video, 7),
        "cost_per_video_minute_usd": round(per_video / minutes, 6),
        "cost_per_video_minute_parts_usd": {k: round(v / minutes, 6) for k, v in parts.items()},
        "storage_per_video_minute_month_usd": round((storage["input_per_month_usd"] + storage["cdn_per_month_usd"])
                                                    / minutes, 7),
        "prices": {"lambda_gb_s": price, **{k: v for k, v in PRICES.items() if k not in ("arm64", "x86_64")}},
        "notes": "list prices us-east-1; compute = handler CPU time (one thread) + INIT CPU time + "
                 f"{S3_WAIT * 1000:.0f} ms per S3 request (estimated latency); storage is per month kept (the work "
                 "bucket's share is once, for its expiry); not included: CloudFront requests and transfer, data "
                 "transfer, free tiers, SQS (failures only)",
    }


def markdown(u: dict, label: str) -> str:
    lines = [f"**{label}** ({u['video_seconds']:.0f} s of video, {u['frames_analysed']} frames analysed, "
             f"{u['architecture']}): **${u['cost_per_video_minute_usd']:.6f} per video-minute**; "
             f"{u['posters_published']} posters published; the workers read "
             f"{u['s3']['workers_read_share_of_file']:.2f}× the file's size from S3.", "",
             "| part | $ per video | $ per video-minute |", "|---|---:|---:|"]
    for k, v in u["cost_usd"].items():
        lines.append(f"| {k} | {v:.7f} | {u['cost_per_video_minute_parts_usd'][k]:.6f} |")
    lines.append(f"| **total** | **{u['cost_per_video_usd']:.7f}** | **{u['cost_per_video_minute_usd']:.6f}** |")
    st = u["storage"]
    lines += ["", f"Storage: the upload {st['input_bytes'] / 1e6:.1f} MB (${st['input_per_month_usd']:.7f} a month "
              f"while kept), the job's work {st['work_bytes'] / 1e6:.1f} MB (${st['work_once_usd']:.7f} until it "
              f"expires), the published set {st['cdn_bytes'] / 1e6:.1f} MB (${st['cdn_per_month_usd']:.7f} a month).",
              "", "| function | invocations | CPU s | init CPU s | S3 wait s | wall s | memory MB | GB-s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for fn, v in u["lambda"].items():
        lines.append(f"| {fn} | {v['invocations']} | {v['cpu_s']:.2f} | {v['init_cpu_s']:.2f} | {v['s3_wait_s']:.2f} "
                     f"| {v['wall_s']:.2f} | {v['memory_mb']} | {v['gb_s']:.3f} |")
    sfn = u["step_functions"]
    lines += ["", f"Step Functions: {sfn['standard_transitions']} Standard transitions, {sfn['children']} Distributed "
              f"Map children ({sfn['child_execution_type']}: {sfn['express_requests']} Express requests, "
              f"{sfn['express_gb_s']} GB-s). S3: {u['s3']['put_class']} PUT-class and {u['s3']['get_class']} "
              f"GET-class requests."]
    return "\n".join(lines)
