"""Fixtures for the advice tests: hand-built marts on an emptied, migrated warehouse.

The warehouse is the report tests' session database (``tests/reports/conftest.py``:
``rpt_url``, ``rs`` empties it for each test, ``world`` loads the small
hand-built world). The advice rules read only the marts, the org dimensions
and ``dw.org_scope``; so most tests write a few mart rows by hand
(:func:`mart_row` fills the NOT NULL columns a test does not care about) and
a small org by hand (:func:`load_org`).

Org of the hand-built tests (valid from 2020-01-01, open-ended), business unit INFO:

    X (executive)
    ├── RM_E (region manager EAST)  ── M1 (team T1, EAST): E1, E2
    │                               └─ M3 (team T3, EAST): E4
    └── M2 (team T2, WEST): E3
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.conftest import rpt_url, rs, world  # noqa: F401 - fixtures reused

D1 = date(2026, 3, 8)  # a Sunday
D2 = date(2026, 3, 15)  # the Sunday after
D3 = date(2026, 3, 22)

TEAMS = {"T1": "EAST", "T2": "WEST", "T3": "EAST"}
PEOPLE = {  # employee -> (team, manager, role)
    "X": (None, None, "EXECUTIVE"),
    "RM_E": (None, "X", "REGION_MANAGER"),
    "M1": ("T1", "RM_E", "TEAM_MANAGER"),
    "M3": ("T3", "RM_E", "TEAM_MANAGER"),
    "M2": ("T2", "X", "TEAM_MANAGER"),
    "E1": ("T1", "M1", "SALESPERSON"),
    "E2": ("T1", "M1", "SALESPERSON"),
    "E4": ("T3", "M3", "SALESPERSON"),
    "E3": ("T2", "M2", "SALESPERSON"),
}


def engine_of(settings: Any) -> sa.Engine:
    from review_pipeline.db import warehouse_engine

    return warehouse_engine(settings)


def load_org(settings: Any) -> None:
    """Regions, teams, employees and the org closure of the docstring's org."""
    start, end = date(2020, 1, 1), date(9999, 12, 31)
    with engine_of(settings).begin() as conn:
        conn.execute(
            sa.text(
                "insert into dw.dim_business_unit (business_unit, name, name_zh) values ('INFO', 'Hardware', '浪潮信息')"
            )
        )
        for code, name in (("EAST", "East"), ("WEST", "West")):
            conn.execute(
                sa.text(
                    "insert into dw.dim_region (region_code, name, business_unit) values (:c, :n, 'INFO')"
                ),
                {"c": code, "n": name},
            )
        for team, region in TEAMS.items():
            conn.execute(
                sa.text(
                    "insert into dw.dim_team (team_id, name, business_unit, region_code)"
                    " values (:t, :n, 'INFO', :r)"
                ),
                {"t": team, "n": f"Team {team}", "r": region},
            )
        conn.execute(
            sa.text(
                "insert into dw.dim_product_line (product_line_code, name, business_unit)"
                " values ('SRV', 'Servers', 'INFO'), ('STO', 'Storage', 'INFO')"
            )
        )
        for emp, (team, mgr, role) in PEOPLE.items():
            conn.execute(
                sa.text(
                    "insert into dw.dim_employee (employee_id, valid_from, valid_to, name, is_active,"
                    " role, team_id, manager_id, region_code, business_unit)"
                    " values (:e, :f, null, :n, true, :role, :t, :m, :r, 'INFO')"
                ),
                {
                    "e": emp,
                    "f": start,
                    "n": f"Name {emp}",
                    "role": role,
                    "t": team,
                    "m": mgr,
                    "r": TEAMS.get(team or "", "EAST" if emp == "RM_E" else None),
                },
            )
        for emp in PEOPLE:
            depth, node = 0, emp
            while node is not None:
                conn.execute(
                    sa.text(
                        "insert into dw.dim_employee_org_closure"
                        " (ancestor_id, descendant_id, depth, valid_from, valid_to)"
                        " values (:a, :d, :depth, :f, :t)"
                    ),
                    {"a": node, "d": emp, "depth": depth, "f": start, "t": end},
                )
                node = PEOPLE[node][1]
                depth += 1


_DEFAULTS = {
    "numeric": 0,
    "integer": 0,
    "boolean": False,
    "jsonb": "{}",
    "ARRAY": "{}",
    "text": "",
    "date": date(2026, 1, 1),
}


def mart_row(conn: sa.Connection, table: str, **values: Any) -> None:
    """Insert one row into ``mart.<table>``; NOT NULL columns not given get a neutral value."""
    columns = conn.execute(
        sa.text(
            "select column_name, data_type, is_nullable from information_schema.columns"
            " where table_schema = 'mart' and table_name = :t"
        ),
        {"t": table},
    ).all()
    row: dict[str, Any] = {}
    casts: dict[str, str] = {}
    for name, data_type, nullable in columns:
        if name in values:
            row[name] = values[name]
        elif nullable == "NO":
            row[name] = _DEFAULTS[data_type]
        else:
            continue
        if data_type == "jsonb":
            casts[name] = "jsonb"
        elif data_type == "ARRAY":
            casts[name] = "text[]"
    unknown = set(values) - {c[0] for c in columns}
    assert not unknown, f"{table} has no columns {unknown}"
    names = ", ".join(row)
    binds = ", ".join(f"cast(:{k} as {casts[k]})" if k in casts else f":{k}" for k in row)
    conn.execute(sa.text(f"insert into mart.{table} ({names}) values ({binds})"), row)


def person_org(owner: str) -> dict[str, Any]:
    """The org keys of a PERSON row of ``owner``."""
    team = PEOPLE[owner][0]
    return {"level": "PERSON", "region_code": TEAMS[team or ""], "team_id": team, "owner_id": owner}


@pytest.fixture
def org(rs: Any) -> Any:  # noqa: F811 - the reused fixture
    """Settings of the emptied warehouse with the hand-built org loaded."""
    load_org(rs)
    return rs
