"""S5 / M12–M14: choose, render only the chosen posters, publish under the upload's CDN path (manifest
last, then ``latest``), announce; also a console rerender of a finished job."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from autoposter.settings import Settings
from autoposter_aws import steps
from autoposter_aws.config import Config

logger, metrics, tracer = Logger(), Metrics(), Tracer()
CFG, SETTINGS = Config.from_env(), Settings.from_env()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    body = event.get("input", event)
    logger.append_keys(job_id=body.get("job_id") or (body.get("rerender") or {}).get("job"))
    out = steps.publish(event, CFG, SETTINGS)
    logger.info("published", extra={"result": out})
    metrics.add_metric(name="PostersPublished", unit=MetricUnit.Count, value=out["posters"])
    for reason, n in ({} if is_metrics_disabled() else out.get("rejected_reasons", {})).items():
        with single_metric(name="FramesRejected", unit=MetricUnit.Count, value=n,
                           namespace=metrics.namespace) as m:
            m.add_dimension(name="reason", value=reason)
    return out
