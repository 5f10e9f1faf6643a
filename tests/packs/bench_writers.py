"""Benchmark (not a test): the packs' openpyxl writer against XlsxWriter on the same rows.

Reads one report's rows for a review date from the warehouse of the current
settings (``REVIEW_WAREHOUSE_URL``), renders them as the packs do, then
writes them

* with the packs' own path (:func:`review_pipeline.packs.workbook.write_pack`,
  openpyxl write-only mode, data rows as sheet XML), and
* with XlsxWriter in ``constant_memory`` mode, the same values, number
  formats and quote prefixes, cell by cell,

and prints the CPU seconds of each (minus an empty run's fixed cost) and the
file sizes. XlsxWriter is not a dependency: install it anywhere and point
``--xlsxwriter-path`` at it::

    pip install --target /tmp/xlsxw xlsxwriter
    python -m tests.packs.bench_writers --date 2026-11-22 --report lead-ledger \\
        --xlsxwriter-path /tmp/xlsxw
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


def _cpu(run: Callable[[list[dict[str, Any]]], None], rows: list[dict[str, Any]]) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        run(rows)
        best = min(best, time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> None:
    import sqlalchemy as sa

    from review_pipeline.db import warehouse_engine
    from review_pipeline.packs import workbook as w
    from review_pipeline.packs.pipeline import _columns_of, _names, _region_names_differ
    from review_pipeline.packs.safety import safe_value
    from review_pipeline.packs.source import Manager
    from review_pipeline.reports.catalog import get_report
    from review_pipeline.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, help="review date (YYYY-MM-DD)")
    parser.add_argument("--report", default="lead-ledger")
    parser.add_argument("--repeat", type=int, default=1, help="write the rows this many times")
    parser.add_argument("--xlsxwriter-path", default=None, help="where XlsxWriter is installed")
    args = parser.parse_args(argv)

    settings = load_settings()
    day = date.fromisoformat(args.date)
    report = get_report(args.report)
    with warehouse_engine(settings).connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                sa.text(
                    f"select * from mart.{report.table} where review_date = :d"
                    f" order by {', '.join(report.order_by)}"
                ),
                {"d": day},
            ).mappings()
        ] * args.repeat
        source_columns = _columns_of(conn, report)
        names = _names(conn, day, settings.language)
    region_names = _region_names_differ(names)
    print(f"{report.name}: {len(rows):,} rows, {len(source_columns)} mart columns")
    out = Path(tempfile.mkdtemp(prefix="bench-writers-"))
    manager = Manager("M", "M", "m@example.com", True, None, 1, "company", None)
    meta = w.PackMeta(
        kind="weekly",
        period="bench",
        review_date=day,
        language=settings.language,
        timezone=settings.timezone,
        data_as_of=datetime(2026, 1, 1, tzinfo=ZoneInfo(settings.timezone)),
        as_of_known=True,
        manager=manager,
        title="bench",
        scope_label="bench",
    )

    def packs_path(data: list[dict[str, Any]]) -> None:
        spec = w.SheetInput(report=report, columns=source_columns, count=len(data), rows=data)
        w.write_pack(
            out / "openpyxl.xlsx", meta, iter([spec]), names=names, region_names=region_names,
            advice=None,
        )  # fmt: skip

    columns = w._columns(report, source_columns, settings.language, region_names)
    render = w._SheetWriter(settings.language, names, w.Limits()).render

    def xlsxwriter_path(data: list[dict[str, Any]]) -> None:
        import xlsxwriter

        book = xlsxwriter.Workbook(
            str(out / "xlsxwriter.xlsx"),
            {"constant_memory": True, "strings_to_formulas": False,
             "strings_to_numbers": False, "strings_to_urls": False},
        )  # fmt: skip
        formats = {
            kind: book.add_format({"num_format": code})
            for kind, code in (
                ("cny", w.CNY_FORMAT), ("pct", w.PCT_FORMAT), ("pts", w.PTS_FORMAT),
                ("int", w.INT_FORMAT), ("date", w.DATE_FORMAT), ("month", w.MONTH_FORMAT),
            )
        }  # fmt: skip
        guard = book.add_format({"quote_prefix": True})
        header = book.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78"})
        sheet = book.add_worksheet(report.number)
        sheet.freeze_panes(w.HEADER_ROW, 0)
        sheet.write_row(w.HEADER_ROW - 1, 0, [c.label for c in columns], header)
        r = w.HEADER_ROW
        for row in data:
            for i, column in enumerate(columns):
                safe = safe_value(render(column, row))
                v = safe.value
                if v is None:
                    continue
                if isinstance(v, str):
                    sheet.write_string(r, i, v, guard if safe.as_text else None)
                elif isinstance(v, bool):
                    sheet.write_boolean(r, i, v)
                elif isinstance(v, date):
                    sheet.write_datetime(
                        r, i, v, formats["month" if column.kind == "month" else "date"]
                    )
                else:
                    kind = (
                        column.kind
                        if column.kind in ("cny", "pct", "pts")
                        else ("int" if isinstance(v, int) else "cny")
                    )
                    sheet.write_number(r, i, float(v), formats[kind])
            r += 1
        sheet.autofilter(w.HEADER_ROW - 1, 0, max(r - 1, w.HEADER_ROW - 1), len(columns) - 1)
        book.close()

    runs: list[tuple[str, Callable[[list[dict[str, Any]]], None], str]] = [
        ("packs (openpyxl, XML rows)", packs_path, "openpyxl.xlsx")
    ]
    if args.xlsxwriter_path:
        sys.path.insert(0, args.xlsxwriter_path)
        runs.append(("XlsxWriter constant_memory", xlsxwriter_path, "xlsxwriter.xlsx"))
    for label, run, file_name in runs:
        fixed = _cpu(run, [])
        total = _cpu(run, rows)
        per_row = 1e6 * (total - fixed) / max(1, len(rows))
        size = (out / file_name).stat().st_size / 1e6
        print(f"{label:<30} {total:6.2f} s CPU ({per_row:4.0f} us a row), {size:.2f} MB")


if __name__ == "__main__":
    main()
