"""S1–S2, S11–S12: an upload to the input bucket → checks, the plan, one execution per job attempt.

Only events for the configured input bucket and upload prefix are handled (anything else is
ignored with a log line); a record that does not parse is a logged, typed rejection, never an
unhandled error that S3 would retry.
"""
import os
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from autoposter.settings import Settings
from autoposter_aws import steps
from autoposter_aws.config import Config

logger, metrics, tracer = Logger(), Metrics(), Tracer()
CFG, SETTINGS = Config.from_env(), Settings.from_env()
PREFIX = os.environ.get("UPLOAD_PREFIX", "")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    results = []
    for record in steps.s3_records(event):
        if "error" in record:
            logger.warning("malformed event record", extra={"result": record})
            metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
            results.append({"status": "rejected", **record})
            continue
        bucket, key = record["bucket"], unquote_plus(record["key"])      # S3 event keys arrive URL-encoded
        logger.append_keys(bucket=bucket, key=key)
        if (CFG.input_bucket and bucket != CFG.input_bucket) or not key.startswith(PREFIX):
            logger.info("ignored: not an upload", extra={"input_bucket": CFG.input_bucket, "prefix": PREFIX})
            results.append({"status": "ignored", "bucket": bucket, "key": key})
            continue
        r = steps.start(bucket, key, record["etag"], CFG, SETTINGS)
        logger.append_keys(job_id=r["job_id"])
        logger.info("start", extra={"result": r})
        if r["status"] == "rejected":
            metrics.add_metric(name="VideosRejected", unit=MetricUnit.Count, value=1)
        elif r["status"] == "started":
            metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="Segments", unit=MetricUnit.Count, value=r["segments"])
        results.append(r)
    return {"results": results}
