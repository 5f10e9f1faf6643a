"""Rows of ``dw.dim_date``: ISO weeks, months, quarters, Chinese labels and working days."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

from review_pipeline import workdays

WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# The span every build makes sure dim_date covers (event dates outside it fail
# the facts' foreign key with a readable error rather than silently vanish).
SPAN_START = date(2010, 1, 1)
SPAN_END = date(2035, 12, 31)


@dataclass(frozen=True, slots=True)
class DateRow:
    date_key: date
    year: int
    year_label_zh: str
    quarter: int
    quarter_label_zh: str
    month: int
    month_start: date
    month_label_zh: str
    iso_year: int
    iso_week: int
    iso_week_label: str
    week_start: date
    day_of_month: int
    iso_day_of_week: int
    weekday_label_zh: str
    is_weekend: bool
    is_working_day: bool
    is_makeup_working_day: bool
    holiday_name: str | None
    is_month_end: bool
    calendar_known: bool


COLUMNS: tuple[str, ...] = ()  # filled below, in DateRow's field order


def date_row(day: date) -> DateRow:
    """The calendar attributes of one day.

    Years the statutory calendar does not know count Monday-Friday as working
    days (the fallback of :mod:`review_pipeline.workdays`), flagged
    ``calendar_known = False`` so a later build corrects them once it knows.
    """
    iso_year, iso_week, iso_dow = day.isocalendar()
    quarter = (day.month - 1) // 3 + 1
    known = workdays.year_is_known(day.year)
    weekend = iso_dow >= 6
    working = workdays.is_working_day(day) if known else not weekend
    return DateRow(
        date_key=day,
        year=day.year,
        year_label_zh=f"{day.year}年",
        quarter=quarter,
        quarter_label_zh=f"{day.year}年第{quarter}季度",
        month=day.month,
        month_start=day.replace(day=1),
        month_label_zh=f"{day.year}年{day.month}月",
        iso_year=iso_year,
        iso_week=iso_week,
        iso_week_label=f"{iso_year}-W{iso_week:02d}",
        week_start=day - timedelta(days=iso_dow - 1),
        day_of_month=day.day,
        iso_day_of_week=iso_dow,
        weekday_label_zh=WEEKDAYS_ZH[iso_dow - 1],
        is_weekend=weekend,
        is_working_day=working,
        is_makeup_working_day=weekend and working,
        holiday_name=workdays.holiday_name(day) if known and not working else None,
        is_month_end=(day + timedelta(days=1)).day == 1,
        calendar_known=known,
    )


def span_for(business_date: date) -> tuple[date, date]:
    """The date span dim_date must cover for a build of ``business_date``."""
    start = min(SPAN_START, date(business_date.year - 5, 1, 1))
    end = max(SPAN_END, date(business_date.year + 5, 12, 31))
    return start, end


def date_rows(start: date, end: date) -> list[tuple[object, ...]]:
    """Every day from ``start`` to ``end`` inclusive as tuples in column order."""
    rows = (date_row(start + timedelta(days=i)) for i in range((end - start).days + 1))
    return [tuple(getattr(row, name) for name in COLUMNS) for row in rows]


COLUMNS = tuple(f.name for f in fields(DateRow))
