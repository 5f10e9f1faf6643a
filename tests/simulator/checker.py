"""An independent re-implementation of DOMAIN.md's rules over the simulated CRM.

It reads only what an extractor sees (the ``crm`` tables and the ERP rows),
reconstructs every lead's state at the end of each day from
``opportunity_history`` and lists the first day of each violation episode.
Tests compare it with the simulator's ground truth.
"""

from __future__ import annotations

import bisect
import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

TZ = ZoneInfo("Asia/Shanghai")
STAGES = {"需求识别": 1, "立项": 2, "商务推进": 3, "招标": 4, "中标": 5}
STATUSES = {"跟进中", "待下单", "已下单", "丢单", "取消"}
OPEN = {"跟进中", "待下单"}


def _day_end(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(days=1)


def _episodes(days: list[date]) -> list[date]:
    firsts = []
    prev: date | None = None
    for d in sorted(set(days)):
        if prev is None or (d - prev).days > 1:
            firsts.append(d)
        prev = d
    return firsts


def _valid(stage: Any, status: Any) -> bool:
    return stage in STAGES and status in STATUSES


def _is_open(stage: Any, status: Any) -> bool:
    return _valid(stage, status) and status in OPEN


def check(conninfo: str, start: date, as_of: date) -> set[tuple[str, str, str, date]]:
    """(rule, entity type, entity id, first day) for every episode found."""
    found: set[tuple[str, str, str, date]] = set()
    with psycopg.connect(conninfo) as conn:
        found |= _lead_rules(conn, start, as_of)
        found |= _report_rules(conn, start, as_of)
        found |= _customer_rules(conn, start, as_of)
    return found


class _Data:
    """Everything the lead rules read, loaded once."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.leads = {
            r[0]: r
            for r in conn.execute(
                "select opp_id, opp_code, created_at, updated_at from crm.opportunity"
            )
        }
        self.hist: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for r in conn.execute(
            "select opp_id, changed_at, customer_id, owner_id, product_line_code, stage_name,"
            " status_name, amount, expected_order_date, tender_date, bid_price, competitors"
            " from crm.opportunity_history order by opp_id, seq_no"
        ):
            self.hist[r[0]].append(r[1:])
        self.visits: dict[int, list[date]] = defaultdict(list)
        for opp_id, d in conn.execute(
            "select opp_id, visit_date from crm.visit_record where opp_id is not null order by 2"
        ):
            self.visits[opp_id].append(d)
        self.people = {
            u: (hire, leave)
            for u, hire, leave in conn.execute(
                "select user_id, hire_date, leave_date from crm.sys_user"
            )
        }
        self.orders: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        for code, d, amt in conn.execute(
            "select opp_code, order_date, amount from sim.erp_order where opp_code is not null"
        ):
            self.orders[code].append((d, amt))
        amounts: dict[str, list[Decimal]] = defaultdict(list)
        for pl, amt in conn.execute(
            "select product_line_code, amount from crm.opportunity"
            " where amount > 0 and product_line_code is not null"
        ):
            amounts[pl].append(amt)
        self.p99 = {pl: sorted(v)[int(0.99 * (len(v) - 1))] for pl, v in amounts.items()}


Hits = dict[tuple[str, str], list[date]]


def _change_rules(
    data: _Data, code: str, created: datetime, rows: list[tuple[Any, ...]], hits: Hits
) -> None:
    """LQ04 (skips, backwards), LQ11 (S4+ within 3 days), LQ10 (ordered vs finance)."""
    for a, b in zip(rows, rows[1:], strict=False):
        sa, sb = STAGES.get(a[4]), STAGES.get(b[4])
        if sa and sb and (sb - sa >= 3 or sb < sa):
            hits[("LQ04", code)].append(b[0].astimezone(TZ).date())
    created_day = created.astimezone(TZ).date()
    first_s4 = next((r for r in rows if STAGES.get(r[4], 0) >= 4), None)
    if first_s4 is not None and (first_s4[0].astimezone(TZ).date() - created_day).days <= 3:
        hits[("LQ11", code)].append(created_day)
    ordered = next((r for r in rows if r[5] == "已下单"), None)
    if ordered is None:
        return
    ordered_day = ordered[0].astimezone(TZ).date()
    matches = [o for o in data.orders.get(code, []) if abs((o[0] - ordered_day).days) <= 30]
    if not matches:
        hits[("LQ10", code)].append(ordered_day + timedelta(days=31))
    elif all(abs(o[1] - ordered[6]) > ordered[6] * Decimal("0.2") for o in matches):
        hits[("LQ10", code)].append(max(ordered_day, min(o[0] for o in matches)))


def _state_rules(
    data: _Data, opp_id: int, code: str, d: date, state: tuple[Any, ...], hits: Hits
) -> bool:
    """Rules on the state at the end of day ``d``; returns whether the lead is open."""
    _, cust, owner, pl, stage, status, amount, expected, tender, bid, comp = state
    if None in (cust, owner, pl, stage, amount, expected):
        hits[("LQ01", code)].append(d)
    if amount is not None and (amount <= 0 or (pl in data.p99 and amount > 10 * data.p99[pl])):
        hits[("LQ02", code)].append(d)
    if not _valid(stage, status):
        hits[("LQ03", code)].append(d)
    if not _is_open(stage, status):
        return False
    if expected is not None and expected < d:
        hits[("LQ05", code)].append(d)
    if STAGES[stage] >= 3:
        v = data.visits.get(opp_id, [])
        j = bisect.bisect_right(v, d) - 1
        if j < 0 or v[j] < d - timedelta(days=29):
            hits[("LQ06", code)].append(d)
    if STAGES[stage] >= 4 and None in (tender, bid, comp):
        hits[("LQ09", code)].append(d)
    employed = data.people.get(owner)
    if owner is not None and (
        employed is None or employed[0] > d or (employed[1] is not None and employed[1] < d)
    ):
        hits[("LQ12", code)].append(d)
    return True


def _lead_rules(
    conn: psycopg.Connection[Any], start: date, as_of: date
) -> set[tuple[str, str, str, date]]:
    data = _Data(conn)
    days = [start + timedelta(days=i) for i in range((as_of - start).days + 1)]
    hits: Hits = defaultdict(list)
    open_pairs: dict[tuple[date, Any, Any], list[tuple[str, Decimal]]] = defaultdict(list)
    for opp_id, rows in data.hist.items():
        _, code, created, _updated = data.leads[opp_id]
        _change_rules(data, code, created, rows, hits)
        times = [r[0] for r in rows]
        for d in days:
            i = bisect.bisect_left(times, _day_end(d)) - 1
            if i < 0:
                continue
            state = rows[i]
            if _state_rules(data, opp_id, code, d, state, hits) and None not in (
                state[1],
                state[3],
                state[6],
            ):
                open_pairs[(d, state[1], state[3])].append((code, state[6]))
    for (d, _c, _p), items in open_pairs.items():
        for x, (code_a, a) in enumerate(items):
            for code_b, b in items[x + 1 :]:
                if abs(a - b) <= Decimal("0.1") * max(a, b):
                    hits[("LQ07", code_a)].append(d)
                    hits[("LQ07", code_b)].append(d)
    out = set()
    for (rule, code), ds in hits.items():
        for first in _episodes([d for d in ds if start <= d <= as_of]):
            out.add((rule, "lead", code, first))
    for _opp_id, code, created, updated in data.leads.values():
        if updated < created or updated > _day_end(as_of):
            out.add(("LQ13", "lead", code, updated.astimezone(TZ).date()))
    return out


def _report_rules(
    conn: psycopg.Connection[Any], start: date, as_of: date
) -> set[tuple[str, str, str, date]]:
    from review_pipeline.workdays import is_working_day

    reports = {
        (u, d): (s, a)
        for u, d, s, a in conn.execute(
            "select user_id, report_date, submitted_at, approved_at from crm.daily_report"
        )
    }
    sales: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
    for u, f, t in conn.execute(
        "select user_id, effective_from, effective_to from crm.user_assignment where role_code = 'SALES'"
    ):
        sales[u].append((f, t))
    out = set()
    d = start
    while d <= as_of:
        if is_working_day(d):
            nxt = d + timedelta(days=1)
            while not is_working_day(nxt):
                nxt += timedelta(days=1)
            for u, periods in sales.items():
                if not any(f <= d and (t is None or d <= t) for f, t in periods):
                    continue
                rep = reports.get((u, d))
                if rep is None or rep[0].astimezone(TZ).date() > d:
                    out.add(("DR01", "employee", u, d))
                if (
                    rep is not None
                    and nxt <= as_of
                    and (rep[1] is None or rep[1].astimezone(TZ).date() > nxt)
                ):
                    out.add(("DR02", "employee", u, d))
        d += timedelta(days=1)
    return out


def _customer_rules(
    conn: psycopg.Connection[Any], start: date, as_of: date
) -> set[tuple[str, str, str, date]]:
    from review_pipeline.simulator.credit_code import is_valid

    hits: dict[str, list[date]] = defaultdict(list)
    rows = conn.execute(
        "select customer_id, valid_from, changed_at, credit_code, is_named, account_level, industry_code,"
        " city_code from crm.customer_history order by customer_id, version_no"
    ).fetchall()
    by_customer: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        by_customer[r[0]].append(r)
    for cid, versions in by_customer.items():
        for k, v in enumerate(versions):
            bad = v[4] and (v[5] is None or v[6] is None or v[7] is None or not is_valid(v[3]))
            if not bad:
                continue
            first = max(v[2].astimezone(TZ).date(), start)
            end = (
                versions[k + 1][2].astimezone(TZ).date()
                if k + 1 < len(versions)
                else as_of + timedelta(days=1)
            )
            d = first
            while d < end and d <= as_of:
                hits[cid].append(d)
                d += timedelta(days=1)
    return {("LQ08", "customer", cid, f) for cid, ds in hits.items() for f in _episodes(ds)}


def read_truth(path: Path) -> set[tuple[str, str, str, date]]:
    with path.open(encoding="utf-8") as fh:
        return {
            (r["rule_id"], r["entity_type"], r["entity_id"], date.fromisoformat(r["day"]))
            for r in csv.DictReader(fh)
        }
