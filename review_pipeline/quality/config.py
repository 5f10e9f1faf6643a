"""Settings of the quality stage that DOMAIN.md does not fix (gates, run mechanics).

Rule thresholds live in :class:`review_pipeline.settings.RuleSettings`; these
extra knobs are read from ``REVIEW_QUALITY__*`` environment variables (e.g.
``REVIEW_QUALITY__MAX_QUARANTINE_RATE=0.1``) at call time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict


class QualitySettings(BaseSettings):
    """Gate thresholds and run mechanics of the checks."""

    model_config = SettingsConfigDict(env_prefix="REVIEW_QUALITY__", extra="ignore")

    # LQ13: a row's updated_at more than this after the end of the day is "in the future"
    future_tolerance_hours: int = 24
    # a long range is checked in chunks of this many days (one set-based pass each)
    chunk_days: int = 62
    # rebuild GX Data Docs after every validation (seconds; off only in tests)
    data_docs: bool = True
    # stored GX validation runs kept per suite under REVIEW_HOME/gx (older ones are pruned)
    gx_keep_runs: int = 120

    # gate: source freshness
    freshness_entities: tuple[str, ...] = ("lead",)
    freshness_max_hours: int = 72
    # gate: volume anomaly against the same source/entity on recent working days
    volume_history_working_days: int = 10
    volume_min_history: int = 5
    volume_low_ratio: Decimal = Decimal("0.2")
    volume_high_ratio: Decimal = Decimal("5")
    # gate: reconciliation of amounts (CNY)
    amount_tolerance_cny: Decimal = Decimal("0.01")
    # gate: quarantine rate (error findings or cast failures) that means a systemic problem
    max_quarantine_rate: Decimal = Decimal("0.10")
    min_rows_for_rate: int = 50


def load_quality_settings(**overrides: Any) -> QualitySettings:
    """Build the quality settings now, from the environment and ``overrides``."""
    return QualitySettings(**overrides)
