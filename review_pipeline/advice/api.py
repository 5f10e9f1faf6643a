"""Read the advice of a review date for one scope: ranked items with their memory.

``advice_for(settings, review_date, scope)`` is what the packs, the e-mail and
the CLI call (docs/advice.md).

Scopes (default deny, as in :mod:`review_pipeline.reports.scope`):

* items about a salesperson or their lead or invoice (``grain = 'owner'``) are
  visible where the owner is: region / team on the review date, the person,
  or everyone under a manager on the review date (``dw.org_scope``);
* items about an org unit (``grain = 'unit'``: a region, team or person's
  attainment or reservoir) are shown at the top-most level inside the scope:
  company -> regions, ``region:R`` -> R, ``team:T`` -> T, ``person:P`` -> P,
  ``manager:M`` -> each region whose every salesperson (in the R2/R4/R5 rows
  of the date) is under M, else each such team, else the people under M;
* RED TOP project items (A03) only for leads in the scope's own TOP lists
  (the TOP N the pack's R3 sheet shows).

Memory: an item is identified by (rule, subject key). ``since`` is the first
review date of the unbroken run of built review dates (``mart.advice_run``)
holding it, up to this one (stored as ``since_date`` by the build, which
recomputes it for later dates too, so the build order does not matter); an
item present at the previous built review date and absent now is
``resolved`` (derived here).

Ranking: money at stake (descending), then severity (high, medium, low), then
rule id and subject key. Resolved items follow all current items.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from review_pipeline.advice.actions import action_text
from review_pipeline.advice.rules import SEVERITY_RANK
from review_pipeline.db import warehouse_engine
from review_pipeline.packs.naming import week_label as iso_week
from review_pipeline.reports.scope import Scope
from review_pipeline.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdviceItem:
    """One action item, as the packs and the e-mail show it.

    The first twelve fields are the contract with the packs; the rest are
    extra context (identity, org keys, dates).
    """

    rule_id: str
    severity: str
    subject_kind: str
    subject_id: str
    subject_name: str
    action: str
    evidence: dict[str, Any]
    stake_cny: float
    sheet: str
    row_key: dict[str, Any]
    since: str
    status: str
    since_date: date | None = None
    review_date: date | None = None
    business_unit: str = ""
    subject_key: str = ""
    level: str = ""
    region_code: str | None = None
    team_id: str | None = None
    owner_id: str | None = None


# a region by its code or its name
_REGION = (
    "(i.region_code = :key"
    " or i.region_code in (select r.region_code from dw.dim_region as r where r.name = :key))"
)

_MEMBERS = """
    members as (
        select m.business_unit, m.region_code, m.team_id, m.owner_id
        from mart.rpt_team_month_attainment as m
        where m.review_date = :review_date and m.level = 'PERSON'
        union
        select m.business_unit, m.region_code, m.team_id, m.owner_id
        from mart.rpt_region_month_attainment as m
        where m.review_date = :review_date and m.level = 'PERSON'
        union
        select m.business_unit, m.region_code, m.team_id, m.owner_id
        from mart.rpt_reservoir as m
        where m.review_date = :review_date and m.level = 'PERSON'
    ),
    flagged as (
        select
            m.*, coalesce(m.owner_id in (select p.employee_id from people as p), false) as inside
        from members as m
    ),
    in_teams as (
        select f.business_unit, f.team_id from flagged as f
        where f.team_id is not null group by f.business_unit, f.team_id having bool_and(f.inside)
    ),
    in_regions as (
        select f.business_unit, f.region_code from flagged as f
        where f.region_code is not null
        group by f.business_unit, f.region_code having bool_and(f.inside)
    ),
"""

_MANAGER_UNIT = """(
    (i.level = 'REGION' and exists (
        select 1 from in_regions as r
        where r.business_unit = i.business_unit and r.region_code = i.region_code))
    or (i.level = 'TEAM'
        and exists (
            select 1 from in_teams as t where t.business_unit = i.business_unit and t.team_id = i.team_id)
        and not exists (
            select 1 from in_regions as r
            where r.business_unit = i.business_unit and r.region_code = i.region_code))
    or (i.level = 'PERSON'
        and i.owner_id in (select p.employee_id from people as p)
        and not exists (
            select 1 from in_teams as t where t.business_unit = i.business_unit and t.team_id = i.team_id)
        and not exists (
            select 1 from in_regions as r
            where r.business_unit = i.business_unit and r.region_code = i.region_code))
)"""


def scope_filter(scope: Scope) -> tuple[str, str]:
    """(extra CTEs, where-clause on alias ``i``) selecting the items visible in ``scope``."""
    if scope.kind == "company":
        return "", "(i.grain = 'owner' or i.level = 'REGION')"
    if scope.kind == "region":
        return "", f"{_REGION} and (i.grain = 'owner' or i.level = 'REGION')"
    if scope.kind == "team":
        return "", "i.team_id = :key and (i.grain = 'owner' or i.level = 'TEAM')"
    if scope.kind == "person":
        return "", "i.owner_id = :key and (i.grain = 'owner' or i.level = 'PERSON')"
    if scope.kind == "manager":
        ctes = (
            "people as (select o.employee_id from dw.org_scope(:key, :review_date) as o),"
            + _MEMBERS
        )
        where = (
            "((i.grain = 'owner' and i.owner_id in (select p.employee_id from people as p))"
            f" or (i.grain = 'unit' and {_MANAGER_UNIT}))"
        )
        return ctes, where
    return "", "false"


def _query(scope: Scope) -> sa.TextClause:
    ctes, where = scope_filter(scope)
    return sa.text(
        f"""
        with {ctes}
        prev as (
            select max(r.review_date) as review_date from mart.advice_run as r
            where r.review_date < :review_date
        )
        select i.*, 'current' as which
        from mart.advice_item as i
        where i.review_date = :review_date and {where}
        union all
        select i.*, 'resolved' as which
        from mart.advice_item as i
        where
            i.review_date = (select p.review_date from prev as p)
            and not exists (
                select 1 from mart.advice_item as c
                where
                    c.review_date = :review_date
                    and c.rule_id = i.rule_id
                    and c.subject_key = i.subject_key
            )
            and {where}
        """
    )


def is_built(settings: Settings, review_date: date) -> bool:
    """Whether the advice of ``review_date`` has been built."""
    with warehouse_engine(settings).connect() as conn:
        return bool(
            conn.execute(
                sa.text("select exists (select 1 from mart.advice_run where review_date = :d)"),
                {"d": review_date},
            ).scalar_one()
        )


def _top_leads(settings: Settings, review_date: date, scope: Scope) -> set[tuple[str, str]]:
    """(business unit, lead) of the scope's TOP lists (the pack's R3 sheet)."""
    from review_pipeline.reports.scope import report_rows

    rows = report_rows(settings, "top-leads", review_date, scope=scope)
    return {(str(r["business_unit"]), str(r["lead_id"])) for r in rows}


def rank_key(item: AdviceItem) -> tuple[Any, ...]:
    """Sort key: money at stake (descending), severity, rule id, subject key."""
    return (-item.stake_cny, SEVERITY_RANK.get(item.severity, 9), item.rule_id, item.subject_key)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


def advice_for(
    settings: Settings,
    review_date: date,
    scope: Scope,
    *,
    language: str = "zh-CN",
) -> list[AdviceItem]:
    """The advice items of ``review_date`` visible in ``scope``, ranked best first.

    Current items (status ``new`` or ``open``) come first, ranked by money at
    stake then severity; then the items ``resolved`` since the previous built
    review date. An invalid scope, or a date whose advice was not built,
    returns ``[]``.
    """
    if not scope.is_valid:
        return []
    if not is_built(settings, review_date):
        log.warning("no advice built for %s (run the build_advice stage)", review_date)
        return []
    clause = _query(scope)
    params = {"review_date": review_date, "key": scope.key}
    wanted = {k: v for k, v in params.items() if k in clause._bindparams}
    with warehouse_engine(settings).connect() as conn:
        rows = [dict(r) for r in conn.execute(clause, wanted).mappings()]
    if any(r["rule_id"] == "A03" for r in rows):
        tops: dict[date, set[tuple[str, str]]] = {}
        kept = []
        for r in rows:
            if r["rule_id"] == "A03":
                day = r["review_date"]
                if day not in tops:
                    tops[day] = _top_leads(settings, day, scope)
                if (r["business_unit"], r["subject_id"]) not in tops[day]:
                    continue
            kept.append(r)
        rows = kept
    current: list[AdviceItem] = []
    resolved: list[AdviceItem] = []
    for r in rows:
        since_date = r.get("since_date")
        if r["which"] == "resolved":
            status = "resolved"
        else:
            status = "new" if since_date == review_date else "open"
        item = AdviceItem(
            rule_id=r["rule_id"],
            severity=r["severity"],
            subject_kind=r["subject_kind"],
            subject_id=r["subject_id"],
            subject_name=r["subject_name"] or r["subject_id"],
            action=action_text(
                r["rule_id"], r["subject_name"], r["subject_id"], r["evidence"], language
            ),
            evidence=r["evidence"],
            stake_cny=_number(r["stake_cny"]),
            sheet=r["sheet"],
            row_key=r["row_key"],
            since=iso_week(since_date) if since_date else "",
            status=status,
            since_date=since_date,
            review_date=r["review_date"],
            business_unit=r["business_unit"],
            subject_key=r["subject_key"],
            level=r["level"],
            region_code=r["region_code"],
            team_id=r["team_id"],
            owner_id=r["owner_id"],
        )
        (resolved if status == "resolved" else current).append(item)
    return sorted(current, key=rank_key) + sorted(resolved, key=rank_key)
