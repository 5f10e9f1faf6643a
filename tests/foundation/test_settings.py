from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

pytestmark = pytest.mark.unit


def test_defaults_are_domain_values(review_home: Path):
    from review_pipeline.settings import load_settings

    s = load_settings()
    assert s.home == review_home.resolve()
    assert s.timezone == "Asia/Shanghai"
    assert s.language == "zh-CN"
    assert s.warehouse_url is None and s.crm_url is None
    # DOMAIN.md: stage probabilities and rule thresholds
    assert s.stage_probabilities.S3 == Decimal("0.50")
    assert s.stage_probabilities.S5_PENDING_ORDER == Decimal("0.90")
    assert s.rules.no_visit_days == 30
    assert s.rules.target_tolerance == Decimal("0.005")
    assert s.check_flags.yellow_stage_unchanged_days == 45
    assert s.reports.top_n == 20


def test_environment_overrides_nested_and_urls_are_secret(review_home, monkeypatch):
    from review_pipeline.settings import load_settings

    monkeypatch.setenv("REVIEW_RULES__NO_VISIT_DAYS", "21")
    monkeypatch.setenv("REVIEW_LANGUAGE", "en")
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", "postgresql://u:hunter2@db.example:5432/wh")
    s = load_settings()
    assert s.rules.no_visit_days == 21
    assert s.language == "en"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
    assert s.warehouse_url is not None
    assert s.warehouse_url.get_secret_value().endswith("/wh")


def test_config_file_is_read_and_env_wins(review_home, monkeypatch):
    from review_pipeline.settings import load_settings

    (review_home / "config.toml").write_text(
        'language = "en"\n[reports]\ntop_n = 7\n[rules]\nno_visit_days = 40\n', encoding="utf-8"
    )
    monkeypatch.setenv("REVIEW_RULES__NO_VISIT_DAYS", "35")
    s = load_settings()
    assert s.reports.top_n == 7
    assert s.language == "en"
    assert s.rules.no_visit_days == 35  # the environment beats the file


def test_settings_are_built_at_call_time(review_home, monkeypatch):
    from review_pipeline.settings import load_settings

    assert load_settings().language == "zh-CN"
    monkeypatch.setenv("REVIEW_LANGUAGE", "en")
    assert load_settings().language == "en"


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("REVIEW_LANGUAGE", "fr", "language"),
        ("REVIEW_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("REVIEW_REPORTS__TOP_N", "many", "top_n"),
    ],
)
def test_bad_values_name_the_setting(review_home, monkeypatch, var, value, fragment):
    from review_pipeline.settings import load_settings

    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError, match=fragment):
        load_settings()


def test_missing_named_config_file_is_a_clear_error(review_home, monkeypatch, tmp_path):
    from review_pipeline.settings import load_settings

    monkeypatch.setenv("REVIEW_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        load_settings()
