"""M1 across the film: every segment's findings → shots, bars, the frame budget → the Analyse map's items."""
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
    logger.append_keys(job_id=event.get("job_id"))
    out = steps.sample(event, SETTINGS)
    metrics.add_metric(name="FramesSampled", unit=MetricUnit.Count, value=out["frames"])
    return out
