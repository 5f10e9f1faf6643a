"""Property-based fuzzing of the CSV and XLSX readers: no row is ever lost.

For any file the generators produce, every data row written comes out of
the reader exactly once, either converted (loaded) or with problems
(quarantined): rows in = loaded + quarantined. Loaded rows carry exactly the
values written. The last test runs the same property through load_file and
PostgreSQL.
"""

from __future__ import annotations

import csv
import itertools
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from review_pipeline.sources.convert import convert_row
from review_pipeline.sources.files import read_rows
from review_pipeline.sources.mapping import bundled_mapping
from tests.sources.conftest import COLLECTION_HEADER, LOAD_TIME, ORDER_HEADER

FINANCE = bundled_mapping("sim_finance")
FUZZ = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
_names = itertools.count()

# Text a CSV can carry: any character but NUL and surrogates, with the nasty ones likely.
any_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        st.sampled_from(list(',;\t|"\n\r 　合计中文𠀀㐀')),
    ),
    max_size=12,
)
order_id = st.one_of(st.just(""), st.from_regex(r"SO[0-9A-Z]{1,6}", fullmatch=True))
order_date = st.sampled_from(["2026-11-02", "2026-02-30", "02/11/2026", "", "2026-1-2"])
amount = st.sampled_from(["1.00", "1,234,567.89", "１２", "-", "1.2.3", "abc", "(5.00)", ""])


@st.composite
def csv_rows(draw):
    row = [draw(order_id), draw(order_date)] + [draw(any_text) for _ in range(5)] + [draw(amount)]
    shape = draw(st.sampled_from(["ok"] * 6 + ["short", "long"]))
    if shape == "short":
        row = row[: draw(st.integers(2, 7))]
    elif shape == "long":
        row = row + [draw(any_text)]
    return row


def _write_csv(folder: Path, rows, delimiter: str, encoding: str) -> Path:
    path = folder / f"orders_{next(_names)}.csv"
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(ORDER_HEADER)
        writer.writerows(rows)
    return path


def _drain(mapping, entity, path):
    stream, plan = read_rows(mapping, entity, path, LOAD_TIME)
    loaded, quarantined = [], []
    for item in stream.rows:
        if item.problem is not None:
            quarantined.append(item)
            continue
        row, problems = convert_row(plan, item.values)
        if problems:
            quarantined.append(item)
        else:
            loaded.append((item, row))
    return stream, loaded, quarantined


@pytest.mark.unit
@FUZZ
@given(
    rows=st.lists(csv_rows(), max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_csv_reader_loses_no_row(rows, delimiter, encoding):
    with tempfile.TemporaryDirectory() as folder:
        path = _write_csv(Path(folder), rows, delimiter, encoding)
        stream, loaded, quarantined = _drain(FINANCE, "sales_order", path)
    # a row of only blank cells is not a row; the generators make none with an id
    expected = [r for r in rows if any(c.strip() for c in r)]
    assert len(loaded) + len(quarantined) + len(stream.dropped) == len(expected)
    lines = [item.line_no for item, _ in loaded] + [item.line_no for item in quarantined]
    assert len(set(lines)) == len(lines)
    for item, row in loaded:
        written = expected[_index_of(expected, item.values)]
        assert row["order_id"] == written[0].strip()
        assert item.values["客户名称"] == written[3]


def _index_of(rows, values) -> int:
    cells = list(values.values())
    return next(i for i, r in enumerate(rows) if r == cells)


# ---------------------------------------------------------------------- XLSX
cell = st.one_of(
    st.none(),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10
    ),  # openpyxl refuses control characters
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 12, 31)),
    st.sampled_from(["1,000.00", "46351", "合计", "SK1", "  ", "2026-11-02"]),
)


@st.composite
def xlsx_rows(draw):
    key = draw(st.one_of(st.none(), st.from_regex(r"SK[0-9]{1,4}", fullmatch=True)))
    return [key] + [draw(cell) for _ in range(draw(st.integers(0, 8)))]


@pytest.mark.unit
@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(rows=st.lists(xlsx_rows(), max_size=12), title=st.booleans())
def test_xlsx_reader_loses_no_row(rows, title):
    import openpyxl

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "collections_1.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "回款明细"
        if title:
            ws.append(["公司"])
            ws.merge_cells("A1:C1")
            ws.append([None])
        ws.append(COLLECTION_HEADER)
        for r in rows:
            ws.append(r)
            # openpyxl would store text starting with "=" as a formula (with no cached value);
            # an ERP export holds such text as a string cell, which the reader must keep.
            for c in ws[ws.max_row]:
                if isinstance(c.value, str) and c.value.startswith("="):
                    c.data_type = "s"
        wb.save(path)
        stream, loaded, quarantined = _drain(FINANCE, "collection", path)

    def blank(c):
        return c is None or (isinstance(c, str) and not c.strip())

    written = [r for r in rows if not all(blank(c) for c in r)]
    assert len(loaded) + len(quarantined) + len(stream.dropped) == len(written)
    for _item, row in loaded:
        assert row["collection_id"] is not None and row["collection_id"].startswith("SK")


# ------------------------------------------------------------ through the DB
@pytest.mark.integration
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(csv_rows(), max_size=10), delimiter=st.sampled_from([",", ";"]))
def test_load_file_invariant_in_postgres(_files_engine, rows, delimiter):
    import sqlalchemy as sa

    from review_pipeline.sources.files import load_file

    with tempfile.TemporaryDirectory() as folder:
        landing = Path(folder) / "landing"
        landing.mkdir()
        # a unique last row: the manifest would skip content it has seen before
        rows = [*rows, [f"SOU{next(_names)}", "2026-11-02", "", "", "", "", "", "1.00"]]
        path = _write_csv(landing, rows, delimiter, "utf-8-sig")
        with _files_engine.connect() as conn:
            result = load_file(
                conn,
                FINANCE,
                "sales_order",
                path.name,
                landing_dir=landing,
                archive=False,
                load_time=LOAD_TIME,
            )
            conn.commit()
    assert result.status == "loaded", result.message
    assert result.rows_in == result.rows_loaded + result.rows_quarantined
    assert result.rows_in + result.rows_dropped == len(
        [r for r in rows if any(c.strip() for c in r)]
    )
    with _files_engine.connect() as conn:
        counts = conn.execute(
            sa.text(
                "select (select count(*) from raw.file_sales_order where file_id = :f),"
                " (select count(distinct line_no) from quarantine.file_row where file_id = :f),"
                " (select rows_in from ops.file_manifest where file_id = :f)"
            ),
            {"f": result.file_id},
        ).one()
    assert tuple(counts) == (result.rows_loaded, result.rows_quarantined, result.rows_in)
