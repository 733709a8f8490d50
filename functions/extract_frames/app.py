"""S1–S2: an upload to the input bucket → frames in the work bucket → one execution per upload."""
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source

from autoposter.settings import Settings
from autoposter_aws import steps
from autoposter_aws.config import Config

logger, metrics, tracer = Logger(), Metrics(), Tracer()
CFG, SETTINGS = Config.from_env(), Settings.from_env()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def handler(event: S3Event, context):
    results = []
    for record in event.records:
        obj = record.s3.get_object
        key = unquote_plus(obj.key)            # S3 event keys arrive URL-encoded
        logger.append_keys(bucket=record.s3.bucket.name, key=key)
        r = steps.extract(record.s3.bucket.name, key, obj.etag, CFG, SETTINGS)
        logger.append_keys(job_id=r["job_id"])
        logger.info("extract", extra={"result": r})
        if r["status"] == "rejected":
            metrics.add_metric(name="VideosRejected", unit=MetricUnit.Count, value=1)
        else:
            metrics.add_metric(name="FramesExtracted", unit=MetricUnit.Count, value=r["frames"])
        results.append(r)
    return {"results": results}
