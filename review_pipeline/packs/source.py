"""What a pack build reads: the managers, the data's as-of time, and every
report's rows partitioned by manager.

Each report is read ONCE per build: one query joins the report's rows for the
review date to the org closure and returns them tagged with the manager whose
scope they are in, ordered by manager. A row under three levels of managers
comes back three times, once per manager. The build walks the streams of all
reports side by side, one manager at a time, so memory stays flat however
many managers there are.

The partition follows exactly the rules of
:func:`review_pipeline.reports.scope.report_rows` for ``Scope("manager", M)``
(default deny): the PERSON rows (or per-lead / per-invoice rows) of everyone
under M on the review date (``dw.org_scope`` semantics, M included), and a
TEAM / REGION / COMPANY row only when every PERSON row it adds up (same
report, date and business unit) is under M. ``tests/packs`` checks the two
formulations against each other for every manager and every report.

As in ``reports.scope``, table names come from the report catalog and every
value is a bind parameter.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from review_pipeline.db import raw_psycopg, read_sql
from review_pipeline.packs.caps import ROW_CAPS
from review_pipeline.reports.catalog import Report

MANAGER_COLUMN = "pack_manager_id"
COUNT_COLUMN = "pack_rows"
RANK_COLUMN = "pack_rank"  # a capped read's importance rank (packs.caps)
_PACK_COLUMNS = (MANAGER_COLUMN, COUNT_COLUMN, RANK_COLUMN)


@dataclass(frozen=True)
class Manager:
    """A manager of the review period and their scope on the review date."""

    manager_id: str
    name: str | None
    email: str | None
    is_active: bool
    role: str | None
    people: int  # people under them on the review date (not counting themselves)
    scope_level: str | None  # team | region | business_unit | company | None (no scope)
    unit_label: str | None  # the team / region / business unit name

    @property
    def has_scope(self) -> bool:
        return self.people > 0


def load_managers(
    conn: sa.Connection, review_date: date, period_start: date, manager_id: str | None = None
) -> list[Manager]:
    """The managers of the period (or just ``manager_id``), sorted by id (code point order)."""
    rows = conn.execute(
        sa.text(read_sql("packs/pack_managers.sql")),
        {"review_date": review_date, "period_start": period_start, "manager_id": manager_id},
    ).mappings()
    managers = [Manager(**dict(r)) for r in rows]
    return sorted(managers, key=lambda m: m.manager_id)


def data_as_of(conn: sa.Connection, review_date: date, timezone: str) -> tuple[datetime, bool]:
    """(when the data was taken, whether that is known) in ``timezone``.

    Known: the end of the latest successful extraction up to the review date.
    Unknown (nothing extracted): the end of the review date, flagged False.
    """
    zone = ZoneInfo(timezone)
    found = conn.execute(
        sa.text(read_sql("packs/pack_data_as_of.sql")), {"review_date": review_date}
    ).scalar()
    if found is not None:
        return found.astimezone(zone).replace(microsecond=0), True
    return datetime.combine(review_date + timedelta(days=1), time(0), tzinfo=zone), False


def names_query() -> sa.TextClause:
    """Region, team and employee names on the review date (for the name columns)."""
    return sa.text(
        "select 'region' as kind, region_code as code, name from dw.dim_region"
        " union all select 'team', team_id, name from dw.dim_team"
        " union all select 'employee', employee_id, name from dw.employee_on(:review_date)"
        " union all select 'product_line', product_line_code, name from dw.dim_product_line"
    )


_PEOPLE = """
    people as (
        select distinct c.ancestor_id as manager_id, c.descendant_id as employee_id
        from dw.dim_employee_org_closure as c
        where c.ancestor_id = any(:manager_ids)
          and c.valid_from <= :review_date and c.valid_to > :review_date
    )"""


def _level_scoped(table: str) -> str:
    """CTEs ending in ``scoped``: the level report's rows of every manager."""
    return f"""{_PEOPLE},
    persons as (
        select p.business_unit, p.region_code, p.team_id, p.owner_id
        from mart.{table} as p
        where p.review_date = :review_date and p.level = 'PERSON'
    ),
    inside as (
        select pe.manager_id, p.business_unit, p.region_code, p.team_id
        from persons as p join people as pe on pe.employee_id = p.owner_id
    ),
    team_totals as (
        select business_unit, team_id, count(*) as n from persons
        where team_id is not null group by business_unit, team_id
    ),
    teams as (
        select i.manager_id, i.business_unit, i.team_id
        from inside as i
        join team_totals as t on t.business_unit = i.business_unit and t.team_id = i.team_id
        group by i.manager_id, i.business_unit, i.team_id, t.n
        having count(*) = t.n
    ),
    region_totals as (
        select business_unit, region_code, count(*) as n from persons
        where region_code is not null group by business_unit, region_code
    ),
    regions as (
        select i.manager_id, i.business_unit, i.region_code
        from inside as i
        join region_totals as t
            on t.business_unit = i.business_unit and t.region_code = i.region_code
        group by i.manager_id, i.business_unit, i.region_code, t.n
        having count(*) = t.n
    ),
    unit_totals as (
        select business_unit, count(*) as n from persons group by business_unit
    ),
    units as (
        select i.manager_id, i.business_unit
        from inside as i join unit_totals as t on t.business_unit = i.business_unit
        group by i.manager_id, i.business_unit, t.n
        having count(*) = t.n
    ),
    scoped as (
        select pe.manager_id as {MANAGER_COLUMN}, t.*
        from mart.{table} as t join people as pe on pe.employee_id = t.owner_id
        where t.review_date = :review_date and t.level = 'PERSON'
        union all
        select s.manager_id, t.*
        from mart.{table} as t
        join teams as s on s.business_unit = t.business_unit and s.team_id = t.team_id
        where t.review_date = :review_date and t.level = 'TEAM'
        union all
        select s.manager_id, t.*
        from mart.{table} as t
        join regions as s on s.business_unit = t.business_unit and s.region_code = t.region_code
        where t.review_date = :review_date and t.level = 'REGION'
        union all
        select s.manager_id, t.*
        from mart.{table} as t join units as s on s.business_unit = t.business_unit
        where t.review_date = :review_date and t.level = 'COMPANY'
    )"""


def _row_scoped(table: str, top_list: bool) -> str:
    """CTEs ending in ``scoped``: the per-lead / per-invoice rows of every manager."""
    if not top_list:
        return f"""{_PEOPLE},
    scoped as (
        select pe.manager_id as {MANAGER_COLUMN}, t.*
        from mart.{table} as t join people as pe on pe.employee_id = t.owner_id
        where t.review_date = :review_date
    )"""
    # each manager's own TOP N, ranked after the scope is applied (as report_rows does)
    return f"""{_PEOPLE},
    ranked as (
        select pe.manager_id as {MANAGER_COLUMN}, t.*, row_number() over (
            partition by pe.manager_id, t.business_unit, t.list_code
            order by t.amount_cny desc nulls last, t.lead_id
        ) as rank
        from mart.{table} as t join people as pe on pe.employee_id = t.owner_id
        where t.review_date = :review_date
    ),
    scoped as (select * from ranked where rank <= :top_n)"""


def partition_query(report: Report, *, capped: bool = False) -> sa.TextClause:
    """Every manager's rows of ``report``, ordered by manager then the report's order.

    Binds: ``review_date``, ``manager_ids`` (a list), ``top_n`` for TOP lists,
    ``row_cap`` when ``capped``.
    Adds :data:`MANAGER_COLUMN` and :data:`COUNT_COLUMN` (the manager's row
    count, before any cap).

    ``capped`` (a report of :data:`review_pipeline.packs.caps.ROW_CAPS`): each
    manager's rows are ranked by importance in the database and only the first
    ``row_cap`` are returned (:data:`RANK_COLUMN` is their rank); a manager
    with more rows than the cap gets them in importance order, one within the
    cap in the report's order, exactly as without a cap.
    """
    if report.grain == "level":
        ctes = _level_scoped(report.table)
    else:
        ctes = _row_scoped(report.table, report.top_list)
    order = ", ".join(report.order_by)
    if not capped:
        return sa.text(
            f"with {ctes}\n"
            f"select s.*, count(*) over (partition by s.{MANAGER_COLUMN}) as {COUNT_COLUMN}\n"
            f"from scoped as s\n"
            f'order by s.{MANAGER_COLUMN} collate "C", {order}'
        )
    relevance = ", ".join(ROW_CAPS[report.name].relevance)
    return sa.text(
        f"with {ctes},\n"
        f"    counted as (\n"
        f"        select s.*,\n"
        f"            count(*) over (partition by s.{MANAGER_COLUMN}) as {COUNT_COLUMN},\n"
        f"            row_number() over (partition by s.{MANAGER_COLUMN} order by {relevance})"
        f" as {RANK_COLUMN}\n"
        f"        from scoped as s\n"
        f"    )\n"
        f"select c.* from counted as c where c.{RANK_COLUMN} <= :row_cap\n"
        f'order by c.{MANAGER_COLUMN} collate "C",'
        f" case when c.{COUNT_COLUMN} > :row_cap then c.{RANK_COLUMN} end, {order}"
    )


class ManagerStream:
    """One report's partitioned rows, consumed one manager at a time.

    Managers must be asked for in code point order of their ids (the order
    the query sorts by, ``collate "C"``); rows of a manager nobody asks for
    are skipped.
    """

    def __init__(self, rows: Iterator[Sequence[Any]], keys: Sequence[str]) -> None:
        """``rows``: tuples with the query's ``keys`` (the pack columns among them)."""
        keys = list(keys)
        self._rows = iter(rows)
        self._manager = keys.index(MANAGER_COLUMN)
        self._count = keys.index(COUNT_COLUMN)
        data = [i for i, k in enumerate(keys) if k not in _PACK_COLUMNS]
        self._names = [keys[i] for i in data]
        # itemgetter of two or more indexes returns a tuple; a single index is
        # repeated so it does too (zip stops at the one name)
        self._pick = operator.itemgetter(*data, *data[:1] if len(data) == 1 else ())
        self._next: Sequence[Any] | None = None
        self._done = False
        self._advance()

    def _advance(self) -> None:
        try:
            self._next = next(self._rows)
        except StopIteration:
            self._next = None
            self._done = True

    def count_for(self, manager_id: str) -> int:
        """How many rows ``manager_id`` has (0 when none); skips earlier managers."""
        m = self._manager
        while self._next is not None and self._next[m] < manager_id:
            self._advance()
        if self._next is not None and self._next[m] == manager_id:
            return int(self._next[self._count])
        return 0

    def rows_for(self, manager_id: str) -> Iterator[dict[str, Any]]:
        """Yield ``manager_id``'s rows as dicts (without the pack columns)."""
        self.count_for(manager_id)
        m, names, pick = self._manager, self._names, self._pick
        while self._next is not None and self._next[m] == manager_id:
            row = self._next
            self._advance()
            yield dict(zip(names, pick(row), strict=False))


def open_streams(
    conn: sa.Connection,
    reports: Sequence[Report],
    review_date: date,
    manager_ids: Sequence[str],
    *,
    top_n: int,
    caps: Mapping[str, int] | None = None,
    batch_rows: int = 2000,
) -> dict[str, ManagerStream]:
    """Open one server-side cursor per report on ``conn`` (inside its transaction).

    The cursors are psycopg's own (named, on the driver connection under
    ``conn``, so in its transaction and snapshot): rows come as plain tuples,
    without SQLAlchemy's per-row objects (a third of the read's client time).

    ``caps``: report name -> the most rows a manager's sheet shows
    (:func:`review_pipeline.packs.caps.row_caps`); the database returns no more.
    """
    streams: dict[str, ManagerStream] = {}
    caps = caps or {}
    driver = raw_psycopg(conn)
    for number, report in enumerate(reports):
        cap = int(caps.get(report.name, 0)) if report.name in ROW_CAPS else 0
        params = {
            "review_date": review_date,
            "manager_ids": list(manager_ids),
            "top_n": top_n,
            "row_cap": cap,
        }
        clause = partition_query(report, capped=cap > 0)
        compiled = clause.compile(dialect=conn.dialect)
        wanted = {k: v for k, v in params.items() if k in clause._bindparams}
        cursor = driver.cursor(name=f"packs_{number}")
        cursor.itersize = batch_rows
        cursor.execute(str(compiled), wanted)
        keys = [column.name for column in cursor.description or ()]
        streams[report.name] = ManagerStream(iter(cursor), keys)
    return streams
