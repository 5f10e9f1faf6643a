"""load_file on a migrated warehouse: exactly-once, quarantine, archive, invariants."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.sources.conftest import (
    INVOICE_HEADER,
    LOAD_TIME,
    ORDER_HEADER,
    collections_workbook,
    order_rows,
    write_csv,
)

pytestmark = pytest.mark.integration


def _load(warehouse, mapping, entity, name, landing, archive, **kw):
    from review_pipeline.sources.files import load_file

    with warehouse.connect() as conn:
        result = load_file(
            conn,
            mapping,
            entity,
            name,
            landing_dir=landing,
            archive_dir=archive,
            load_time=LOAD_TIME,
            **kw,
        )
        conn.commit()
    return result


def _scalar(warehouse, query: str, **params):
    with warehouse.connect() as conn:
        return conn.execute(sa.text(query), params).scalar_one()


def test_same_file_twice_renamed_copy_and_new_version(file_wh, finance_mapping, landing, archive):
    warehouse = file_wh
    write_csv(landing / "orders_20261126.csv", ORDER_HEADER, order_rows(5))
    spare = landing.parent / "spare.csv"
    shutil.copy(landing / "orders_20261126.csv", spare)

    first = _load(
        warehouse, finance_mapping, "sales_order", "orders_20261126.csv", landing, archive
    )
    assert (first.status, first.version, first.rows_in, first.rows_loaded) == ("loaded", 1, 5, 5)
    assert first.archived_path is not None and Path(first.archived_path).is_file()
    assert Path(first.archived_path).parent == archive / "sim_finance" / "2026" / "11"
    assert Path(first.archived_path).name.startswith(first.sha256[:16])
    assert not (landing / "orders_20261126.csv").exists()

    # The same file dropped again: skipped, nothing loaded twice.
    shutil.copy(spare, landing / "orders_20261126.csv")
    again = _load(
        warehouse, finance_mapping, "sales_order", "orders_20261126.csv", landing, archive
    )
    assert again.status == "skipped" and again.previous_id == first.file_id

    # A renamed copy: recorded as a duplicate, not loaded.
    shutil.copy(spare, landing / "orders_20261126_copy.csv")
    dup = _load(
        warehouse, finance_mapping, "sales_order", "orders_20261126_copy.csv", landing, archive
    )
    assert dup.status == "duplicate" and dup.previous_id == first.file_id
    assert "orders_20261126.csv" in dup.message

    # Changed content under the same name: version 2.
    write_csv(landing / "orders_20261126.csv", ORDER_HEADER, order_rows(6))
    v2 = _load(warehouse, finance_mapping, "sales_order", "orders_20261126.csv", landing, archive)
    assert (v2.status, v2.version, v2.rows_loaded) == ("loaded", 2, 6)
    assert v2.previous_id == first.file_id

    assert _scalar(warehouse, "select count(*) from raw.file_sales_order") == 11
    with warehouse.connect() as conn:
        statuses = conn.execute(
            sa.text("select status, version from ops.file_manifest order by file_id")
        ).all()
    assert [tuple(r) for r in statuses] == [("loaded", 1), ("duplicate", None), ("loaded", 2)]


def test_sim_finance_three_files_typed_values(file_wh, finance_mapping, landing, archive):
    warehouse = file_wh
    write_csv(landing / "orders_20261126.csv", ORDER_HEADER, order_rows(3))
    write_csv(
        landing / "invoices_20261126.csv",
        INVOICE_HEADER,
        [
            [
                "FP0001",
                "SO000001",
                "2026/11/02",
                "2026/12/02",
                "C0001",
                "客户一",
                "E001",
                "1,234,500.00",
            ],
            ["FP0002", "SO000002", "2026/13/02", "2026/12/02", "C0002", "客户二", "E002", "12.00"],
            ["", "SO000003", "2026/11/03", "2026/12/03", "C0003", "客户三", "E003", "8.00"],
        ],
        encoding="gbk",
    )
    collections_workbook(
        landing / "collections_20261126.xlsx",
        [
            ["SK001", "FP0001", 46351, "C0001", "客户一", "1,000.00", "E001"],
            ["SK002", "FP0001", 46352, "C0001", "客户一", 234500, "E001"],
            ["SK003", "FP0009", "not a date", "C0009", "客户九", 1, "E009"],
        ],
        total=235501,
    )
    from review_pipeline.sources.files import load_landing

    with warehouse.connect() as conn:
        results = load_landing(
            conn, finance_mapping, landing_dir=landing, archive_dir=archive, load_time=LOAD_TIME
        )
        conn.commit()
    by_entity = {r.entity: r for r in results}
    assert {e: (r.rows_in, r.rows_loaded, r.rows_quarantined) for e, r in by_entity.items()} == {
        "sales_order": (3, 3, 0),
        "invoice": (3, 1, 2),
        "collection": (3, 2, 1),
    }
    assert by_entity["collection"].rows_dropped == 1  # the 合计 row
    assert by_entity["invoice"].encoding == "gb18030"
    with warehouse.connect() as conn:
        inv = conn.execute(
            sa.text("select invoice_id, invoice_date, amount_cny from raw.file_invoice")
        ).one()
        assert tuple(inv) == ("FP0001", "2026-11-02", "1234500.00")
        coll = conn.execute(
            sa.text(
                "select collection_id, collection_date, amount_cny::numeric as amount"
                " from raw.file_collection order by collection_id"
            )
        ).all()
        assert [tuple(r) for r in coll] == [
            ("SK001", "2026-11-25", Decimal("1000.00")),  # serial 46351
            ("SK002", "2026-11-26", Decimal("234500.00")),
        ]
        bad = conn.execute(
            sa.text(
                "select file_name, line_no, column_name, rule, reason from quarantine.file_row"
                " order by file_name, line_no"
            )
        ).all()
    assert [(r.file_name, r.line_no, r.column_name, r.rule) for r in bad] == [
        ("collections_20261126.xlsx", 8, "收款日期", "ROW_BAD_DATE"),
        ("invoices_20261126.csv", 3, "开票日期", "ROW_BAD_DATE"),
        ("invoices_20261126.csv", 4, "发票号码", "ROW_MISSING_KEY"),
    ]
    assert "2026/13/02" in bad[1].reason
    # every manifest row satisfies the invariant in the database too
    assert (
        _scalar(
            warehouse,
            "select count(*) from ops.file_manifest where rows_in <> rows_loaded + rows_quarantined",
        )
        == 0
    )


def test_unreadable_file_is_quarantined_whole_and_kept(file_wh, finance_mapping, landing, archive):
    warehouse = file_wh
    (landing / "invoices_20261127.csv").write_bytes(b"\xff\xfe\x00garbage\x81\x30")
    result = _load(warehouse, finance_mapping, "invoice", "invoices_20261127.csv", landing, archive)
    assert result.status == "quarantined"
    assert "invoices_20261127.csv" in result.message and "FILE_ENCODING" in result.message
    assert (landing / "invoices_20261127.csv").exists()  # left for a person to look at
    with warehouse.connect() as conn:
        row = conn.execute(sa.text("select rule, reason, file_name from quarantine.file")).one()
    assert row.rule == "FILE_ENCODING" and "neither UTF-8 nor GB18030" in row.reason
    # the same broken file again is not re-recorded
    again = _load(warehouse, finance_mapping, "invoice", "invoices_20261127.csv", landing, archive)
    assert again.status == "skipped"


def test_wrong_columns_quarantine_the_file(file_wh, finance_mapping, landing, archive):
    warehouse = file_wh
    write_csv(landing / "orders_20261128.csv", ["编号", "日期", "金额"], [["1", "2026-11-01", "3"]])
    result = _load(
        warehouse, finance_mapping, "sales_order", "orders_20261128.csv", landing, archive
    )
    assert result.status == "quarantined"
    assert "FILE_HEADER" in result.message and "orders_20261128.csv" in result.message
    assert _scalar(warehouse, "select count(*) from raw.file_sales_order") == 0


def test_failed_load_rolls_back_and_keeps_the_file(
    file_wh, finance_mapping, landing, archive, monkeypatch
):
    warehouse = file_wh
    from review_pipeline.sources import files

    write_csv(landing / "orders_20261129.csv", ORDER_HEADER, order_rows(4))

    def broken(conn, table, result):
        raise files.InvariantViolated("simulated loss")

    monkeypatch.setattr(files, "_check_invariant", broken)
    with pytest.raises(files.InvariantViolated):
        _load(warehouse, finance_mapping, "sales_order", "orders_20261129.csv", landing, archive)
    assert (landing / "orders_20261129.csv").exists()
    assert _scalar(warehouse, "select count(*) from ops.file_manifest") == 0
    assert _scalar(warehouse, "select count(*) from raw.file_sales_order") == 0


def test_malformed_corpus_through_load_file(file_wh, finance_mapping, landing, archive, tmp_path):
    """Each broken file: a message naming file and rule, kept in landing, nothing half-loaded."""
    import zipfile

    from review_pipeline.sources.files import UnsafePath, load_file

    good_xlsx = collections_workbook(
        tmp_path / "good.xlsx", [["SK1", "FP1", 46351, "C1", "x", 5, "E1"]]
    )
    data = good_xlsx.read_bytes()
    (landing / "collections_truncated.xlsx").write_bytes(data[: len(data) // 3])
    with (
        zipfile.ZipFile(good_xlsx) as src,
        zipfile.ZipFile(landing / "collections_bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<sheetData>", b"<sheetData>" + b" " * (8 * 1024**2), 1)
            dst.writestr(info.filename, body)
    (landing / "orders_empty.csv").write_bytes(b"")
    write_csv(landing / "orders_wrong.csv", ["a", "b"], [["1", "2"]])
    (landing / "invoices_binary.csv").write_bytes(bytes(range(128, 256)) * 4)
    corpus = {
        ("collection", "collections_truncated.xlsx"): "FILE_FORMAT",
        ("collection", "collections_bomb.xlsx"): "FILE_BOMB",
        ("sales_order", "orders_empty.csv"): "FILE_EMPTY",
        ("sales_order", "orders_wrong.csv"): "FILE_HEADER",
        ("invoice", "invoices_binary.csv"): "FILE_ENCODING",
    }
    for (entity, name), rule in corpus.items():
        result = _load(file_wh, finance_mapping, entity, name, landing, archive)
        assert result.status == "quarantined", name
        assert result.message.startswith(name) and rule in result.message, result.message
        assert (landing / name).exists()
    with file_wh.connect() as conn:
        rules = dict(conn.execute(sa.text("select file_name, rule from quarantine.file")).all())
        loaded = conn.execute(
            sa.text(
                "select (select count(*) from raw.file_sales_order)"
                " + (select count(*) from raw.file_invoice)"
                " + (select count(*) from raw.file_collection)"
            )
        ).scalar_one()
    assert rules == {name: rule for (_, name), rule in corpus.items()}
    assert loaded == 0

    # header only: a loaded file with no rows
    write_csv(landing / "orders_header_only.csv", ORDER_HEADER, [])
    result = _load(
        file_wh, finance_mapping, "sales_order", "orders_header_only.csv", landing, archive
    )
    assert (result.status, result.rows_in) == ("loaded", 0)

    # unsafe names are refused before anything is recorded
    (landing / "orders_link.csv").symlink_to(tmp_path / "good.xlsx")
    for name in ("../good.xlsx", "orders_link.csv", str(tmp_path / "good.xlsx")):
        with pytest.raises(UnsafePath) as exc, file_wh.connect() as conn:
            load_file(
                conn, finance_mapping, "sales_order", name, landing_dir=landing, archive_dir=archive
            )
        assert name.split("/")[-1] in str(exc.value)
    assert _scalar(file_wh, "select count(*) from ops.file_manifest") == len(corpus) + 1


def test_rejection_mid_stream_rolls_back_rows_already_copied(
    file_wh, finance_mapping, landing, archive
):
    from review_pipeline.sources.readers import ReadLimits

    rows = order_rows(5)
    rows[1][1] = "bad date"  # one quarantined row before the cap is hit
    write_csv(landing / "orders_20261130.csv", ORDER_HEADER, rows)
    result = _load(
        file_wh,
        finance_mapping,
        "sales_order",
        "orders_20261130.csv",
        landing,
        archive,
        limits=ReadLimits(max_rows=3),
    )
    assert result.status == "quarantined" and "FILE_TOO_LARGE" in result.message
    assert "(line 5)" in result.message
    assert _scalar(file_wh, "select count(*) from raw.file_sales_order") == 0
    assert _scalar(file_wh, "select count(*) from quarantine.file_row") == 0
    assert _scalar(file_wh, "select rule from quarantine.file") == "FILE_TOO_LARGE"
    assert (landing / "orders_20261130.csv").exists()


def test_file_changed_while_loading_is_rolled_back(
    file_wh, finance_mapping, landing, archive, monkeypatch
):
    from review_pipeline.sources import files

    path = write_csv(landing / "orders_20261201.csv", ORDER_HEADER, order_rows(3))
    real = files._load_rows

    def append_while_reading(*args, **kwargs):
        real(*args, **kwargs)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("SO999,2026-11-02,C1,x,,E1,SRV,1.00\n")

    monkeypatch.setattr(files, "_load_rows", append_while_reading)
    with pytest.raises(files.FileChanged, match="orders_20261201.csv changed while"):
        _load(file_wh, finance_mapping, "sales_order", "orders_20261201.csv", landing, archive)
    assert _scalar(file_wh, "select count(*) from ops.file_manifest") == 0
    assert _scalar(file_wh, "select count(*) from raw.file_sales_order") == 0
    assert path.exists()


def test_nul_characters_are_quarantined_not_fatal(file_wh, finance_mapping, landing, archive):
    header = [*ORDER_HEADER, "备注\x00"]
    rows = [[*r, "x\x00y"] for r in order_rows(2)]
    rows[0][0] = "SO\x001"
    write_csv(landing / "orders_20261202.csv", header, rows)
    result = _load(file_wh, finance_mapping, "sales_order", "orders_20261202.csv", landing, archive)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 1)
    with file_wh.connect() as conn:
        bad = conn.execute(sa.text("select rule, raw_values from quarantine.file_row")).one()
    assert bad.rule == "ROW_BAD_TEXT" and bad.raw_values["订单编号"] == "SO\\x001"
