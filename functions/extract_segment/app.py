"""S11: the Extract map's item — one segment of the timeline, read through a presigned URL (M1)."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from autoposter.settings import Settings
from autoposter_aws import steps

logger, metrics, tracer = Logger(), Metrics(), Tracer()
SETTINGS = Settings.from_env()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    logger.append_keys(job_id=event.get("job_id"), segment=(event.get("segment") or {}).get("index"))
    out = steps.extract_segment(event, SETTINGS)
    metrics.add_metric(name="FramesDecoded", unit=MetricUnit.Count, value=out["decoded"])
    metrics.add_metric(name="FramesExtracted", unit=MetricUnit.Count, value=out["frames"])
    return out
