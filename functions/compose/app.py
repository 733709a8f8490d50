"""Map iterator, step 3: draw every template on the crops that passed; record the frame's result."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from autoposter_aws import steps

logger, metrics, tracer = Logger(), Metrics(), Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    logger.append_keys(job_id=event["job_id"], frame=event["frame"]["index"])
    out = steps.compose(event)
    metrics.add_metric(name="PostersComposed", unit=MetricUnit.Count, value=out["posters"])
    return out
