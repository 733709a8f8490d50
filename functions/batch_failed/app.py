"""The Analyse map's Catch: record why a batch failed (publish counts its frames against the tolerated share)."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from autoposter_aws import steps

logger, metrics, tracer = Logger(), Metrics(), Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    logger.append_keys(job_id=event.get("job_id"), batch=(event.get("batch") or {}).get("batch"))
    out = steps.batch_failed(event)
    logger.warning("batch failed", extra={"result": out})
    metrics.add_dimension(name="error", value=str(out["error"])[:200])
    metrics.add_metric(name="FramesFailed", unit=MetricUnit.Count, value=out["frames"])
    return out
