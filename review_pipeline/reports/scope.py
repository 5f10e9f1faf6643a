"""Read a report's rows for one scope of the org (default deny).

A scope is the whole company, a region, a team, a salesperson, or a manager
(everyone under them on the review date, ``dw.org_scope``). Rows outside the
scope are never returned; an unknown or empty scope returns no rows.

Aggregated reports keep one row per org level. For a manager, a TEAM, REGION
or COMPANY row is returned only when every salesperson row it adds up (in that
report, date and business unit) belongs to someone under the manager, so the
totals a manager sees never include anybody outside their scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa

from review_pipeline.db import warehouse_engine
from review_pipeline.reports.catalog import Report, get_report
from review_pipeline.settings import Settings

ScopeKind = Literal["company", "region", "team", "person", "manager"]
SCOPE_KINDS: tuple[str, ...] = ("company", "region", "team", "person", "manager")


@dataclass(frozen=True)
class Scope:
    """A part of the org: ``Scope("region", "EAST")``, ``Scope.company()``."""

    kind: str
    key: str | None = None

    @classmethod
    def company(cls) -> Scope:
        return cls("company")

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        """``company`` / ``all`` or ``KIND:KEY`` (region, team, person, manager).

        Anything else gives a scope that selects nothing.
        """
        if text is None:
            return cls("none")
        text = text.strip()
        if text.lower() in ("company", "all"):
            return cls.company()
        kind, sep, key = text.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in SCOPE_KINDS or kind == "company":
            return cls("none", text)
        return cls(kind, key.strip())

    @property
    def is_valid(self) -> bool:
        if self.kind == "company":
            return True
        return self.kind in SCOPE_KINDS and bool(self.key)

    def __str__(self) -> str:
        return "company" if self.kind == "company" else f"{self.kind}:{self.key}"


# a region by its code or its name
_REGION = (
    "(t.region_code = :key"
    " or t.region_code in (select r.region_code from dw.dim_region as r where r.name = :key))"
)


def _level_filter(report: Report, scope: Scope) -> tuple[str, str]:
    """(extra CTEs, where-clause) selecting a level report's rows in ``scope``."""
    if scope.kind == "company":
        return "", "true"
    if scope.kind == "region":
        return "", f"{_REGION} and t.level in ('REGION', 'TEAM', 'PERSON')"
    if scope.kind == "team":
        return "", "t.team_id = :key and t.level in ('TEAM', 'PERSON')"
    if scope.kind == "person":
        return "", "t.owner_id = :key and t.level = 'PERSON'"
    # manager: people under them, and the aggregates made only of such people
    ctes = f"""
        people as (select o.employee_id from dw.org_scope(:key, :review_date) as o),
        persons as (
            select
                p.business_unit, p.region_code, p.team_id,
                coalesce(p.owner_id in (select employee_id from people), false) as inside
            from mart.{report.table} as p
            where p.review_date = :review_date and p.level = 'PERSON'
        ),
        teams as (
            select business_unit, team_id from persons
            where team_id is not null group by business_unit, team_id having bool_and(inside)
        ),
        regions as (
            select business_unit, region_code from persons
            where region_code is not null group by business_unit, region_code having bool_and(inside)
        ),
        units as (select business_unit from persons group by business_unit having bool_and(inside)),
    """
    where = """(
        (t.level = 'PERSON' and t.owner_id in (select employee_id from people))
        or (t.level = 'TEAM' and (t.business_unit, t.team_id) in (select business_unit, team_id from teams))
        or (t.level = 'REGION'
            and (t.business_unit, t.region_code) in (select business_unit, region_code from regions))
        or (t.level = 'COMPANY' and t.business_unit in (select business_unit from units))
    )"""
    return ctes, where


def _row_filter(scope: Scope) -> tuple[str, str]:
    """(extra CTEs, where-clause) for per-lead / per-invoice reports."""
    if scope.kind == "company":
        return "", "true"
    if scope.kind == "region":
        return "", _REGION
    if scope.kind == "team":
        return "", "t.team_id = :key"
    if scope.kind == "person":
        return "", "t.owner_id = :key"
    ctes = "people as (select o.employee_id from dw.org_scope(:key, :review_date) as o),"
    return ctes, "t.owner_id in (select employee_id from people)"


def scope_query(report: Report, scope: Scope, *, bu: str | None, top_n: int) -> sa.TextClause:
    """The query for ``report`` in ``scope`` (values bound: review_date, key, bu, top_n)."""
    if report.grain == "level":
        ctes, where = _level_filter(report, scope)
    else:
        ctes, where = _row_filter(scope)
    bu_filter = "and t.business_unit = :bu" if bu else ""
    order = ", ".join(report.order_by)
    if report.top_list:
        # the scope's own TOP N: ranked after the scope is applied
        body = f"""
            scoped as (
                select t.*, row_number() over (
                    partition by t.business_unit, t.list_code
                    order by t.amount_cny desc nulls last, t.lead_id
                ) as rank
                from mart.{report.table} as t
                where t.review_date = :review_date {bu_filter} and {where}
            )
            select * from scoped where rank <= :top_n order by {order}
        """
    else:
        body = f"""
            scoped as (
                select t.* from mart.{report.table} as t
                where t.review_date = :review_date {bu_filter} and {where}
            )
            select * from scoped order by {order}
        """
    return sa.text(f"with {ctes} {body}")


def report_rows(
    settings: Settings,
    report: Report | str,
    review_date: date,
    *,
    bu: str | None = None,
    scope: Scope | None = None,
    top_n: int | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``report`` for ``review_date`` inside ``scope`` (company when None).

    Args:
        report: a :class:`Report` or its name (``region-ytd``, ``R1``, table name).
        bu: only this business unit (``INFO`` / ``SOFT``).
        top_n: TOP list length (default ``settings.reports.top_n``).

    Returns:
        One dict per row, columns as in the mart table (TOP lists add ``rank``
        within the scope). An invalid or empty scope returns ``[]``.
    """
    chosen = get_report(report) if isinstance(report, str) else report
    scope = scope if scope is not None else Scope.company()
    if not scope.is_valid:
        return []
    clause = scope_query(chosen, scope, bu=bu, top_n=top_n or settings.reports.top_n)
    params: dict[str, Any] = {
        "review_date": review_date,
        "key": scope.key,
        "bu": bu,
        "top_n": top_n or settings.reports.top_n,
    }
    wanted = {k: v for k, v in params.items() if k in clause._bindparams}
    with warehouse_engine(settings).connect() as conn:
        return [dict(row) for row in conn.execute(clause, wanted).mappings()]


def review_dates(settings: Settings, report: Report | str) -> list[date]:
    """The review dates a report has rows for, newest first."""
    chosen = get_report(report) if isinstance(report, str) else report
    with warehouse_engine(settings).connect() as conn:
        return list(
            conn.execute(
                sa.text(f"select distinct review_date from mart.{chosen.table} order by 1 desc")
            ).scalars()
        )
