"""extract_all over a finance landing folder: staged once, archived after commit, counts add up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)
HEADER = "订单编号,订单日期,客户编码,客户名称,线索编号,销售员工号,产品线编码,订单金额(元)\n"


def _write(path, rows):
    path.write_text(HEADER + "".join(rows), encoding="utf-8-sig")


@pytest.fixture
def finance_only(db_settings, warehouse):
    settings = db_settings.model_copy(update={"sources": ["sim_finance"]})
    landing = settings.landing_dir / "finance"
    landing.mkdir(parents=True)
    return settings, landing


def _q(engine, text):
    with engine.connect() as conn:
        return conn.execute(sa.text(text)).all()


def test_files_are_staged_once_and_archived(finance_only, warehouse):
    from review_pipeline.sources.pipeline import extract_all

    settings, landing = finance_only
    _write(
        landing / "orders_20260302.csv",
        [
            "O-1,2026-03-02,C1,广州市政务局,OPP-1,E1,SRV,1200000.50\n",
            'O-2,2026-03-02,C1,广州市政务局,,E1,ERP,"88,000.00"\n',
            "O-3,2026-13-02,C1,广州市政务局,,E1,ERP,5000\n",  # no 13th month: quarantined
        ],
    )
    summary = extract_all(settings, DAY)["sources"]["sim_finance"]
    assert summary["rows_in"] == 3
    assert summary["rows_staged"] == 2 and summary["rows_quarantined"] == 1
    staged = dict(_q(warehouse, "select order_id, amount_cny from staging.sales_order"))
    assert staged == {"O-1": Decimal("1200000.50"), "O-2": Decimal("88000.00")}
    assert not (landing / "orders_20260302.csv").exists()
    archived = list(settings.archive_dir.rglob("*orders_20260302.csv"))
    assert len(archived) == 1
    batch = _q(
        warehouse, "select rows_in, rows_raw, rows_staged, rows_quarantined from ops.extract_batch"
    )
    assert batch == [(3, 2, 2, 1)]

    # the same bytes sent again under another name: recorded as a duplicate, nothing staged twice
    (landing / "orders_20260302_resend.csv").write_bytes(archived[0].read_bytes())
    again = extract_all(settings, DAY)["sources"]["sim_finance"]
    assert again.get("batches", 0) == 0 and again["files"] == {"duplicate": 1}
    assert _q(warehouse, "select count(*) from staging.sales_order") == [(2,)]
    assert not (landing / "orders_20260302_resend.csv").exists()


def test_a_correction_file_updates_the_order(finance_only, warehouse):
    from review_pipeline.sources.pipeline import extract_all

    settings, landing = finance_only
    _write(landing / "orders_20260302.csv", ["O-1,2026-03-02,C1,客户,OPP-1,E1,SRV,100.00\n"])
    extract_all(settings, DAY)
    _write(landing / "orders_20260303.csv", ["O-1,2026-03-02,C1,客户,OPP-1,E1,SRV,120.00\n"])
    extract_all(settings, date(2026, 3, 3))
    assert _q(warehouse, "select order_id, amount_cny from staging.sales_order") == [
        ("O-1", Decimal("120.00"))
    ]


def test_a_failure_after_loading_keeps_the_file_in_landing(finance_only, warehouse, monkeypatch):
    from review_pipeline.sources import pipeline

    settings, landing = finance_only
    _write(landing / "orders_20260302.csv", ["O-1,2026-03-02,C1,客户,OPP-1,E1,SRV,100.00\n"])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while typing into staging")

    monkeypatch.setattr(pipeline, "_stage_file", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.extract_all(settings, DAY)
    # nothing recorded, nothing lost: the file is still there and loads on the next run
    assert (landing / "orders_20260302.csv").exists()
    assert _q(warehouse, "select count(*) from ops.file_manifest") == [(0,)]
    monkeypatch.undo()
    summary = pipeline.extract_all(settings, DAY)["sources"]["sim_finance"]
    assert summary["rows_staged"] == 1
