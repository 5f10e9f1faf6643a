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


TRY_CASES = [
    ("try_date", "2026-02-28", "2026-02-28"),
    ("try_date", "2024-02-29", "2024-02-29"),  # leap year: valid
    ("try_date", "2026-02-29", None),  # not a leap year
    ("try_date", "2026-04-31", None),
    ("try_date", "2026-13-01", None),
    ("try_date", "31/01/2026", None),
    ("try_date", "2000-02-29", "2000-02-29"),  # divisible by 400: leap
    ("try_date", "1900-02-29", None),  # divisible by 100 only: not leap
    ("try_date", "2026-12-31", "2026-12-31"),
    ("try_date", "2026-06-31", None),
    ("try_date", "2026-07-31", "2026-07-31"),
    ("try_date", "0000-01-01", None),  # no year 0: once an error that failed the batch
    ("try_money", "1234.565", "1234.57"),  # rounded half away from zero to cents
    ("try_money", "-12", "-12.00"),
    ("try_money", "1e5", None),  # exponent notation is not an amount here
    ("try_money", "12,000", None),  # separators are the file reader's job
    ("try_int", "2026", "2026"),
    ("try_int", "20.5", None),
    ("try_timestamptz", "2026-03-02 09:30:00+08", "2026-03-02 09:30:00+08"),
    ("try_timestamptz", "2026-02-30 09:30:00", None),
    ("try_timestamptz", "2026-03-02 24:00:00", None),
    ("try_timestamptz", "2024-02-29T23:59:59.5Z", "2024-03-01 07:59:59.5+08"),
    ("try_timestamptz", "2026-01-31 10:00+0800", "2026-01-31 10:00:00+08"),
    ("try_timestamptz", "2026-09-31 10:00", None),
    ("try_timestamptz", "2026-03-02 10:00+15:59", "2026-03-02 02:01:00+08"),
    ("try_timestamptz", "2026-03-02 10:00+16", None),  # once an error that failed the batch
    ("try_timestamptz", "0000-03-02 10:00", None),  # once an error that failed the batch
]


@pytest.mark.integration
def test_try_casts(warehouse):
    """Every case on one migrated warehouse (a fresh one per case cost a second each)."""
    got = []
    with warehouse.connect() as conn:
        conn.execute(sa.text("set timezone = 'Asia/Shanghai'"))
        for function, value, _expected in TRY_CASES:
            got.append(
                conn.execute(
                    sa.text(f"select staging.{function}(:v)::text"),  # name from TRY_CASES
                    {"v": value},
                ).scalar()
            )
    assert got == [expected for _f, _v, expected in TRY_CASES]
