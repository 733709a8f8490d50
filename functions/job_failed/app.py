"""S12: the execution's Catch — the typed failure at the upload's CDN path (``latest.json``) and as an event."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from autoposter_aws import steps
from autoposter_aws.config import Config

logger, metrics, tracer = Logger(), Metrics(), Tracer()
CFG = Config.from_env()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    out = steps.job_failed(event, CFG)
    logger.append_keys(job_id=out.get("job_id"))
    logger.warning("job failed", extra={"result": out})
    metrics.add_dimension(name="error", value=str(out["error"]["code"])[:200])
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    return out
