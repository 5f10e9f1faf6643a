"""One typed settings object, built from the environment at call time.

Sources, highest priority first:

1. keyword arguments to :func:`load_settings` (tests, CLI flags);
2. environment variables prefixed ``REVIEW_`` (nested groups use ``__``,
   e.g. ``REVIEW_RULES__STALE_VISIT_DAYS=21``);
3. an optional TOML file named by ``REVIEW_CONFIG`` (default
   ``$REVIEW_HOME/config.toml`` when it exists);
4. inside Airflow, the connections ``review_warehouse``, ``review_crm`` and
   ``review_smtp`` fill URLs that nothing above set (see :mod:`review_pipeline.airflow_conn`);
5. the defaults below, which are DOMAIN.md's values.

Nothing here is read at import time: call :func:`load_settings` where you need it.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

WAREHOUSE_CONN_ID = "review_warehouse"
CRM_CONN_ID = "review_crm"
SMTP_CONN_ID = "review_smtp"

WAREHOUSE_DB_NAME = "review_warehouse"
CRM_DB_NAME = "review_crm"

Language = Literal["zh-CN", "en"]


class StageProbabilities(BaseModel):
    """Default win probability per canonical stage (DOMAIN.md, "Lead stages")."""

    S1: Decimal = Decimal("0.10")
    S2: Decimal = Decimal("0.25")
    S3: Decimal = Decimal("0.50")
    S4: Decimal = Decimal("0.70")
    S5_PENDING_ORDER: Decimal = Decimal("0.90")
    S5_ORDERED: Decimal = Decimal("1.00")


class RuleSettings(BaseModel):
    """Thresholds of the authenticity and reporting rules (DOMAIN.md defaults)."""

    outlier_p99_multiple: Decimal = Decimal("10")  # LQ02
    stage_skip_steps: int = 2  # LQ04: skipped >= this many steps in one change
    no_visit_days: int = 30  # LQ06
    duplicate_amount_tolerance: Decimal = Decimal("0.10")  # LQ07
    ordered_match_days: int = 30  # LQ10
    ordered_amount_tolerance: Decimal = Decimal("0.20")  # LQ10
    backfill_days: int = 3  # LQ11
    approval_working_days: int = 1  # DR02
    error_weight: Decimal = Decimal("1.0")
    warn_weight: Decimal = Decimal("0.5")
    target_tolerance: Decimal = Decimal("0.005")  # children add up to parent within 0.5 %


class CheckFlagSettings(BaseModel):
    """Thresholds of the GREEN / YELLOW / RED check flag (DOMAIN.md)."""

    red_no_update_days: int = 30
    yellow_date_moved_days: int = 30
    yellow_no_visit_days: int = 14
    yellow_stage_unchanged_days: int = 45


class ReportSettings(BaseModel):
    top_n: int = 20
    volatility_months: int = 6
    volatility_min_months: int = 3


class AdviceSettings(BaseModel):
    """Thresholds of the review advice rules (docs/advice.md). Ratios are fractions."""

    # A01: month forecast attainment behind time progress by more than this
    attainment_gap: Decimal = Decimal("0.10")
    # A02: reservoir coverage (weighted pipeline / target) below this
    coverage_floor: Decimal = Decimal("1.0")
    # A04: authenticity score below this, or fallen by more points week over week
    score_floor: Decimal = Decimal("0.80")
    score_drop_points: Decimal = Decimal("10")
    # A05: daily reports filed on time (7 days) below this
    compliance_floor: Decimal = Decimal("0.90")
    # A06: receivables overdue by more days than this
    receivable_days: int = Field(default=90, ge=0)
    # A07: plan accuracy below the floor in each of this many months in a row
    plan_accuracy_floor: Decimal = Decimal("0.70")
    plan_accuracy_months: int = Field(default=3, ge=1)
    # leads / invoices named in an item's evidence; items in the email body
    evidence_leads: int = Field(default=5, ge=0)
    top_n: int = Field(default=5, ge=0)


class PackSettings(BaseModel):
    """Row caps of the per-row sheets of a review pack (docs/packs.md, "Row caps").

    A manager high up the org has hundreds of thousands of leads under them:
    nobody reads that in a spreadsheet, the workbook would exceed the mail
    limit, and writing it costs minutes. The per-lead / per-invoice sheets
    therefore show the most important rows of the scope (chosen in SQL, so the
    others are never read), with a note giving the true total and the command
    that prints the full list. 0 = no cap. The aggregated reports (per person,
    team, region) are never capped.
    """

    # R6: open leads first, RED then YELLOW flags first, then the largest amounts.
    # 5,000 is well above what one reviewer works through in a week (a sales
    # director reviews the flagged and the large deals) and keeps the sheet
    # near 1 MB, far below the 15 MB mail limit.
    ledger_max_rows: int = Field(default=5000, ge=0)
    # R7 invoices: overdue first, then the largest balances.
    receivables_max_rows: int = Field(default=5000, ge=0)


class SmtpSettings(BaseModel):
    """Where packs are sent. ``transport = "file"`` writes .eml files under REVIEW_HOME."""

    transport: Literal["file", "smtp"] = "file"
    host: str = "127.0.0.1"
    port: int = 25
    security: Literal["none", "starttls", "ssl"] = "none"
    user: str | None = None
    password: SecretStr | None = None
    sender: str = "review-pipeline@localhost"
    timeout_seconds: float = 30.0
    max_attachment_bytes: int = 15 * 1024 * 1024
    # Delivery ledger (docs/delivery.md): retries only when the server did not accept.
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=30.0, ge=0)
    retry_max_seconds: float = Field(default=1800.0, ge=0)
    # how long one send run waits in-process for retries that fall due soon
    wait_for_retries_seconds: float = Field(default=300.0, ge=0)
    # a 'sending' claim older than this is a crashed sender: its row becomes 'unknown'
    claim_timeout_seconds: float = Field(default=900.0, gt=0)
    batch_size: int = Field(default=20, ge=1)
    skip_empty: bool = True


class Settings(BaseSettings):
    """Everything the pipeline can be told. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="REVIEW_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    home: Path = Field(
        default=Path(".review"), description="Embedded DB data, landing folders, outputs"
    )
    warehouse_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL of the warehouse; embedded server when unset"
    )
    crm_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL of the CRM source; embedded server when unset"
    )
    timezone: str = "Asia/Shanghai"
    language: Language = "zh-CN"
    log_level: str = "INFO"
    statement_timeout_seconds: int = 900
    lock_timeout_seconds: int = 10
    sources: list[str] = Field(
        default_factory=lambda: ["sim_crm", "sim_finance"],
        description="Mapping names to extract; $REVIEW_HOME/sources/<name>.yaml overrides a shipped one",
    )
    extract_lookback_minutes: int = Field(
        default=360,
        ge=0,
        description="Re-read source rows this far behind the watermark (late commits)",
    )
    extract_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Entities of an SQL source extracted at the same time, each in its own"
        " transaction on its own connections (1: one after another)",
    )

    stage_probabilities: StageProbabilities = StageProbabilities()
    rules: RuleSettings = RuleSettings()
    check_flags: CheckFlagSettings = CheckFlagSettings()
    reports: ReportSettings = ReportSettings()
    advice: AdviceSettings = AdviceSettings()
    smtp: SmtpSettings = SmtpSettings()
    packs: PackSettings = PackSettings()

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    # Paths under REVIEW_HOME -------------------------------------------------
    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def output_dir(self) -> Path:
        return self.home / "out"

    @property
    def simulator_dir(self) -> Path:
        return self.home / "simulator"


def _config_file() -> Path | None:
    named = os.environ.get("REVIEW_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"REVIEW_CONFIG names {path}, which does not exist")
        return path
    home = Path(os.environ.get("REVIEW_HOME", ".review")).expanduser()
    candidate = home / "config.toml"
    return candidate if candidate.is_file() else None


def load_settings(*, from_airflow: bool = False, **overrides: Any) -> Settings:
    """Build the settings now, from the environment, the config file and ``overrides``.

    Args:
        from_airflow: also fill unset URLs from the Airflow connections
            ``review_warehouse`` / ``review_crm`` / ``review_smtp`` when they exist.
        overrides: values that win over every other source.
    """
    settings = Settings(**overrides)
    if from_airflow:
        from review_pipeline.airflow_conn import apply_airflow_connections

        settings = apply_airflow_connections(settings)
    return settings
