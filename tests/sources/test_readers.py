"""Readers on generated files: encodings, CSV dialects, XLSX layouts, malformed files, path safety."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import pytest

from review_pipeline.errors import UserError
from review_pipeline.sources.convert import convert_row
from review_pipeline.sources.files import UnsafePath, discover_files, read_rows, safe_landing_path
from review_pipeline.sources.readers import FileRejected, ReadLimits, sniff_delimiter
from tests.sources.conftest import (
    COLLECTION_HEADER,
    INVOICE_HEADER,
    LOAD_TIME,
    ORDER_HEADER,
    collections_workbook,
    order_rows,
    write_csv,
)

pytestmark = pytest.mark.unit


def _read(mapping, entity, path, limits=None):
    """All rows as (line, converted row or None, problems), plus the stream."""
    stream, plan = read_rows(mapping, entity, path, LOAD_TIME, limits)
    out = []
    for item in stream.rows:
        if item.problem is not None:
            out.append((item.line_no, None, [item.problem]))
            continue
        row, problems = convert_row(plan, item.values)
        out.append((item.line_no, row or None, problems))
    return out, stream


def _rejected(mapping, entity, path, limits=None) -> FileRejected:
    with pytest.raises(FileRejected) as exc:
        _read(mapping, entity, path, limits)
    return exc.value


# ------------------------------------------------------------------ encodings
NAMES = ["华为技术有限公司", "中国联通（北京）", "Ünïcödé & Co., Ltd."]
RARE = ["𠀀科技（GB18030 四字节）", "㐀实业", "𪚥 四龍"]


@pytest.mark.parametrize(
    ("encoding", "names", "detected"),
    [
        ("utf-8", NAMES + RARE, "utf-8-sig"),
        ("utf-8-sig", NAMES + RARE, "utf-8-sig"),
        ("gbk", NAMES[:2], "gb18030"),
        ("gb18030", NAMES + RARE, "gb18030"),
    ],
)
def test_encodings_round_trip(tmp_path, finance_mapping, encoding, names, detected):
    rows = [
        [f"SO{i}", "2026-11-02", f"C{i}", name, "", "E1", "SRV", "1.00"]
        for i, name in enumerate(names)
    ]
    path = write_csv(tmp_path / "orders_1.csv", ORDER_HEADER, rows, encoding=encoding)
    out, stream = _read(finance_mapping, "sales_order", path)
    assert stream.encoding == detected
    assert stream.headers == ORDER_HEADER  # no BOM left on the first header
    assert [r["order_id"] for _, r, _ in out] == [f"SO{i}" for i in range(len(names))]
    # 客户名称 is not a canonical field of an order: check the raw cells instead
    stream, _ = read_rows(finance_mapping, "sales_order", path, LOAD_TIME)
    assert [item.values["客户名称"] for item in stream.rows] == names


def test_neither_utf8_nor_gb18030_is_rejected(tmp_path, finance_mapping):
    path = tmp_path / "orders_1.csv"
    path.write_bytes("订单编号,订单日期\n".encode() + b"\x81\x30\xff\xfe\n")
    rej = _rejected(finance_mapping, "sales_order", path)
    assert rej.rule == "FILE_ENCODING"
    assert "neither UTF-8 nor GB18030" in rej.message and "offset" in rej.message


# ----------------------------------------------------------------------- CSV
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_dialects_and_embedded_newlines(tmp_path, finance_mapping, delimiter):
    rows = [
        ["SO1", "2026-11-02", "C1", '多行\n名称, "引号"', "", "E1", "SRV", "1,000.00"],
        ["SO2", "2026-11-03", "C2", "普通", "L9", "E2", "SRV", "2.00"],
    ]
    path = write_csv(tmp_path / "orders_1.csv", ORDER_HEADER, rows, delimiter=delimiter)
    out, stream = _read(finance_mapping, "sales_order", path)
    assert stream.delimiter == delimiter
    # line numbers are physical lines: header 1, SO1 spans 2-3, SO2 starts on 4
    assert [(line, r["order_id"], r["amount_cny"]) for line, r, _ in out] == [
        (2, "SO1", "1000.00"),
        (4, "SO2", "2.00"),
    ]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('"x,y";b\n"1,2";3\n', ";"),
        ("single\n1\n", ","),
    ],
)
def test_sniff_delimiter(sample, expected):
    assert sniff_delimiter(sample) == expected


def test_ragged_rows_are_problems_with_line_numbers(tmp_path, finance_mapping):
    good = order_rows(1)[0]
    path = write_csv(
        tmp_path / "orders_1.csv",
        ORDER_HEADER,
        [good, good[:5], [*good, "extra"], [], good],
    )
    out, _ = _read(finance_mapping, "sales_order", path)
    summary = [(line, p[0].rule if p else None, p[0].reason if p else "") for line, _, p in out]
    assert summary == [
        (2, None, ""),
        (3, "ROW_RAGGED", "5 fields where the header has 8"),
        (4, "ROW_RAGGED", "9 fields where the header has 8"),
        (6, None, ""),  # the blank line 5 is not a row
    ]


@pytest.mark.parametrize(
    ("content", "rule", "words"),
    [
        (b"", "FILE_EMPTY", "empty"),
        (b"\n\n  \n", "FILE_EMPTY", "empty"),
        ("编号,日期,金额\n1,2,3\n".encode(), "FILE_HEADER", "line 1 is not the expected header"),
        ("订单编号,订单金额(元)\nSO1,5\n".encode(), "FILE_HEADER", "it lacks order_date"),
        (
            "订单编号,订单日期,订单编号,订单金额(元)\n".encode(),
            "FILE_HEADER",
            "2 columns for order_id",
        ),
    ],
    ids=["zero-bytes", "blank", "wrong-columns", "missing-column", "duplicate-column"],
)
def test_unreadable_csv(tmp_path, finance_mapping, content, rule, words):
    path = tmp_path / "orders_1.csv"
    path.write_bytes(content)
    rej = _rejected(finance_mapping, "sales_order", path)
    assert rej.rule == rule and words in rej.message


def test_header_only_gives_no_rows(tmp_path, finance_mapping):
    path = write_csv(tmp_path / "orders_1.csv", ORDER_HEADER, [])
    out, _ = _read(finance_mapping, "sales_order", path)
    assert out == []


def test_bad_values_name_line_column_and_rule(tmp_path, finance_mapping):
    rows = order_rows(3)
    rows[0][1] = "2026-02-30"
    rows[1][7] = "1.2.3"
    rows[2][0] = "N/A"
    path = write_csv(tmp_path / "orders_1.csv", ORDER_HEADER, rows)
    out, _ = _read(finance_mapping, "sales_order", path)
    assert [(line, [(p.column, p.rule) for p in probs]) for line, _, probs in out] == [
        (2, [("订单日期", "ROW_BAD_DATE")]),
        (3, [("订单金额(元)", "ROW_BAD_NUMBER")]),
        (4, [("订单编号", "ROW_MISSING_KEY")]),
    ]


def test_row_cap(tmp_path, finance_mapping):
    path = write_csv(tmp_path / "orders_1.csv", ORDER_HEADER, order_rows(5))
    rej = _rejected(finance_mapping, "sales_order", path, ReadLimits(max_rows=3))
    assert rej.rule == "FILE_TOO_LARGE" and rej.line_no == 5


def test_invoice_thousands_separators_in_gbk(tmp_path, finance_mapping):
    rows = [["FP1", "SO1", "2026/11/02", "2026/12/02", "C1", "客户", "E1", "1,234,500.00"]]
    path = write_csv(tmp_path / "invoices_1.csv", INVOICE_HEADER, rows, encoding="gbk")
    out, _ = _read(finance_mapping, "invoice", path)
    assert out[0][1]["amount_cny"] == "1234500.00" and out[0][1]["due_date"] == "2026-12-02"


# ---------------------------------------------------------------------- XLSX
def test_xlsx_title_block_merged_cells_serials_text_numbers_totals(tmp_path, finance_mapping):
    import openpyxl

    path = collections_workbook(
        tmp_path / "collections_1.xlsx",
        [
            [
                "SK1",
                "FP1",
                46351,
                "C1",
                "客户一",
                "1,000.50",
                "E1",
            ],  # serial number, amount as text
            ["SK2", "FP1", 46352.0, "C1", "客户一", 2000, 1001],  # float serial, numeric owner id
            ["SK3", "FP2", "2026-11-27", "C2", "客户二", "３００", "E2"],  # text date, full-width
        ],
        total=3301.5,
    )
    wb = openpyxl.load_workbook(path)
    ws = wb["回款明细"]
    ws.cell(row=ws.max_row - 1, column=3).number_format = "yyyy-mm-dd"
    ws.cell(row=30, column=2).number_format = "0.00"  # styled but empty rows at the end
    wb.save(path)
    out, stream = _read(finance_mapping, "collection", path)
    assert stream.header_line == 5 and stream.headers == COLLECTION_HEADER
    assert [
        (line, r["collection_id"], r["collection_date"], r["amount_cny"], r["owner_id"])
        for line, r, _ in out
    ] == [
        (6, "SK1", "2026-11-25", "1000.50", "E1"),
        (7, "SK2", "2026-11-26", "2000.00", "1001"),
        (8, "SK3", "2026-11-27", "300.00", "E2"),
    ]
    assert stream.dropped == [9]  # the 合计 row


def test_xlsx_date_formatted_cells(tmp_path, finance_mapping):
    path = collections_workbook(
        tmp_path / "collections_1.xlsx",
        [["SK1", "FP1", 46351, "C1", "客户一", 5, "E1"]],
        date_format="yyyy/mm/dd",
        title_block=False,
    )
    out, stream = _read(finance_mapping, "collection", path)
    assert stream.header_line == 1
    assert out[0][1]["collection_date"] == "2026-11-25"


def test_xlsx_values_right_of_the_header_are_ragged(tmp_path, finance_mapping):
    path = collections_workbook(
        tmp_path / "collections_1.xlsx",
        [["SK1", "FP1", 46351, "C1", "客户一", 5, "E1", None, "stray"]],
    )
    out, _ = _read(finance_mapping, "collection", path)
    assert out[0][0] == 6 and out[0][2][0].rule == "ROW_RAGGED"


def test_xlsx_wrong_sheet(tmp_path, finance_mapping):
    path = collections_workbook(tmp_path / "collections_1.xlsx", [], sheet="Sheet1")
    rej = _rejected(finance_mapping, "collection", path)
    assert rej.rule == "FILE_HEADER" and "no sheet named '回款明细' (sheets: Sheet1)" in rej.message


def test_xlsx_without_header(tmp_path, finance_mapping):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "回款明细"
    for i in range(60):
        ws.append([f"title {i}"])
    wb.save(tmp_path / "collections_1.xlsx")
    rej = _rejected(finance_mapping, "collection", tmp_path / "collections_1.xlsx")
    assert rej.rule == "FILE_HEADER" and "no header row with collection_id" in rej.message


def test_truncated_xlsx(tmp_path, finance_mapping):
    good = collections_workbook(tmp_path / "good.xlsx", [["SK1", "FP1", 46351, "C1", "x", 5, "E1"]])
    data = good.read_bytes()
    path = tmp_path / "collections_1.xlsx"
    path.write_bytes(data[: len(data) // 2])
    rej = _rejected(finance_mapping, "collection", path)
    assert rej.rule == "FILE_FORMAT" and "not a readable XLSX" in rej.message


def test_not_a_zip_at_all(tmp_path, finance_mapping):
    path = tmp_path / "collections_1.xlsx"
    path.write_text("收款单号,发票号码\n", encoding="utf-8")
    assert _rejected(finance_mapping, "collection", path).rule == "FILE_FORMAT"


def _bomb(tmp_path: Path, padding: int) -> Path:
    """A valid xlsx whose sheet XML is padded with whitespace: tiny zip, huge expansion."""
    good = collections_workbook(tmp_path / "good.xlsx", [["SK1", "FP1", 46351, "C1", "x", 5, "E1"]])
    path = tmp_path / "collections_bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * padding, 1)
            dst.writestr(info.filename, data)
    return path


def test_zip_bomb_refused_before_parsing(tmp_path, finance_mapping, monkeypatch):
    import openpyxl

    path = _bomb(tmp_path, 40 * 1024**2)
    assert path.stat().st_size < 200 * 1024  # 40 MB of XML in a small file

    def never(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    rej = _rejected(finance_mapping, "collection", path)
    assert rej.rule == "FILE_BOMB" and "xl/worksheets/sheet1.xml expands" in rej.message
    rej = _rejected(
        finance_mapping,
        "collection",
        path,
        ReadLimits(max_compression_ratio=1e9, max_uncompressed_bytes=10 * 1024**2),
    )
    assert rej.rule == "FILE_BOMB" and "cap 10485760" in rej.message


def _xls_mapping(finance_mapping):
    from review_pipeline.sources.mapping import mapping_from_dict

    data = finance_mapping.model_dump(exclude={"path"})
    data["entities"]["collection"]["file"].update(format="xls", glob="collections_*.xls")
    return mapping_from_dict(data)


def test_legacy_xls_reads_like_the_same_xlsx(tmp_path, finance_mapping):
    """The committed .xls is the workbook of the XLSX test above saved by LibreOffice as
    BIFF8 (tests/sources/fixtures/make_legacy_xls.py): the same rows must come out."""
    import shutil

    path = tmp_path / "collections_1.xls"
    shutil.copyfile(Path(__file__).parent / "fixtures" / "collections_legacy.xls", path)
    out, stream = _read(_xls_mapping(finance_mapping), "collection", path)
    assert stream.header_line == 5 and stream.headers == COLLECTION_HEADER
    assert [
        (line, r["collection_id"], r["collection_date"], r["amount_cny"], r["owner_id"])
        for line, r, _ in out
    ] == [
        (6, "SK1", "2026-11-25", "1000.50", "E1"),  # a serial number in a date column
        (7, "SK2", "2026-11-26", "2000.00", "1001"),  # a date cell; whole numbers as ids
        (8, "SK3", "2026-11-27", "300.00", "E2"),
    ]
    assert stream.dropped == [9]  # the 合计 row


def test_broken_legacy_xls_is_rejected_whole(tmp_path, finance_mapping):
    path = tmp_path / "collections_1.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    rej = _rejected(_xls_mapping(finance_mapping), "collection", path)
    assert rej.rule == "FILE_FORMAT" and "legacy .xls" in rej.message


# ---------------------------------------------------------------- path safety
@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../secret.csv", "'..' would leave the landing folder"),
        ("sub/../../secret.csv", "'..'"),
        ("/etc/passwd", "absolute names are not allowed"),
        ("C:\\temp\\x.csv", "absolute names"),
        ("\\\\server\\share\\x.csv", "absolute names"),
        ("", "empty"),
        ("a\x00b.csv", "NUL"),
    ],
)
def test_unsafe_names(landing, name, words):
    with pytest.raises(UnsafePath) as exc:
        safe_landing_path(landing, name)
    assert words in str(exc.value)


def test_symlinks_devices_and_folders_refused(tmp_path, landing):
    outside = write_csv(tmp_path / "outside.csv", ORDER_HEADER, order_rows(1))
    (landing / "orders_link.csv").symlink_to(outside)
    (landing / "dirlink").symlink_to(tmp_path)
    (landing / "orders_null.csv").symlink_to("/dev/null")
    os.mkfifo(landing / "orders_fifo.csv")
    (landing / "orders_dir.csv").mkdir()
    write_csv(landing / "orders_ok.csv", ORDER_HEADER, order_rows(1))
    cases = {
        "orders_link.csv": "orders_link.csv is a symbolic link",
        "dirlink/outside.csv": "dirlink is a symbolic link",
        "orders_null.csv": "is a symbolic link",
        "orders_fifo.csv": "not a regular file",
        "orders_dir.csv": "not a regular file",
    }
    for name, words in cases.items():
        with pytest.raises(UnsafePath) as exc:
            safe_landing_path(landing, name)
        assert name in str(exc.value) and words in str(exc.value)
    with pytest.raises(UserError, match="not found"):
        safe_landing_path(landing, "orders_missing.csv")
    assert safe_landing_path(landing, "orders_ok.csv") == landing.resolve() / "orders_ok.csv"


def test_discover_lists_safe_matches_and_reports_refused(tmp_path, landing, finance_mapping):
    write_csv(landing / "orders_20261102.csv", ORDER_HEADER, [])
    write_csv(landing / "orders_20261101.csv", ORDER_HEADER, [])
    write_csv(landing / "invoices_20261101.csv", INVOICE_HEADER, [])
    (landing / ".orders_partial.csv").write_text("x")
    (landing / "orders_link.csv").symlink_to(landing / "orders_20261101.csv")
    names, refused = discover_files(finance_mapping, "sales_order", landing)
    assert names == ["orders_20261101.csv", "orders_20261102.csv"]
    assert [n for n, _ in refused] == ["orders_link.csv"]


def test_xlsx_two_row_header_with_vertically_merged_cells(tmp_path, finance_mapping):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "回款明细"
    ws.append(["回款明细表"])
    ws.merge_cells("A1:H1")
    # row 2: group labels and the names of the single-level columns (merged down to row 3)
    ws.append(
        ["收款单号", "发票号码", "收款日期", "客户", None, "收款金额(元)", "销售员工号", "备注"]
    )
    ws.append([None, None, None, "客户编码", "客户名称", None, None, None])
    for col in "ABCFGH":
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("D2:E2")
    ws.append(["SK1", "FP1", 46351, "C1", "客户一", "10.00", "E1", "备注"])
    wb.save(tmp_path / "collections_1.xlsx")
    out, stream = _read(finance_mapping, "collection", tmp_path / "collections_1.xlsx")
    assert stream.header_line == 3
    assert stream.headers[:7] == COLLECTION_HEADER
    assert [
        (line, r["collection_id"], r["customer_id"], r["amount_cny"]) for line, r, _ in out
    ] == [(4, "SK1", "C1", "10.00")]


def test_csv_title_lines_above_the_header_are_skipped(tmp_path, finance_mapping):
    path = tmp_path / "orders_1.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write("订单导出\n导出时间: 2026-11-27 01:00\n\n")
    with path.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(ORDER_HEADER)
        writer.writerows(order_rows(2))
    out, stream = _read(finance_mapping, "sales_order", path)
    assert stream.header_line == 4
    assert [line for line, _, _ in out] == [5, 6]
