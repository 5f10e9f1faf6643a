"""An incremental build writes only the lead rows that change, not every version of a changed lead."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from tests.warehouse.conftest import checksums, engine_of, insert, load_world, reset_warehouse

pytestmark = pytest.mark.integration

INF = "infinity"  # valid_to of a current version, read as text


def _history(conn: sa.Connection, lead: str, changes: list[tuple[str, str]]) -> None:
    insert(
        conn,
        "lead_history",
        [
            {
                "lead_id": lead,
                "changed_at": f"{day} 09:00+08",
                "stage": stage,
                "status": "OPEN",
                "amount_cny": 100,
                "owner_id": "E1",
            }
            for day, stage in changes
        ],
    )


def _load_leads(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for lead, stage in (("L1", "S3"), ("L2", "S2")):
            insert(
                conn,
                "lead",
                [
                    {
                        "lead_id": lead,
                        "product_line_code": "SRV",
                        "customer_id": "C1",
                        "owner_id": "E1",
                        "created_at": "2026-03-01 09:00+08",
                        "stage": stage,
                        "status": "OPEN",
                        "amount_cny": 100,
                        "tender_date": "2026-03-20",
                    }
                ],
            )
        _history(conn, "L1", [("2026-03-01", "S1"), ("2026-03-03", "S2"), ("2026-03-05", "S3")])
        _history(conn, "L2", [("2026-03-01", "S1"), ("2026-03-02", "S2")])


def _move_l1_to_s4(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _history(conn, "L1", [("2026-03-07", "S4")])
        conn.execute(
            sa.text(
                "update staging.lead set stage = 'S4', updated_at = timestamptz '2026-03-07 09:00+08',"
                " loaded_at = clock_timestamp() where lead_id = 'L1'"
            )
        )


def _versions(engine: sa.Engine, table: str, key: str) -> dict[tuple, str]:
    """Each row's key -> its xmin: a row left untouched keeps the xmin of the build that wrote it."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"select {key}, xmin::text from {table}")).all()  # noqa: S608
    return {tuple(r[:-1]): r[-1] for r in rows}


def test_a_new_change_rewrites_only_the_closed_version_and_adds_one(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    _load_leads(engine)
    build_day(wh, date(2026, 3, 6))
    state_before = _versions(engine, "dw.fct_lead_state", "lead_id, valid_from, valid_to::text")
    changes_before = _versions(engine, "dw.fct_lead_stage_change", "lead_id, changed_at, seq")
    bids_before = _versions(engine, "dw.fct_bid", "lead_id")
    assert len(state_before) == 5 and len(changes_before) == 5 and len(bids_before) == 2

    _move_l1_to_s4(engine)
    build_day(wh, date(2026, 3, 7))
    state_after = _versions(engine, "dw.fct_lead_state", "lead_id, valid_from, valid_to::text")

    # L1's S3 version closes on 03-07 and an S4 version starts: exactly these two rows are new
    new_rows = {k for k in state_after if state_after[k] != state_before.get(k)}
    assert new_rows == {
        ("L1", date(2026, 3, 5), "2026-03-07"),
        ("L1", date(2026, 3, 7), INF),
    }
    # every other version of L1, and all of L2 (re-read inside the watermark margin), untouched
    kept = {k: v for k, v in state_after.items() if k not in new_rows}
    assert kept == {k: v for k, v in state_before.items() if k[:2] != ("L1", date(2026, 3, 5))}
    assert ("L1", date(2026, 3, 5), INF) not in state_after

    changes_after = _versions(engine, "dw.fct_lead_stage_change", "lead_id, changed_at, seq")
    assert {k: v for k, v in changes_after.items() if k in changes_before} == changes_before
    assert len(changes_after) == len(changes_before) + 1
    assert _versions(engine, "dw.fct_bid", "lead_id") == bids_before  # bid facts unchanged


def test_incremental_result_equals_a_full_rebuild(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    _load_leads(engine)
    build_day(wh, date(2026, 3, 6))
    _move_l1_to_s4(engine)
    build_day(wh, date(2026, 3, 7))
    incremental = checksums(engine)

    reset_warehouse(engine)
    load_world(engine)
    _load_leads(engine)
    _move_l1_to_s4(engine)
    build_day(wh, date(2026, 3, 6))
    build_day(wh, date(2026, 3, 7))
    assert checksums(engine) == incremental
