from __future__ import annotations

import logging
from datetime import date

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday made a working day for Spring Festival (调休)
        (date(2026, 2, 28), True),  # second make-up Saturday of Spring Festival 2026
        (date(2026, 2, 16), False),  # Spring Festival holiday (a Monday)
        (date(2026, 2, 17), False),  # 春节 itself
        (date(2026, 2, 20), False),
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 9, 20), True),  # Sunday made a working day for National Day
        (date(2026, 11, 27), True),  # an ordinary Friday
        (date(2026, 11, 28), False),  # an ordinary Saturday
    ],
)
def test_statutory_calendar(day, working):
    from review_pipeline.workdays import is_working_day

    assert is_working_day(day) is working


def test_makeup_day_and_holiday_name():
    from review_pipeline.workdays import holiday_name, is_makeup_working_day

    assert is_makeup_working_day(date(2026, 2, 14))
    assert not is_makeup_working_day(date(2026, 2, 13))  # an ordinary Friday
    assert holiday_name(date(2026, 2, 17)) == "Spring Festival"
    assert holiday_name(date(2026, 2, 14)) is None


def test_counting_and_adding_working_days():
    from review_pipeline.workdays import add_working_days, count_working_days, previous_working_day

    # Feb 2026: 20 weekdays, minus Spring Festival weekdays 16-20 and 23 (5 + 1),
    # plus the make-up Saturdays 14 and 28 -> 20 - 6 + 2 = 16
    assert count_working_days(date(2026, 2, 1), date(2026, 2, 28)) == 16
    assert count_working_days(date(2026, 2, 2), date(2026, 2, 1)) == 0
    # Friday 13 Feb + 1 working day is the make-up Saturday 14 Feb
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    # Saturday 14 Feb + 1 skips the whole holiday to Tuesday 24 Feb
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert previous_working_day(date(2026, 2, 24)) == date(2026, 2, 14)


def test_unknown_year_falls_back_to_weekdays_with_one_warning(caplog):
    from review_pipeline import workdays

    first, last = workdays.known_years()
    assert first <= 2026 <= last
    unknown = last + 1
    workdays._warned_years.discard(unknown)
    workdays.is_working_day.cache_clear()
    monday = date(unknown, 3, 1)
    while monday.weekday() != 0:
        monday = date(unknown, 3, monday.day + 1)
    with caplog.at_level(logging.WARNING, logger="review_pipeline.workdays"):
        assert workdays.is_working_day(monday)
        assert not workdays.is_working_day(date(unknown, 3, monday.day + 5))  # Saturday
    warnings = [r for r in caplog.records if "no statutory holiday data" in r.getMessage()]
    assert len(warnings) == 1
