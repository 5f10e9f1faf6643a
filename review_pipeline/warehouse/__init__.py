"""The warehouse stage: star-schema dimensions and facts built from the typed staging tables.

Entry points: :func:`review_pipeline.warehouse.build.build_day` and
:func:`review_pipeline.warehouse.build.backfill` (what the CLI and Airflow call).
"""

from __future__ import annotations
