"""``autoposter local-cloud VIDEO --out DIR``: upload, run the state machine, fetch the published set, write usage.json.

Registered as a subcommand of ``autoposter`` through the ``autoposter.commands`` entry point, so the
core CLI never imports this package. Its dependencies are the ``local`` extra
(``pip install 'autoposter[local]'``); without them the command says so in one line (exit 2).
The set lands in ``DIR`` exactly as ``autoposter run`` writes one (``DIR/latest/…``), so the two
can be compared file by file.
"""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from urllib.parse import quote

from autoposter.errors import AutoposterError

NEEDS = ("boto3", "moto", "cfnlint", "samtranslator", "werkzeug", "aws_lambda_powertools")


def typed_error(code: str, message: str) -> AutoposterError:
    """The cloud's typed code as the command line's typed error, so ``local-cloud`` exits as ``run`` would
    (3 for a video, 4 for a template, 2 for settings…) instead of 1."""
    from autoposter import errors
    kinds = {"Video": errors.VideoError, "Template": errors.TemplateError, "Model": errors.ModelError,
             "Frames": errors.FramesFailed, "Settings": errors.SettingsError, "Overrides": errors.SettingsError,
             "Feedback": errors.SettingsError, "Pin": errors.SettingsError}
    cls = kinds.get(str(code).split("::")[0], AutoposterError)
    err = cls(message, code=code)
    if cls is AutoposterError:
        err.exit_code = 3                     # an execution that failed for a reason of its own: like a video's
    return err


def register(sub) -> None:
    lc = sub.add_parser("local-cloud", help="run the serverless flow on this machine (moto S3 + Step Functions, "
                                            "IAM enforced) and write usage.json")
    lc.add_argument("video")
    lc.add_argument("--out", required=True, help="folder for the published set (as `autoposter run` writes it)")
    lc.add_argument("--title")
    lc.add_argument("--tagline")
    lc.add_argument("--link")
    lc.add_argument("--template", help="bundled templates (default: template.yaml's Templates parameter)")
    lc.add_argument("--scenario")
    lc.add_argument("--serve", action="store_true", help="keep the local S3 endpoint up after the run")
    lc.set_defaults(fn=main)


def check_extra() -> None:
    from autoposter.errors import SettingsError

    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise SettingsError(f"local-cloud needs the 'local' extra ({', '.join(missing)} missing): "
                            "pip install 'autoposter[local]'", code="Settings::MissingExtra")


def main(args) -> int:
    check_extra()
    import logging

    from autoposter.errors import SettingsError
    from autoposter.output import OutputDir
    from autoposter.stores import dumps
    from autoposter.video import VideoSource

    from .cloud import LocalCloud, repo_root
    from .usage import markdown, report

    try:
        repo_root()
    except FileNotFoundError as exc:
        raise SettingsError(str(exc), code="Settings::NotACheckout") from None
    source = VideoSource.local(args.video)                 # Video::NotFound / Empty / NotAVideo before anything starts
    logging.getLogger("moto").setLevel(logging.ERROR)      # the interpreter's notes on unsupported fields
    env = {"POWERTOOLS_METRICS_DISABLED": "true"}          # EMF lines would bury the summary
    if args.template:                                      # else template.yaml's Templates parameter
        env["TEMPLATES"] = args.template
    if args.scenario:
        env["SCENARIOS"] = args.scenario
    key = f"uploads/{Path(args.video).name}"
    # S3 user metadata is ASCII: texts travel percent-encoded (README, "Title and link")
    meta = {k: quote(v, safe=" ") for k, v in (("title", args.title), ("tagline", args.tagline),
                                                ("link", args.link)) if v}
    t0 = time.monotonic()
    with OutputDir(args.out) as out, LocalCloud(env) as cloud:
        print(f"local-cloud: S3 API at {cloud.s3_endpoint} (IAM enforced), Step Functions in process, "
              f"Lambda API at {cloud.server.url}", file=sys.stderr)
        started = cloud.deliver(cloud.upload(source.location, key, meta))["results"][0]
        if started["status"] == "rejected":
            raise typed_error(started["code"], started["message"])
        print(f"local-cloud: {started['segments']} segment(s); execution {started['execution']} started",
              file=sys.stderr)
        d = cloud.wait(started["execution_arn"])
        if d["status"] != "SUCCEEDED":
            status = cloud.status(key) or {}
            err = status.get("error") or {"code": d.get("error", "Execution::Failed"), "message": d.get("cause", "")}
            raise typed_error(err["code"], f"execution {d['status']}: {err['message']}"[:2000])
        import json
        result = json.loads(d["output"])
        usage = report(cloud, started["execution_arn"], source, result)
        if not result["posters"]:
            print(f"autoposter: {result.get('reason', 'no poster passed')}; {args.out} left as it was",
                  file=sys.stderr)
            return 6
        prefix = result["set"]
        files = {}
        for k in cloud.listing("cdn", prefix):
            body = cloud.s3.get_object(Bucket=cloud.buckets["cdn"], Key=k)
            files[k[len(prefix):]] = (body["Body"].read(), body.get("ContentType", "application/octet-stream"))
        manifest = json.loads(files.pop("manifest.json")[0])
        files["usage.json"] = (dumps(usage), "application/json")
        out.publisher().publish(files, manifest)
        print(f"execution SUCCEEDED in {time.monotonic() - t0:.1f}s: {result['posters']} posters, "
              f"{usage['lambda_invocations']} Lambda invocations; s3://{cloud.buckets['cdn']}/{prefix} -> "
              f"{Path(args.out) / 'latest'}\n")
        print(markdown(usage, Path(args.video).name))
        print(f"\nusage: {Path(args.out) / 'latest' / 'usage.json'}")
        if getattr(args, "serve", False):
            print(f"local-cloud: serving S3 at {cloud.s3_endpoint} until Ctrl-C", file=sys.stderr)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0
