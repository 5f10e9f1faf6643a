"""Business-time helpers: Asia/Shanghai timestamps and working-day moves."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from review_pipeline import workdays

TZ = ZoneInfo("Asia/Shanghai")


_MIDNIGHT: dict[date, datetime] = {}
_WORKING: dict[date, bool] = {}


def at(day: date, minute: int) -> datetime:
    """``day`` at ``minute`` minutes after midnight, Asia/Shanghai (may spill into the next day)."""
    midnight = _MIDNIGHT.get(day)
    if midnight is None:
        midnight = _MIDNIGHT[day] = datetime.combine(day, time(0), TZ)
    return midnight + timedelta(minutes=minute)


def work_minute(rng: random.Random) -> int:
    """A minute within working hours, 08:40-18:30, fewer at lunch."""
    u = rng.random()
    if u < 0.1:
        return 12 * 60 + int(u * 900)  # 12:00-13:30
    if u < 0.5:
        return 8 * 60 + 40 + int((u - 0.1) * 2.5 * 200)  # 08:40-12:00
    return 13 * 60 + 30 + int((u - 0.5) * 2 * 300)  # 13:30-18:30


def is_working_day(day: date) -> bool:
    """The statutory calendar where it is known; Monday-Friday (silently) past its last year.

    The simulator plans events years ahead (future collections, tenures); only
    days up to the as-of day are ever written, and the CLI refuses a span that
    reaches past the calendar's known years unless told otherwise.
    """
    known = _WORKING.get(day)
    if known is None:
        if workdays.year_is_known(day.year):
            known = workdays.is_working_day(day)
        else:
            known = day.weekday() < 5
        _WORKING[day] = known
    return known


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def prev_working_day_on_or_before(day: date, floor: date) -> date:
    """The last working day <= ``day`` and >= ``floor``; ``day`` when there is none."""
    current = day
    while current >= floor:
        if is_working_day(current):
            return current
        current -= timedelta(days=1)
    return day


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, n: int) -> date:
    month = day.month - 1 + n
    return date(day.year + month // 12, month % 12 + 1, 1)


_DAY_TEXT: dict[date, str] = {}
_MINUTE_TEXT = [f"{m // 60:02d}:{m % 60:02d}:00+08" for m in range(24 * 60)]


def ts_text(day: date, minute: int) -> str:
    """The same instant as :func:`at`, already in PostgreSQL's text form (fast COPY)."""
    if minute >= 24 * 60:
        day += timedelta(days=minute // (24 * 60))
        minute %= 24 * 60
    text = _DAY_TEXT.get(day)
    if text is None:
        text = _DAY_TEXT[day] = day.isoformat()
    return text + " " + _MINUTE_TEXT[minute]
