"""Typed errors with stable codes.

Every failure a user can cause carries a code such as ``Video::Unreadable`` and a
one-line message saying what to do. Codes are part of the public contract: the
CLI prints them, the manifest records them and the Lambda functions return them.
"""
from __future__ import annotations


class AutoposterError(Exception):
    """Base error: ``code`` is stable, ``message`` is one line a person can act on."""

    code = "Autoposter::Error"
    exit_code = 1

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class VideoError(AutoposterError):
    """The input video is missing, empty, unreadable or unusable."""

    code = "Video::Unreadable"
    exit_code = 3


class TemplateError(AutoposterError):
    """A template file is missing or does not match the schema."""

    code = "Template::Invalid"
    exit_code = 4


class ModelError(AutoposterError):
    """A model file is missing or does not load."""

    code = "Model::Missing"
    exit_code = 5


class SettingsError(AutoposterError):
    """A setting (CLI flag or environment variable) has a bad value."""

    code = "Settings::Invalid"
    exit_code = 2


class FramesFailed(AutoposterError):
    """More frames failed than the job tolerates, or a job's stored frames are gone: nothing is published."""

    code = "Frames::TooManyFailed"
    exit_code = 3
