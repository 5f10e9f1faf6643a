"""The ``review-pipeline`` command line."""

from __future__ import annotations

from review_pipeline.cli.app import main

__all__ = ["main"]
