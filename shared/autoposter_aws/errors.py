"""Errors the state machine's Retry and Catch can name.

Lambda reports an unhandled exception's class name as ``errorType``; Step Functions uses
it as the error name. So the class names below are the contract with
``statemachine/build.py``: only ``S3Transient`` and ``ServiceTransient`` (throttling, 5xx,
timeouts, dropped connections) are retried; ``S3AccessDenied``, ``S3NotFound`` and the core's typed errors are
not — retrying them cannot help.
"""
from __future__ import annotations

from autoposter.errors import AutoposterError

TRANSIENT_CODES = {"Throttling", "ThrottlingException", "SlowDown", "RequestTimeout", "RequestTimeoutException",
                   "InternalError", "ServiceUnavailable", "RequestLimitExceeded", "TooManyRequestsException",
                   "500", "502", "503", "504"}


class S3Transient(AutoposterError):
    """Throttling, a 5xx or a dropped connection: worth retrying."""

    code = "S3::Transient"


class S3AccessDenied(AutoposterError):
    """The function's role lacks a permission: a deployment problem, never retried."""

    code = "S3::AccessDenied"


class S3NotFound(AutoposterError):
    code = "S3::NotFound"


class ServiceTransient(AutoposterError):
    """Another AWS service (EventBridge) throttled or failed for a moment: worth retrying."""

    code = "Service::Transient"


def operator_error(exc: Exception) -> AutoposterError:
    """An AWS error met by an operator's command (backfill, teardown) as one typed line (exit 2):
    missing credentials, a stack or function that does not exist, a permission the operator lacks."""
    from autoposter.errors import SettingsError
    code = "AWS::Error"
    resp = getattr(exc, "response", None) or {}
    name = str(resp.get("Error", {}).get("Code", "")) or type(exc).__name__
    if "Credential" in name or "Credential" in str(exc):
        code = "AWS::NoCredentials"
    elif name in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        code = "AWS::AccessDenied"
    elif name in ("ResourceNotFoundException", "NoSuchBucket", "ValidationError"):
        code = "AWS::NotFound"
    return SettingsError(f"{name}: {str(exc).splitlines()[0][:300]}", code=code)


def run_operator(command: str, body, args) -> int:
    """An operator's command (backfill, teardown): the ``aws`` extra checked first, then ``body(args)``
    with its AWS errors as one typed line (``operator_error``)."""
    import importlib.util

    from autoposter.errors import SettingsError
    if importlib.util.find_spec("boto3") is None:
        raise SettingsError(f"{command} needs the 'aws' extra (boto3): pip install 'autoposter[aws]'",
                            code="Settings::MissingExtra")
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        return body(args)
    except (BotoCoreError, ClientError, RuntimeError) as exc:
        raise operator_error(exc) from None
