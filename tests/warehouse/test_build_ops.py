"""Idempotence, atomicity, locking and order independence of the build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.warehouse.conftest import checksums, engine_of, insert, load_world, reset_warehouse

pytestmark = pytest.mark.integration

D1 = date(2026, 3, 2)


def open_leads(settings: object, day: date = D1) -> int:
    with engine_of(settings).connect() as conn:
        return int(
            conn.execute(
                sa.text("select count(*) from dw.lead_state_on(:d)"), {"d": day}
            ).scalar_one()
        )


def _add_leads(engine: sa.Engine, suffix: str, stage: str = "S2", day: int = 1) -> None:
    with engine.begin() as conn:
        insert(
            conn,
            "lead",
            [
                {
                    "lead_id": f"L{suffix}",
                    "product_line_code": "SRV",
                    "customer_id": "C1",
                    "owner_id": "E1",
                    "created_at": f"2026-03-0{day} 09:00+08",
                    "stage": stage,
                    "status": "OPEN",
                    "amount_cny": 100,
                }
            ],
        )
        insert(
            conn,
            "lead_history",
            [
                {
                    "lead_id": f"L{suffix}",
                    "changed_at": f"2026-03-0{day} 09:00+08",
                    "stage": stage,
                    "status": "OPEN",
                    "amount_cny": 100,
                    "owner_id": "E1",
                }
            ],
        )
        conn.execute(
            sa.text(
                "insert into dq.lead_quarantine (lead_id, business_date, rule_ids)"
                " values (:l, date '2026-03-03', array['LQ02'])"
            ),
            {"l": f"L{suffix}"},
        )


def test_rerunning_a_day_three_times_gives_identical_tables(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    _add_leads(engine, "a")
    sums = []
    for _ in range(3):
        summary = build_day(wh, D1)
        sums.append(checksums(engine))
    assert sums[0] == sums[1] == sums[2]
    assert open_leads(wh) == 1 and summary["business_date"] == "2026-03-02"


def test_out_of_order_build_equals_in_order_and_backfill(wh):
    from review_pipeline.warehouse.build import backfill, build_day

    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(5)]
    results = []
    settings = wh
    engine = engine_of(settings)
    for order in ("in", "out", "backfill"):
        reset_warehouse(engine)
        load_world(engine)
        _add_leads(engine, "a")
        _add_leads(engine, "b", "S4", day=3)
        if order == "in":
            for d in days:
                build_day(settings, d)
        elif order == "out":
            for d in (days[4], days[1], days[3], days[0], days[2]):
                build_day(settings, d)
        else:
            backfill(settings, days[0], days[-1])
        results.append(checksums(engine))
    assert results[0] == results[1] == results[2]


def test_failure_between_statements_leaves_previous_state(wh, monkeypatch):
    from review_pipeline.warehouse import build

    engine = engine_of(wh)
    load_world(engine)
    _add_leads(engine, "a")
    build.build_day(wh, D1)
    before = checksums(engine)

    _add_leads(engine, "b", "S3")

    def fail_after_delete(step: str, index: int, conn: sa.Connection) -> None:
        # statements 1-2 stage the changed leads, 3 deletes their ranges: fail right after
        if step == "fct_lead_state" and index == 3:
            raise RuntimeError("injected crash")

    monkeypatch.setattr(build, "after_statement", fail_after_delete)
    with pytest.raises(RuntimeError, match="injected crash"):
        build.build_day(wh, D1)
    after = checksums(engine)
    assert after["fct_lead_state"] == before["fct_lead_state"]
    assert after["fct_lead_stage_change"] == before["fct_lead_stage_change"]
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.text(
                    "select status from ops.step_run where step = 'warehouse.build'"
                    " order by run_id desc limit 1"
                )
            ).scalar_one()
            == "failed"
        )

    monkeypatch.setattr(build, "after_statement", None)
    build.build_day(wh, D1)
    assert open_leads(wh) == 2


_KILLABLE = textwrap.dedent(
    """
    import sys
    from datetime import date

    import sqlalchemy as sa

    from review_pipeline.settings import load_settings
    from review_pipeline.warehouse import build

    def hang(step, index, conn):
        if step == "fct_lead_state" and index == 3:
            conn.execute(sa.text("select pg_sleep(120)"))

    build.after_statement = hang
    build.build_day(load_settings(warehouse_url=sys.argv[1]), date.fromisoformat(sys.argv[2]))
    """
)


def test_killed_build_keeps_state_and_does_not_block_the_retry(wh, tmp_path: Path):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    _add_leads(engine, "a")
    build_day(wh, D1)
    before = checksums(engine)
    _add_leads(engine, "b", "S3")

    script = tmp_path / "killable.py"
    script.write_text(_KILLABLE)
    url = wh.warehouse_url.get_secret_value()
    proc = subprocess.Popen(
        [sys.executable, str(script), url, D1.isoformat()], cwd=Path(__file__).parents[2]
    )
    try:
        deadline = time.monotonic() + 60
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                hanging = conn.execute(
                    sa.text(
                        "select count(*) from pg_stat_activity where datname = current_database()"
                        " and query like 'select pg_sleep(120)%'"
                    )
                ).scalar_one()
                conn.rollback()  # activity statistics are cached per transaction
                if hanging:
                    break
                assert proc.poll() is None, "the build ended before reaching the injected pause"
                time.sleep(0.2)
            else:
                pytest.fail("the build never reached the injected pause")
        os.kill(proc.pid, signal.SIGKILL)  # midway through fct_lead_state, after its delete
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert checksums(engine)["fct_lead_state"] == before["fct_lead_state"]
    started = time.monotonic()
    build_day(wh.model_copy(update={"lock_timeout_seconds": 15}), D1)
    assert time.monotonic() - started < 15
    assert open_leads(wh) == 2


def test_second_build_of_a_locked_step_fails_with_a_clear_message(wh):
    from review_pipeline.db import step_lock
    from review_pipeline.errors import StepLocked
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    with engine.connect() as holder:
        holder.begin()
        with step_lock(holder, "warehouse.fct_lead_state"):
            with pytest.raises(StepLocked) as err:
                build_day(wh, D1)  # lock_timeout_seconds = 2 in this fixture
            message = str(err.value)
            assert "step 'warehouse.fct_lead_state' is already running by server pid" in message
            assert "retry" in message
        holder.rollback()
    build_day(wh, D1)
    assert open_leads(wh) == 0


def test_two_concurrent_builds_serialise_and_agree(wh):
    from review_pipeline.warehouse.build import build_day

    engine = engine_of(wh)
    load_world(engine)
    _add_leads(engine, "a")
    settings = wh.model_copy(update={"lock_timeout_seconds": 60})
    outcomes: list[object] = []

    def run() -> None:
        try:
            build_day(settings, D1)
            outcomes.append(open_leads(settings))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert outcomes == [1, 1]
    once = checksums(engine)
    build_day(settings, D1)
    assert checksums(engine) == once
