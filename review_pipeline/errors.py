"""Exceptions that carry a message meant for a person, not a traceback."""

from __future__ import annotations


class ReviewError(Exception):
    """An expected failure: the CLI prints its message on one line and exits non-zero."""

    exit_code = 1


class UserError(ReviewError):
    """The caller asked for something impossible (bad flag, unknown name, missing file)."""

    exit_code = 2


class ConfigError(UserError):
    """A setting, mapping file or connection is wrong."""


class StepLocked(ReviewError):
    """Another process is running the same step for the same window."""

    exit_code = 3


class GateFailed(ReviewError):
    """A write-audit-publish gate stopped the run before anything was published."""

    exit_code = 4
