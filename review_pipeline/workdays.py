"""Mainland China working days, including weekend make-up working days (调休).

Backed by the ``chinese-calendar`` package, which knows each year once the
State Council has published its holiday schedule (2004 to its newest year).
For a year it does not know, the defined fallback is "Monday to Friday", with
one warning per year in the run log, so a pipeline never stops on New Year's
Day waiting for a package release.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

log = logging.getLogger(__name__)

_warned_years: set[int] = set()


@lru_cache(maxsize=1)
def known_years() -> tuple[int, int]:
    """The first and last year the calendar package has statutory data for."""
    years = sorted(
        {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    )
    return years[0], years[-1]


def year_is_known(year: int) -> bool:
    first, last = known_years()
    return first <= year <= last


@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    """True on a statutory working day: weekdays that are not holidays, plus 调休 weekends."""
    if year_is_known(day.year):
        return bool(chinese_calendar.is_workday(day))
    if day.year not in _warned_years:
        _warned_years.add(day.year)
        log.warning(
            "no statutory holiday data for %s in chinese-calendar %s; counting Monday-Friday as working days"
            " (upgrade the package once the State Council publishes the schedule)",
            day.year,
            getattr(chinese_calendar, "__version__", "?"),
        )
    return day.weekday() < 5


def holiday_name(day: date) -> str | None:
    """The statutory holiday's English name on ``day`` (e.g. 'Spring Festival'), if any."""
    if not year_is_known(day.year):
        return None
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return str(name) if on_holiday and name else None


def is_makeup_working_day(day: date) -> bool:
    """A Saturday or Sunday that is a working day (调休)."""
    return day.weekday() >= 5 and is_working_day(day)


def working_days(start: date, end: date) -> list[date]:
    """Working days from ``start`` to ``end`` inclusive."""
    return [
        start + timedelta(days=i)
        for i in range((end - start).days + 1)
        if is_working_day(start + timedelta(days=i))
    ]


def count_working_days(start: date, end: date) -> int:
    """Number of working days from ``start`` to ``end`` inclusive (0 when end < start)."""
    if end < start:
        return 0
    return len(working_days(start, end))


def add_working_days(day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (n >= 1); ``day`` itself does not count."""
    if n < 1:
        raise ValueError("n must be at least 1")
    current = day
    while n:
        current += timedelta(days=1)
        if is_working_day(current):
            n -= 1
    return current


def previous_working_day(day: date) -> date:
    current = day - timedelta(days=1)
    while not is_working_day(current):
        current -= timedelta(days=1)
    return current
