"""Incremental extraction from an SQL CRM: a hand-made CRM (the simulator's schema), changed day by day."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
import sqlalchemy as sa

from review_pipeline.db import libpq_dsn, sql_dir
from review_pipeline.sources.relay import SourceCopyError

pytestmark = pytest.mark.integration

D1 = date(2026, 3, 2)
D2 = date(2026, 3, 3)


@pytest.fixture
def crm(db_settings, warehouse):
    """A tiny CRM in the simulator's schema, as it stood at the end of D1."""
    dsn = libpq_dsn(db_settings.crm_url.get_secret_value())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute((sql_dir() / "simulator" / "001_crm_tables.sql").read_text(encoding="utf-8"))
        conn.execute("set timezone = 'Asia/Shanghai'")
        conn.execute(
            """
            insert into crm.product_line values ('SRV', '通用服务器', 'INFO'), ('ERP', 'ERP软件', 'SOFT');
            insert into crm.dict_city values ('440100', '广州市', '广东省'), ('440300', '深圳市', '广东省'),
                ('320100', '南京市', '江苏省');
            insert into crm.dict_industry values ('GOV', '政府'), ('FIN', '金融');
            insert into crm.org_unit values
                ('BU-INFO', '事业部', '浪潮信息', 'INFO', null, null, '2026-01-01 09:00', '2026-01-01 09:00'),
                ('R-GD', '省区', '广东省区', 'INFO', 'BU-INFO', '广东省', '2026-01-01 09:00', '2026-01-01 09:00'),
                ('T-GZ', '团队', '广州一组', 'INFO', 'R-GD', null, '2026-01-01 09:00', '2026-01-01 09:00');
            insert into crm.sys_user values
                ('E1', '张伟', 'e1@example.com', 'INFO', '销售经理', '2025-01-01', null, '在职',
                 '2026-01-01 09:00', '2026-01-01 09:00'),
                ('E2', '李娜', 'e2@example.com', 'INFO', '团队经理', '2024-01-01', null, '在职',
                 '2026-01-01 09:00', '2026-01-01 09:00');
            insert into crm.user_assignment values
                (1, 'E1', 'T-GZ', 'SALES', 'E2', null, '2025-01-01', null, '入职', '2026-01-01 09:00', '2026-01-01 09:00'),
                (2, 'E2', 'T-GZ', 'TEAM_MANAGER', null, null, '2024-01-01', null, '入职', '2026-01-01 09:00',
                 '2026-01-01 09:00');
            insert into crm.customer_history values
                ('C1', 1, '2026-01-01', '2026-01-01 10:00', '广州市政务局', '11440100MB2C92922C', true, '战略',
                 'GOV', '440100', null),
                ('C1', 2, '2026-03-02', '2026-03-02 11:00', '广州市政务局', '11440100MB2C92922C', true, 'TOP',
                 'GOV', '440100', null);
            insert into crm.opportunity values
                (1, 'OPP-1', '政务云扩容', 'C1', 'E1', 'SRV', '商务推进', '跟进中', 1200000.50, '2026-04-01',
                 '2026-04-20', '2026-06-30', 600000, null, null, null, null, null,
                 '2026-02-01 10:00', 'E1', '2026-03-02 15:00', 'E1'),
                (2, 'OPP-2', '存储采购', 'C1', 'E1', 'SRV', '需求识别', '跟进中', 300000, null,
                 '2026-05-20', null, null, null, null, null, null, null,
                 '2026-03-02 09:30', 'E1', '2026-03-02 09:30', 'E1'),
                (3, 'OPP-3', '录错的商机', 'C1', 'E1', 'SRV', '意向', '跟进中', 5000, null,
                 '2026-05-20', null, null, null, null, null, null, null,
                 '2026-03-02 16:00', 'E1', '2026-03-02 16:00', 'E1');
            insert into crm.opportunity_history values
                (1, 1, 1, '2026-02-01 10:00', 'E1', '新建', 'C1', 'E1', 'SRV', '需求识别', '跟进中', 1000000, null,
                 '2026-04-20', null, null, null, null, null, null, null),
                (2, 1, 2, '2026-03-02 15:00', 'E1', '阶段变更', 'C1', 'E1', 'SRV', '商务推进', '跟进中', 1200000.50,
                 '2026-04-01', '2026-04-20', '2026-06-30', 600000, null, null, null, null, null);
            """
        )
    return dsn


def _extract(settings, day, **kwargs):
    from review_pipeline.sources.crm import extract_sql_source
    from review_pipeline.sources.mapping import bundled_mapping

    return {
        r.entity: r for r in extract_sql_source(settings, bundled_mapping("sim_crm"), day, **kwargs)
    }


def _q(engine, text, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(text), params).all()


def test_first_extraction_types_and_maps_everything(db_settings, warehouse, crm):
    results = _extract(db_settings, D1)
    for r in results.values():
        assert r.rows_in == r.rows_staged + r.rows_quarantined
    assert (
        results["lead"].rows_read == 3
        and results["lead"].rows_in == 3
        and results["lead"].rows_staged == 3
    )

    lead = _q(warehouse, "select * from staging.lead where lead_id = 'OPP-1'")[0]._mapping
    assert lead["stage"] == "S3" and lead["status"] == "OPEN" and lead["stage_raw"] == "商务推进"
    assert str(lead["amount_cny"]) == "1200000.50"
    assert lead["business_unit"] == "INFO"
    assert lead["expected_order_date"] == date(2026, 4, 20)
    # an unknown stage name stays visible for LQ03 instead of being dropped
    unknown = _q(warehouse, "select stage, stage_raw from staging.lead where lead_id = 'OPP-3'")
    assert unknown == [(None, "意向")]

    # customer versions, tiers through the value map, region from the city
    versions = _q(
        warehouse, "select account_tier, region_code from staging.customer order by valid_from"
    )
    assert versions == [("STRATEGIC", "广东省"), ("TOP", "广东省")]
    # the CRM's inclusive effective_to becomes an exclusive valid_to; roles mapped
    roles = _q(
        warehouse,
        "select employee_id, role, manager_id from staging.employee_assignment order by 1",
    )
    assert roles == [("E1", "SALESPERSON", "E2"), ("E2", "TEAM_MANAGER", None)]
    levels = dict(_q(warehouse, "select team_id, unit_level from staging.team"))
    assert levels == {"BU-INFO": "BU", "R-GD": "REGION", "T-GZ": "TEAM"}
    assert _q(warehouse, "select count(*) from staging.lead_history") == [(2,)]
    batches = _q(warehouse, "select count(*) from ops.extract_batch where status = 'success'")
    assert batches[0][0] == len(results)
    # the batch record reconciles: 1,200,000.50 + 300,000 + 5,000 read and staged, a checksum kept
    lead_batch = _q(
        warehouse,
        "select amount_in_cny, amount_staged_cny, length(checksum) from ops.extract_batch"
        " where entity = 'lead'",
    )
    assert lead_batch == [(Decimal("1505000.50"), Decimal("1505000.50"), 32)]


def test_incremental_days_pick_up_each_change_exactly_once(db_settings, warehouse, crm):
    _extract(db_settings, D1)
    raw_before = _q(warehouse, "select count(*) from raw.crm_lead")[0][0]
    assert raw_before == 3

    with psycopg.connect(crm, autocommit=True) as conn:
        conn.execute("set timezone = 'Asia/Shanghai'")
        # an update on D2, a new lead on D2, a hard delete, and a late commit stamped D1 23:30
        conn.execute(
            "update crm.opportunity set stage_name = '招标', amount = 1300000, updated_at = '2026-03-03 10:00'"
            " where opp_id = 1"
        )
        conn.execute(
            "insert into crm.opportunity (opp_id, opp_code, opp_name, customer_id, owner_id, product_line_code,"
            " stage_name, status_name, amount, expected_order_date, created_at, created_by, updated_at, updated_by)"
            " values (4, 'OPP-4', '新商机', 'C1', 'E1', 'ERP', '需求识别', '跟进中', 800000, '2026-06-30',"
            " '2026-03-03 11:00', 'E1', '2026-03-03 11:00', 'E1'),"
            " (5, 'OPP-5', '迟到提交', 'C1', 'E1', 'ERP', '立项', '跟进中', 90000, '2026-06-30',"
            " '2026-03-02 23:30', 'E1', '2026-03-02 23:30', 'E1')"
        )
        conn.execute("delete from crm.opportunity where opp_id = 3")

    # forced: the shipped mapping reconciles keys weekly (tests below follow the schedule)
    results = _extract(db_settings, D2, reconcile=True)
    lead = results["lead"]
    assert lead.reconciled == "forced"
    # OPP-1 changed, OPP-4 new, OPP-5 late (inside the look-back); OPP-2 unchanged is not new again
    assert lead.rows_in == 3
    # read: OPP-1, OPP-4, OPP-5; OPP-2 (09:30 on D1) lies before the look-back (16:00 - 6 h)
    assert lead.rows_read == 3
    assert lead.rows_deleted == 1
    assert _q(warehouse, "select count(*) from raw.crm_lead where op = 'U'")[0][0] == 3 + 3
    staged = dict(_q(warehouse, "select lead_id, stage from staging.lead where deleted_at is null"))
    assert staged == {"OPP-1": "S4", "OPP-2": "S1", "OPP-4": "S1", "OPP-5": "S2"}
    deleted = _q(
        warehouse,
        "select lead_id, deleted_at is not null from staging.lead where lead_id = 'OPP-3'",
    )
    assert deleted == [("OPP-3", True)]

    # the same day again: nothing new anywhere, the delete is not recorded twice
    again = _extract(db_settings, D2, reconcile=True)
    assert all(r.rows_in == 0 for r in again.values()), {e: r.rows_in for e, r in again.items()}
    assert again["lead"].rows_deleted == 0
    assert _q(warehouse, "select count(*) from raw.crm_lead")[0][0] == 3 + 3 + 1


def test_watermark_is_capped_at_the_business_day(db_settings, warehouse, crm):
    with psycopg.connect(crm, autocommit=True) as conn:
        # a clock-skewed client stamps a row a week ahead
        conn.execute(
            "update crm.opportunity set updated_at = '2026-03-09 10:00+08' where opp_id = 2"
        )
    _extract(db_settings, D1)
    wm = _q(
        warehouse,
        "select last_updated_at from ops.watermark where source = 'sim_crm' and entity = 'lead'",
    )
    # capped at the end of D1 (next midnight in Shanghai), not a week ahead
    assert wm[0][0] == datetime(2026, 3, 3, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_concurrent_extraction_of_the_same_entity_fails_cleanly(db_settings, warehouse, crm):
    from review_pipeline.db import step_lock
    from review_pipeline.errors import StepLocked

    with warehouse.connect() as holder:
        holder.execute(sa.text("select 1"))
        with step_lock(holder, "extract", "sim_crm.industry"):
            with pytest.raises(StepLocked, match="already running"):
                from review_pipeline.sources.crm import extract_sql_source
                from review_pipeline.sources.mapping import bundled_mapping

                extract_sql_source(
                    db_settings.model_copy(update={"lock_timeout_seconds": 0}),
                    bundled_mapping("sim_crm"),
                    D1,
                    entities=["industry"],
                )


# ---------------------------------------------------------------- landing paths (issue 3 speed)
def _tables(layer: str) -> list[str]:
    from review_pipeline.sources.canonical import CANONICAL
    from review_pipeline.sources.sqlgen import STAGING_TABLE, raw_table

    if layer == "raw":
        return [f"raw.{raw_table(e)}" for e in CANONICAL]
    return [f"staging.{STAGING_TABLE.get(e, e)}" for e in CANONICAL]


def _raw_snapshot(engine) -> dict[str, list[tuple]]:
    """Every raw row without the columns a run stamps (ids, batch, load time), sorted."""
    out = {}
    for table in _tables("raw"):
        rows = _q(
            engine, f"select to_jsonb(r) - 'raw_id' - 'batch_id' - 'loaded_at' from {table} as r"
        )
        out[table] = sorted(str(r[0]) for r in rows)
    return out


def _staging_snapshot(engine) -> dict[str, list[str]]:
    out = {}
    for table in _tables("staging"):
        rows = _q(engine, f"select to_jsonb(s) - 'batch_id' - 'loaded_at' from {table} as s")
        out[table] = sorted(str(r[0]) for r in rows)
    return out


def _forget_extraction(engine) -> None:
    """Empty raw, staging, quarantine and the watermarks: the warehouse before its first load."""
    with engine.begin() as conn:
        tables = _tables("raw") + _tables("staging")
        conn.execute(sa.text(f"truncate {', '.join(tables)}"))
        conn.execute(sa.text("delete from ops.watermark where source = 'sim_crm'"))
        conn.execute(sa.text("delete from quarantine.staging_row where source = 'sim_crm'"))


def test_first_load_straight_into_raw_equals_the_staging_table_path(db_settings, warehouse, crm):
    from review_pipeline.sources.crm import extract_sql_source
    from review_pipeline.sources.mapping import bundled_mapping

    index_sql = (
        "select tablename, indexname, indexdef from pg_indexes where schemaname = 'raw'"
        " and tablename like 'crm%' order by 1, 2"
    )
    migrated = _q(warehouse, index_sql)
    assert ("crm_lead", "crm_lead_hash_uq") in [(t, i) for t, i, _d in migrated]
    direct = {r.entity: r for r in extract_sql_source(db_settings, bundled_mapping("sim_crm"), D1)}
    # the empty raw tables' indexes were dropped for the COPY and built again, exactly as migrated
    assert _q(warehouse, index_sql) == migrated
    assert (
        direct["lead"].landing_path == "direct" and direct["lead_history"].landing_path == "direct"
    )
    raw_direct, staged_direct = _raw_snapshot(warehouse), _staging_snapshot(warehouse)
    assert len(raw_direct["raw.crm_lead"]) == 3 and len(raw_direct["raw.crm_lead_history"]) == 2
    wm_direct = _q(warehouse, "select entity, last_updated_at from ops.watermark order by 1")

    _forget_extraction(warehouse)
    via_table = {
        r.entity: r
        for r in extract_sql_source(
            db_settings, bundled_mapping("sim_crm"), D1, landing="extract_in"
        )
    }
    assert via_table["lead"].landing_path == "extract_in"
    # the same raw rows (values, hashes, watermark values), the same staging, the same watermarks
    assert _raw_snapshot(warehouse) == raw_direct
    assert _staging_snapshot(warehouse) == staged_direct
    assert (
        _q(warehouse, "select entity, last_updated_at from ops.watermark order by 1") == wm_direct
    )
    for entity, r in direct.items():
        t = via_table[entity]
        assert (r.rows_read, r.rows_in, r.rows_staged, r.rows_quarantined) == (
            t.rows_read,
            t.rows_in,
            t.rows_staged,
            t.rows_quarantined,
        ), entity
    # both batches record the same checksum of what was read, and their phases
    sums = _q(
        warehouse,
        "select entity, count(distinct checksum), count(*) from ops.extract_batch"
        " where entity in ('lead', 'lead_history') group by entity order by 1",
    )
    assert sums == [("lead", 1, 2), ("lead_history", 1, 2)]
    phases = _q(
        warehouse,
        "select details ->> 'landing_path', (details ->> 'landing_s')::float8 >= 0,"
        " (details ->> 'staging_s')::float8 >= 0 from ops.extract_batch where entity = 'lead'"
        " order by batch_id",
    )
    assert phases == [("direct", True, True), ("extract_in", True, True)]


def test_a_rerun_of_the_same_window_adds_nothing(db_settings, warehouse, crm):
    first = _extract(db_settings, D1)
    raw_before = _raw_snapshot(warehouse)
    staged_before = _staging_snapshot(warehouse)
    # forget the watermarks: the whole window is read again, through extract_in
    with warehouse.begin() as conn:
        conn.execute(sa.text("delete from ops.watermark"))
    again = _extract(db_settings, D1)
    for entity, r in again.items():
        # an entity raw holds rows of is read through extract_in (an empty one stays "direct")
        assert r.landing_path == ("extract_in" if r.rows_read else "direct"), entity
        assert r.rows_read == first[entity].rows_read and r.rows_in == 0, entity
        assert r.rows_staged == 0 and r.rows_quarantined == 0
    assert _raw_snapshot(warehouse) == raw_before
    assert _staging_snapshot(warehouse) == staged_before


def test_a_first_load_repeating_a_row_version_lands_it_once(db_settings, warehouse, crm):
    with psycopg.connect(crm, autocommit=True) as conn:
        # the test CRM has no keys (002_crm_indexes.sql is not applied): a view-like source
        # may return the same row twice in one window
        conn.execute("insert into crm.dict_industry values ('GOV', '政府')")
    results = _extract(db_settings, D1)
    industry = results["industry"]
    # the direct COPY met the unique row hash and the batch went through extract_in
    assert industry.landing_path == "extract_in"
    assert industry.rows_read == 3 and industry.rows_in == 2 and industry.rows_staged == 2
    assert _q(warehouse, "select count(*) from raw.crm_industry") == [(2,)]
    assert sorted(_q(warehouse, "select industry_code from staging.industry")) == [
        ("FIN",),
        ("GOV",),
    ]
    # the other entities still took the direct path in the same run
    assert results["lead"].landing_path == "direct"


def test_a_repeated_version_lands_once_when_raw_holds_another_sources_rows(
    db_settings, warehouse, crm
):
    # raw is not empty (another source's row), so the direct COPY keeps raw's indexes
    # and the unique row hash refuses the repeated version during the COPY itself
    with warehouse.begin() as conn:
        conn.execute(
            sa.text(
                "insert into raw.crm_industry (batch_id, source, row_hash, industry_code, name)"
                " values (0, 'other_crm', 'h-other', 'GOV', '政府')"
            )
        )
    with psycopg.connect(crm, autocommit=True) as conn:
        conn.execute("insert into crm.dict_industry values ('GOV', '政府')")
    results = _extract(db_settings, D1)
    industry = results["industry"]
    assert industry.landing_path == "extract_in"
    assert (industry.rows_read, industry.rows_in, industry.rows_staged) == (3, 2, 2)
    rows = _q(warehouse, "select source, industry_code from raw.crm_industry order by 1, 2")
    assert rows == [("other_crm", "GOV"), ("sim_crm", "FIN"), ("sim_crm", "GOV")]
    # the source connection was left usable: the next entities were extracted after it
    assert results["lead"].rows_in == 3


# ---------------------------------------------------------------- periodic key reconciliation
# The shipped sim_crm mapping: lead and visit `full_compare, every_days: 7, on_weekdays: [sunday]`.
MON, TUE, SAT, SUN = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 7), date(2026, 3, 8)


def _hard_delete(crm_dsn: str) -> None:
    """OPP-3 (a lead entered by mistake) and visit 11 (wrongly logged) deleted in the CRM."""
    with psycopg.connect(crm_dsn, autocommit=True) as conn:
        conn.execute(
            "insert into crm.visit_record values"
            " (11, 'E1', 'C1', 3, '2026-03-02', '上门拜访', '误录', '2026-03-02 17:00', '2026-03-02 17:00'),"
            " (12, 'E1', 'C1', 1, '2026-03-02', '技术交流', '方案', '2026-03-02 17:10', '2026-03-02 17:10')"
        )


def _delete_in_crm(crm_dsn: str) -> None:
    with psycopg.connect(crm_dsn, autocommit=True) as conn:
        conn.execute("delete from crm.visit_record where visit_id = 11")
        conn.execute("delete from crm.opportunity where opp_id = 3")


def _live(engine) -> tuple[list[str], list[str]]:
    leads = _q(engine, "select lead_id from staging.lead where deleted_at is null order by 1")
    visits = _q(engine, "select visit_id from staging.visit order by 1")
    return [r[0] for r in leads], [r[0] for r in visits]


def _reconciled(engine) -> list[tuple]:
    return _q(
        engine,
        "select business_date, entity, reconciled, rows_deleted, details ->> 'reconciled'"
        " from ops.extract_batch where entity in ('lead', 'visit') order by batch_id",
    )


def test_a_hard_delete_is_found_on_a_reconciliation_day_and_not_on_others(
    db_settings, warehouse, crm
):
    _hard_delete(crm)
    first = _extract(db_settings, MON)
    # the first load read everything: it counts as the entities' reconciliation
    assert first["lead"].reconciled == first["visit"].reconciled == "first load"
    assert _live(warehouse) == (["OPP-1", "OPP-2", "OPP-3"], ["11", "12"])
    _delete_in_crm(crm)

    tue = _extract(db_settings, TUE)
    assert tue["lead"].reconciled is None and tue["lead"].rows_deleted == 0
    assert tue["visit"].reconciled is None and tue["visit"].rows_deleted == 0
    sat = _extract(db_settings, SAT)  # 5 days since Monday: still not due
    assert sat["lead"].rows_deleted == sat["visit"].rows_deleted == 0
    assert _live(warehouse) == (["OPP-1", "OPP-2", "OPP-3"], ["11", "12"])

    sun = _extract(db_settings, SUN)  # the weekly review date: due whatever the interval
    assert sun["lead"].reconciled == sun["visit"].reconciled == "on Sunday"
    assert sun["lead"].rows_deleted == 1 and sun["visit"].rows_deleted == 1
    assert _live(warehouse) == (["OPP-1", "OPP-2"], ["12"])
    # only the buckets holding a deleted key were compared key by key
    details = _q(
        warehouse,
        "select details -> 'reconcile_buckets_differing', details -> 'reconcile_keys_staged'"
        " from ops.extract_batch where entity = 'visit' and business_date = :d",
        d=SUN,
    )
    assert details == [(1, 2)]
    assert [r[:4] for r in _reconciled(warehouse)] == [
        (MON, "lead", True, 0),
        (MON, "visit", True, 0),
        (TUE, "lead", False, 0),
        (TUE, "visit", False, 0),
        (SAT, "lead", False, 0),
        (SAT, "visit", False, 0),
        (SUN, "lead", True, 1),
        (SUN, "visit", True, 1),
    ]
    # Sunday again (a re-run): reconciled again, nothing left to delete
    again = _extract(db_settings, SUN)
    assert again["lead"].reconciled == "on Sunday" and again["lead"].rows_deleted == 0
    assert again["visit"].rows_deleted == 0


def test_forced_reconciliation_finds_the_delete_on_any_day(
    db_settings, warehouse, crm, monkeypatch, capsys
):
    from review_pipeline.cli.app import _register, app

    _hard_delete(crm)
    _extract(db_settings, MON)
    _delete_in_crm(crm)
    assert _extract(db_settings, TUE)["visit"].rows_deleted == 0
    # the same Tuesday re-run with --reconcile, through the command
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", db_settings.warehouse_url.get_secret_value())
    monkeypatch.setenv("REVIEW_CRM_URL", db_settings.crm_url.get_secret_value())
    monkeypatch.setenv("REVIEW_HOME", str(db_settings.home))
    _register()
    app(
        args=["extract", "--date", TUE.isoformat(), "--source", "sim_crm", "--reconcile"],
        standalone_mode=False,
    )
    assert "sim_crm" in capsys.readouterr().out
    assert _live(warehouse) == (["OPP-1", "OPP-2"], ["12"])
    forced = _q(
        warehouse,
        "select entity, rows_deleted, details ->> 'reconciled' from ops.extract_batch"
        " where entity in ('lead', 'visit') order by batch_id desc limit 2",
    )
    assert sorted(forced) == [("lead", 1, "forced"), ("visit", 1, "forced")]


def test_the_schedule_counts_from_the_last_reconciliation_across_skipped_runs(
    db_settings, warehouse, crm
):
    _hard_delete(crm)
    _extract(db_settings, date(2026, 2, 25))  # a Wednesday: first load
    _delete_in_crm(crm)
    # runs skipped from Thursday to the next Wednesday (the Sunday among them):
    # 7 days since the last reconciliation, so the first run after the gap reconciles
    wed = _extract(db_settings, date(2026, 3, 4))
    assert wed["visit"].reconciled == "7 days since 2026-02-25"
    assert wed["visit"].rows_deleted == 1 and wed["lead"].rows_deleted == 1
    # and the interval restarts from there: Thursday .. Saturday are not due
    for day in (date(2026, 3, 5), date(2026, 3, 7)):
        assert _extract(db_settings, day)["visit"].reconciled is None
    # a failed batch is no reconciliation: the schedule reads successful ones only
    with warehouse.begin() as conn:
        conn.execute(
            sa.text(
                "insert into ops.extract_batch (source, entity, source_object, business_date, status,"
                " reconciled)"
                " values ('sim_crm', 'visit', 'sim_crm/visit.sql', '2026-03-10', 'failed', true)"
            )
        )
    assert _extract(db_settings, date(2026, 3, 11))["visit"].reconciled == (
        "7 days since 2026-03-04"
    )


@pytest.mark.unit
def test_reconcile_due_rules():
    from review_pipeline.sources.crm import reconcile_due
    from review_pipeline.sources.mapping import DeleteDetection

    weekly = DeleteDetection(mode="full_compare", every_days=7, on_weekdays=["sun"])
    assert weekly.on_weekdays == ["sunday"] and weekly.weekday_numbers == {7}
    assert reconcile_due(weekly, TUE, None) == "never reconciled"
    assert reconcile_due(weekly, TUE, MON) is None
    assert reconcile_due(weekly, TUE, MON, force=True) == "forced"
    assert reconcile_due(weekly, SUN, SAT) == "on Sunday"
    assert reconcile_due(weekly, date(2026, 3, 9), MON) == "7 days since 2026-03-02"
    assert reconcile_due(weekly, MON, date(2026, 3, 9)) is None  # a backfill of an earlier day
    every = DeleteDetection(mode="full_compare")
    assert reconcile_due(every, TUE, MON) == "1 days since 2026-03-02"
    assert reconcile_due(every, MON, MON) is None
    assert reconcile_due(DeleteDetection(), TUE, None, force=True) is None


def test_raw_dedup_index_leads_with_the_hash_and_compares_bytes(warehouse):
    """Migration 0013: every raw.crm_* table's unique version index is (row_hash, source)
    under the "C" collation, so a first load's sorted build abbreviates the digest (the
    source column is constant) and never calls strcoll; a re-read's `on conflict
    (source, row_hash)` still infers it."""
    from review_pipeline.sources.canonical import CANONICAL
    from review_pipeline.sources.sqlgen import raw_table

    rows = _q(
        warehouse,
        "select tablename, indexdef from pg_indexes where schemaname = 'raw'"
        " and indexname like 'crm%hash_uq' order by 1",
    )
    assert [t for t, _d in rows] == sorted(raw_table(e) for e in CANONICAL)
    for table, definition in rows:
        assert definition.endswith("(row_hash, source) WHERE (op = 'U'::bpchar)"), table
    collations = _q(
        warehouse,
        "select distinct collation_name from information_schema.columns"
        " where table_schema = 'raw' and column_name in ('row_hash', 'source')",
    )
    assert collations == [("C",)]
    with warehouse.begin() as conn:  # the conflict target of extract_in still finds the index
        conn.execute(
            sa.text(
                "insert into raw.crm_region (batch_id, source, row_hash) values (1, 's', 'h'), (2, 's', 'h')"
                " on conflict (source, row_hash) where op = 'U' do nothing"
            )
        )
        assert conn.execute(sa.text("select count(*) from raw.crm_region")).scalar_one() == 1


def test_entities_side_by_side_land_what_one_at_a_time_lands(db_settings, warehouse, crm):
    """extract_workers=4 (entities in parallel, each on its own connections) gives the raw
    rows, staging rows and watermarks of extract_workers=1, over two days."""
    parallel = db_settings.model_copy(update={"extract_workers": 4})
    serial = db_settings.model_copy(update={"extract_workers": 1})
    wm_sql = "select entity, last_updated_at from ops.watermark order by 1"
    _extract(parallel, D1)
    _extract(parallel, D2)
    seen_parallel = (_raw_snapshot(warehouse), _staging_snapshot(warehouse), _q(warehouse, wm_sql))
    _forget_extraction(warehouse)
    _extract(serial, D1)
    _extract(serial, D2)
    seen_serial = (_raw_snapshot(warehouse), _staging_snapshot(warehouse), _q(warehouse, wm_sql))
    assert seen_parallel == seen_serial
    assert len(seen_serial[1]["staging.lead"]) == 3


def test_a_failing_entity_stops_the_rest_and_names_the_source(db_settings, warehouse, crm):
    """One entity's source query fails: the error reaches the caller, the failed batch
    commits nothing, and every entity that did finish stays whole (rows in = staged +
    quarantined, watermark recorded)."""
    with psycopg.connect(crm, autocommit=True) as conn:
        conn.execute("drop table crm.visit_record cascade")
    settings = db_settings.model_copy(update={"extract_workers": 2})
    with pytest.raises(
        SourceCopyError, match=r"sim_crm.visit: reading the source failed: .*visit_record"
    ):
        _extract(settings, D1)
    done = _q(
        warehouse,
        "select entity, rows_in, rows_staged + rows_quarantined from ops.extract_batch"
        " where status = 'success'",
    )
    assert "visit" not in {entity for entity, _n, _m in done}
    assert all(n == m for _e, n, m in done)
    assert _q(warehouse, "select count(*) from raw.crm_visit") == [(0,)]
