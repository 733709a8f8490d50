"""The Analyse map's item: one batch of frames, each decoded once — faces, saliency, crops and scores (M2–M12)."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from autoposter.analysis import Detectors
from autoposter.settings import Settings
from autoposter_aws import steps

logger, metrics, tracer = Logger(), Metrics(), Tracer()
SETTINGS = Settings.from_env()
DETECTOR = Detectors.load(SETTINGS)          # models load once per container, in the init phase


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    logger.append_keys(job_id=event.get("job_id"), batch=(event.get("batch") or {}).get("batch"))
    out = steps.analyse(event, SETTINGS, DETECTOR)
    metrics.add_metric(name="FramesAnalysed", unit=MetricUnit.Count, value=out["frames"])
    metrics.add_metric(name="FacesDetected", unit=MetricUnit.Count, value=out["faces"])
    metrics.add_metric(name="CropsPassed", unit=MetricUnit.Count, value=out["passed"])
    return out
