"""The SQL generated from the canonical model matches the committed migration, and casts judge values."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.unit
def test_committed_raw_crm_ddl_is_the_generated_one():
    from review_pipeline.sources.sqlgen import all_raw_crm_ddl

    committed = (ROOT / "sql" / "migrations" / "0006_extraction.sql").read_text(encoding="utf-8")
    assert all_raw_crm_ddl() in committed


@pytest.mark.unit
def test_committed_raw_crm_perf_ddl_is_the_generated_one():
    from review_pipeline.sources.sqlgen import all_raw_crm_perf_ddl

    committed = (ROOT / "sql" / "migrations" / "0010_extract_perf.sql").read_text(encoding="utf-8")
    assert all_raw_crm_perf_ddl() in committed


@pytest.mark.integration
@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        ("try_date", "2026-02-28", "2026-02-28"),
        ("try_date", "2024-02-29", "2024-02-29"),  # leap year: valid
        ("try_date", "2026-02-29", None),  # not a leap year
        ("try_date", "2026-04-31", None),
        ("try_date", "2026-13-01", None),
        ("try_date", "31/01/2026", None),
        ("try_money", "1234.565", "1234.57"),  # rounded half away from zero to cents
        ("try_money", "-12", "-12.00"),
        ("try_money", "1e5", None),  # exponent notation is not an amount here
        ("try_money", "12,000", None),  # separators are the file reader's job
        ("try_int", "2026", "2026"),
        ("try_int", "20.5", None),
        ("try_timestamptz", "2026-03-02 09:30:00+08", "2026-03-02 09:30:00+08"),
        ("try_timestamptz", "2026-02-30 09:30:00", None),
        ("try_timestamptz", "2026-03-02 24:00:00", None),
    ],
)
def test_try_casts(warehouse, function, value, expected):
    with warehouse.connect() as conn:
        conn.execute(sa.text("set timezone = 'Asia/Shanghai'"))
        got = conn.execute(
            sa.text(f"select staging.{function}(:v)::text"),  # function name from the list above
            {"v": value},
        ).scalar()
    assert got == expected
