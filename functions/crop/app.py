"""Map iterator, step 2: crop window per scenario, sharpness / expression / aesthetics gates."""
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
    logger.append_keys(job_id=event["job_id"], frame=event["frame"]["index"])
    out = steps.crop(event, SETTINGS)
    metrics.add_metric(name="CropsPassed", unit=MetricUnit.Count, value=out["passed"])
    return out
