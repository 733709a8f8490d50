"""``autoposter local-cloud VIDEO --out DIR``: upload, run the state machine, download the set, write usage.json.

Registered as a subcommand of ``autoposter`` through the ``autoposter.commands`` entry point,
so the core CLI never imports this package.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from urllib.parse import quote


def register(sub) -> None:
    lc = sub.add_parser("local-cloud", help="run the serverless flow on this machine (moto S3 + Step Functions, "
                                            "IAM enforced) and write usage.json")
    lc.add_argument("video")
    lc.add_argument("--out", required=True, help="folder to download the published set into")
    lc.add_argument("--title")
    lc.add_argument("--link")
    lc.add_argument("--template", help="bundled templates (default: template.yaml's Templates parameter)")
    lc.add_argument("--scenario")
    lc.add_argument("--serve", action="store_true", help="keep the local S3 endpoint up after the run")
    lc.set_defaults(fn=main)


def main(args) -> int:
    import logging

    from .cloud import LocalCloud
    from .usage import markdown, report

    logging.getLogger("moto").setLevel(logging.ERROR)     # the interpreter's notes on unsupported fields
    env = {"POWERTOOLS_METRICS_DISABLED": "true"}          # EMF lines would bury the summary
    if args.template:                                      # else template.yaml's Templates parameter
        env["TEMPLATES"] = args.template
    if args.scenario:
        env["SCENARIOS"] = args.scenario
    key = f"uploads/{Path(args.video).name}"
    # S3 user metadata is ASCII: the title travels percent-encoded (README, "Title and link")
    meta = {k: quote(v, safe=" ") for k, v in (("title", args.title), ("link", args.link)) if v}
    t0 = time.monotonic()
    with LocalCloud(env) as cloud:
        print(f"local-cloud: S3 API at {cloud.s3_endpoint} (IAM enforced), Step Functions in process, "
              f"Lambda API at {cloud.server.url}", file=sys.stderr)
        started = cloud.deliver(cloud.upload(args.video, key, meta))["results"][0]
        if started["status"] == "rejected":
            print(f"autoposter: {started['code']}: {started['message']}", file=sys.stderr)
            return 3
        print(f"local-cloud: {started['frames']} frames in {started['batches']} batches; execution "
              f"{started['job_id']} started", file=sys.stderr)
        d = cloud.wait(started["execution_arn"])
        if d["status"] != "SUCCEEDED":
            print(f"autoposter: execution {d['status']}: {d.get('error', '')}: {d.get('cause', '')}", file=sys.stderr)
            return 1
        out = json.loads(d["output"])
        files = cloud.download(started["job_id"], args.out)
        from autoposter.frames import probe
        usage = report(cloud, started["execution_arn"], probe(args.video).duration, out)
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "usage.json").write_text(json.dumps(usage, indent=1) + "\n")
        print(f"execution SUCCEEDED in {time.monotonic() - t0:.1f}s: {out['posters']} posters, "
              f"{usage['lambda_invocations']} Lambda invocations; {len(files)} files from "
              f"s3://{cloud.buckets['cdn']}/videos/{started['job_id']}/ -> {args.out}\n")
        print(markdown(usage, Path(args.video).name))
        print(f"\nusage: {Path(args.out) / 'usage.json'}")
        if getattr(args, "serve", False):
            print(f"local-cloud: serving S3 at {cloud.s3_endpoint} until Ctrl-C", file=sys.stderr)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0 if out["posters"] else 6
