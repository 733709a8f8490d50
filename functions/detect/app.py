"""Map iterator, step 1: faces (MTCNN) and the salient region of one frame."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from autoposter.faces import FaceDetector
from autoposter.settings import Settings
from autoposter_aws import steps
from autoposter_aws.config import Config

logger, metrics, tracer = Logger(), Metrics(), Tracer()
CFG, SETTINGS = Config.from_env(), Settings.from_env()
DETECTOR = None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context):
    global DETECTOR
    DETECTOR = DETECTOR or FaceDetector(SETTINGS.faces)      # models load once per container
    logger.append_keys(job_id=event["job_id"], frame=event["frame"]["index"])
    out = steps.detect(event, CFG, SETTINGS, DETECTOR)
    metrics.add_metric(name="FramesProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="FacesDetected", unit=MetricUnit.Count, value=out["faces"])
    return out
