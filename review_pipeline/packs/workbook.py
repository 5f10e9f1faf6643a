"""Write one review pack: an .xlsx workbook streamed with openpyxl's write-only mode.

Sheets, in order: the action items (when the advice stage is installed), the
cover (scope, business units, review date, data as-of time with its time
zone, headline figures, RED projects, contents, native charts), then one
sheet per report. Every report sheet has the same shape::

    row 1  title                       (R6 线索台账)
    row 2  scope · review date · data as of (time zone) · row count
    row 3  a note when the sheet was cut at Excel's limits (else empty)
    row 4  header: bold, filled, wrapped, frozen, with filters
    row 5+ data: CNY as #,##0.00, ratios as 0.0%, dates as dates,
           check flags coloured by conditional formatting

Rows stream straight from the database cursor into the sheet, so memory does
not grow with the size of a scope. Sheets the workbook shows first (advice,
cover) are written last: a write-only sheet may be filled at any time until
the workbook is saved.

The file is deterministic: document times are the data's as-of time, zip
entries carry that time too, and nothing random is written, so the same data
gives the same bytes (and sha256) on every rebuild.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _escape
from zoneinfo import ZoneInfo

from openpyxl.utils.datetime import to_excel as _to_excel
from openpyxl.worksheet._writer import WorksheetWriter

from review_pipeline.packs.caps import cap_note, cap_short
from review_pipeline.packs.naming import sheet_name
from review_pipeline.packs.safety import (
    MAX_CELL_CHARS,
    MAX_SHEET_ROWS,
    clean_text,
    needs_text_guard,
    safe_value,
)
from review_pipeline.packs.source import Manager
from review_pipeline.packs.summary import SummaryCollector, reason_label
from review_pipeline.reports.catalog import Report
from review_pipeline.reports.labels import (
    VALUE_LABELS,
    column_label,
    is_ratio,
    pack_label,
    title,
    value_label,
)

_INF = float("inf")
HEADER_ROW = 4
FIRST_DATA_ROW = HEADER_ROW + 1
WIDTH_SAMPLE_ROWS = 50
# a sheet of at most this many rows keeps its XML in memory (a few MB) instead of
# openpyxl's temporary file: creating, reopening and deleting ~13 files per pack
# cost 1.5-2 ms each on this disk; larger sheets stream to a file (flat memory)
MEMORY_SHEET_ROWS = 10_000
# deflate level of the workbook's zip entries: level 1 compresses sheet XML three
# times faster than zlib's default 6 (380 vs 130 MB/s measured) for a file about
# a quarter larger (a capped pack stays a few MB, far below the mail limit)
ZIP_LEVEL = 1
# distinct texts whose cell XML a sheet remembers (labels, names, codes repeat)
TEXT_CACHE_SIZE = 20_000

CNY_FORMAT = "#,##0.00"
PCT_FORMAT = "0.0%"
INT_FORMAT = "#,##0"
PTS_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
MONTH_FORMAT = "yyyy-mm"

HEADER_FILL = "1F4E78"
FLAG_COLOURS = {
    "RED": ("FFC7CE", "9C0006"),
    "YELLOW": ("FFEB9C", "9C5700"),
    "GREEN": ("C6EFCE", "006100"),
}

_MONTH_COLUMNS = {"month_start", "target_month", "accuracy_month"}
_DATE_COLUMNS = {"period_start", "period_end", "due_date", "created_on", "last_visit_date"}
_LIST_COLUMNS = {"check_reasons", "finding_rule_ids"}
# column kinds whose display value is the value itself (booleans as yes/no)
_PLAIN_KINDS = frozenset({"value", "cny", "pct", "pts", "date", "month"})
_NEGATIVE_RED = ("_change_cny", "_growth_ratio", "_change_pts")
# internal columns a reader does not need (constant for the whole pack)
_HIDDEN_COLUMNS = {"review_date"}


# ----------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class PackMeta:
    """What a pack is about (the same for all its sheets)."""

    kind: str  # weekly | monthly
    period: str
    review_date: date
    language: str
    timezone: str
    data_as_of: datetime  # aware, in ``timezone``
    as_of_known: bool
    manager: Manager
    title: str
    scope_label: str

    @property
    def as_of_text(self) -> str:
        """``2026-11-23 02:14 (Asia/Shanghai, UTC+08:00)``."""
        offset = self.data_as_of.strftime("%z")
        stamp = f"{self.data_as_of:%Y-%m-%d %H:%M} ({self.timezone}, UTC{offset[:3]}:{offset[3:]})"
        if not self.as_of_known:
            stamp += " · " + pack_label("data_as_of_unknown", self.language)
        return stamp


@dataclass
class SheetInput:
    """One report's rows for the pack: columns, row count, and the rows themselves."""

    report: Report
    columns: Sequence[str]
    count: int  # the scope's rows (before any cap)
    rows: Iterable[dict[str, Any]]
    cap: int = 0  # show at most this many (packs.caps; the source returns no more); 0 = all


@dataclass
class AdviceEntry:
    """An advice item as the pack shows it (from ``review_pipeline.advice``)."""

    rule_id: str
    severity: str
    subject: str
    action: str
    stake_cny: float
    since: str
    status: str
    sheet: str  # report number it cites (R1..R9)
    row_key: Mapping[str, Any]
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Limits:
    """Excel's limits; lowered in tests to exercise the cut logic."""

    max_rows: int = MAX_SHEET_ROWS
    max_chars: int = MAX_CELL_CHARS


@dataclass
class WrittenPack:
    summary: dict[str, Any]
    sheets: dict[str, dict[str, Any]]
    rows_written: int
    empty: bool


# ------------------------------------------------------------------ deterministic zip
class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry one fixed time (no wall clock in the bytes)."""

    def __init__(self, path: Path, stamp: tuple[int, int, int, int, int, int]) -> None:
        super().__init__(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=ZIP_LEVEL)
        self._stamp = stamp

    def _info(self, arcname: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(arcname, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = ZIP_LEVEL  # type: ignore[attr-defined]
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(str(zinfo_or_arcname))
        super().writestr(zinfo_or_arcname, data)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        if isinstance(filename, BytesIO):  # a sheet kept in memory (_MemorySheetWriter)
            info = self._info(str(arcname))
            info.file_size = filename.getbuffer().nbytes
            filename.seek(0)
            with self.open(info, "w", force_zip64=True) as target:
                shutil.copyfileobj(filename, target, 1024 * 1024)
            return
        info = self._info(str(arcname if arcname is not None else os.path.basename(filename)))
        info.file_size = os.path.getsize(filename)
        with open(filename, "rb") as source, self.open(info, "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, 1024 * 1024)


def save_deterministic(wb: Any, path: Path, moment: datetime) -> None:
    """Save ``wb`` to ``path`` with fixed document and zip-entry times."""
    from openpyxl.writer.excel import ExcelWriter

    naive_utc = moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    wb.properties.created = naive_utc
    wb.properties.modified = naive_utc
    stamp = max(moment.replace(tzinfo=None), datetime(1980, 1, 1)).timetuple()[:6]
    archive = _FixedTimeZip(path, stamp)  # type: ignore[arg-type]
    try:
        ExcelWriter(wb, archive).save()
    except BaseException:
        archive.close()
        raise


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------ styles
class _Styles:
    """Style templates (StyleArrays) copied onto cells: much cheaper than per-cell styling."""

    def __init__(self, ws: Any) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self._cache: dict[str, Any] = {}

        def template(**attrs: Any) -> Any:
            cell = WriteOnlyCell(ws)
            for key, value in attrs.items():
                setattr(cell, key, value)
            return cell._style

        thin = Side(style="thin", color="9BC2E6")
        self.header = template(
            font=Font(bold=True, color="FFFFFF"),
            fill=PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL),
            alignment=Alignment(wrap_text=True, vertical="center", horizontal="center"),
            border=Border(bottom=thin),
        )
        self.title = template(font=Font(bold=True, size=14, color=HEADER_FILL))
        self.stamp = template(font=Font(italic=True, color="595959"))
        self.note = template(font=Font(bold=True, color="C00000"))
        self.section = template(font=Font(bold=True, size=12, color=HEADER_FILL))
        self.label = template(font=Font(bold=True))
        self.link = template(font=Font(color="0563C1", underline="single"))
        self.cut = template(font=Font(italic=True, color="C00000"))
        self.text_guard = template(quotePrefix=True)
        self.cny = template(number_format=CNY_FORMAT)
        self.pct = template(number_format=PCT_FORMAT)
        self.int = template(number_format=INT_FORMAT)
        self.pts = template(number_format=PTS_FORMAT)
        self.date = template(number_format=DATE_FORMAT)
        self.month = template(number_format=MONTH_FORMAT)
        self.datetime = template(number_format="yyyy-mm-dd hh:mm")


# value type -> Excel cell type; anything else goes through openpyxl's own inference
_CELL_TYPES: dict[type, str] = {
    int: "n",
    float: "n",
    Decimal: "n",
    bool: "b",
    str: "s",
    date: "d",
    datetime: "d",
}


def _cell(ws: Any, value: Any, style: Any = None) -> Any:
    """A write-only cell; text is always a string cell (never a formula or an error)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws)
    if value is not None:
        code = _CELL_TYPES.get(type(value))
        if code is None:
            cell.value = value
        else:
            if code == "s":
                value = clean_text(value)[0]
            cell._value = value
            cell.data_type = code
    if style is not None:
        cell._style = copy(style)
    return cell


def _cells_to_row(values: Iterable[Any], row_idx: int) -> Any:
    """Replacement of ``WriteOnlyWorksheet._values_to_row`` for rows made of ready cells.

    openpyxl first tries to assign each value to a scratch cell and only takes
    a Cell after that fails (an exception per cell); every row written here is
    already a list of cells (or None), so they are placed directly.
    """
    if isinstance(values, _RawRow):
        return values  # written as it is by _RawRows.enable's write_row
    return _placed(values, row_idx)


def _placed(values: Iterable[Any], row_idx: int) -> Iterator[Any]:
    for col_idx, cell in enumerate(values, 1):
        if cell is None:
            continue
        cell.column = col_idx
        cell.row = row_idx
        if cell.hyperlink is not None:
            cell.hyperlink.ref = cell.coordinate
        yield cell


class _MemorySheetWriter(WorksheetWriter):  # type: ignore[misc]
    """openpyxl's sheet writer with its XML in memory instead of a temporary file."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws, out=BytesIO())

    def cleanup(self) -> None:
        self.out = BytesIO()  # the archive has copied it: release the memory


def _sheet(wb: Any, title: str, *, memory: bool = True) -> Any:
    """A write-only sheet taking ready-made rows; ``memory``: no temporary file."""
    ws = wb.create_sheet(title)
    ws._values_to_row = _cells_to_row
    if memory:

        def get_writer() -> None:  # WriteOnlyWorksheet._get_writer, with the memory writer
            if ws._writer is None:
                ws._writer = _MemorySheetWriter(ws)
                ws._writer.write_top()

        ws._get_writer = get_writer
    return ws


def _display_width(text: str) -> int:
    """Columns a text needs: CJK characters are two wide."""
    if text.isascii():
        return len(text)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


# ------------------------------------------------------------------- report sheets
@dataclass
class _Column:
    name: str
    label: str
    kind: str  # cny pct pts int date month bool coded list dict text name


def _column_kind(name: str) -> str:
    if name.endswith("_cny"):
        return "cny"
    if is_ratio(name):
        return "pct"
    if name.endswith("_pts"):
        return "pts"
    if name in _MONTH_COLUMNS:
        return "month"
    if name in _DATE_COLUMNS or name.endswith("_date"):
        return "date"
    if name in VALUE_LABELS:
        return "coded"
    if name in _LIST_COLUMNS:
        return "list"
    if name == "findings_by_rule":
        return "dict"
    return "value"


def _columns(
    report: Report, source: Sequence[str], language: str, region_names: bool
) -> list[_Column]:
    """The sheet's columns: the mart's (minus internals) with name columns beside the codes."""
    names: list[str] = []
    present = set(source)
    for column in source:
        if column in _HIDDEN_COLUMNS:
            continue
        names.append(column)
        if column == "region_code" and region_names and "region_name" not in present:
            names.append("region_name")
        if column == "team_id" and "team_name" not in present:
            names.append("team_name")
        if column == "owner_id" and "owner_name" not in present:
            names.append("owner_name")
    labels = {column: column_label(column, language) for column in names}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    out = []
    for column in names:
        label = labels[column]
        if counts[label] > 1 and column.endswith(("_id", "_code")):
            # an id next to its name: say which is which
            label += "（编号）" if language == "zh-CN" else " (id)"
        added = column in ("region_name", "team_name") or (
            column == "owner_name" and column not in present
        )
        out.append(_Column(column, label, "name" if added else _column_kind(column)))
    return out


class _SheetWriter:
    """Renders rows of one report into cells (shared across packs of a build)."""

    def __init__(self, language: str, names: Mapping[tuple[str, str], str], limits: Limits) -> None:
        self.language = language
        self.names = names
        self.limits = limits
        self.yes = pack_label("yes", language)
        self.no = pack_label("no", language)
        self.marker = pack_label("cut_marker", language)

    def render(self, column: _Column, row: Mapping[str, Any]) -> Any:
        """The display value of ``column`` in ``row`` (labels applied, names looked up)."""
        if column.kind in _PLAIN_KINDS:  # the common case, once per value written
            value = row.get(column.name)
            t = type(value)
            if t is bool:
                return self.yes if value else self.no
            if t is datetime and value.tzinfo is not None:  # type: ignore[union-attr]
                return value.replace(tzinfo=None)  # type: ignore[union-attr]
            return value
        if column.kind == "name":
            key = {"region_name": ("region", "region_code"), "team_name": ("team", "team_id"),
                   "owner_name": ("employee", "owner_id")}[column.name]  # fmt: skip
            code = row.get(key[1])
            return None if code is None else self.names.get((key[0], str(code)), None)
        value = row.get(column.name)
        if value is None:
            return None
        if column.kind == "coded":
            return value_label(column.name, str(value), self.language)
        if column.kind == "list" and isinstance(value, list | tuple):
            if column.name == "check_reasons":
                sep = "、" if self.language == "zh-CN" else ", "
                return sep.join(reason_label(str(v), self.language) for v in value)
            return ", ".join(str(v) for v in value)
        if column.kind == "dict" and isinstance(value, dict):
            return ", ".join(f"{k}: {value[k]}" for k in sorted(value))
        if isinstance(value, bool):
            return self.yes if value else self.no
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value

    def cell(self, ws: Any, styles: _Styles, column: _Column, value: Any) -> tuple[Any, bool]:
        """A cell for a rendered value; returns (cell, was_cut)."""
        safe = safe_value(value, max_chars=self.limits.max_chars)
        v = safe.value
        if v is None:
            return None, False
        if isinstance(v, str):
            if safe.cut:
                v = v[: self.limits.max_chars - len(self.marker)] + self.marker
                return _cell(ws, v, styles.cut), True
            return _cell(ws, v, styles.text_guard if safe.as_text else None), False
        kind = column.kind
        if kind in ("cny", "pct", "pts", "date", "month"):
            return _cell(ws, v, getattr(styles, kind)), False
        if isinstance(v, datetime):
            return _cell(ws, v, styles.datetime), False
        if isinstance(v, date):
            return _cell(ws, v, styles.date), False
        if isinstance(v, int) and not isinstance(v, bool):
            return _cell(ws, v, styles.int), False
        if isinstance(v, Decimal | float):
            return _cell(ws, v, styles.cny), False
        return _cell(ws, v), False


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _flag_rules(ws: Any, column_letter: str, last_row: int, language: str) -> None:
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill

    ref = f"{column_letter}{FIRST_DATA_ROW}:{column_letter}{last_row}"
    for flag, (fill, font) in FLAG_COLOURS.items():
        text = value_label("check_flag", flag, language).replace('"', '""')
        ws.conditional_formatting.add(
            ref,
            CellIsRule(
                operator="equal",
                formula=[f'"{text}"'],
                fill=PatternFill("solid", start_color=fill, end_color=fill),
                font=Font(color=font, bold=flag == "RED"),
            ),
        )


def _negative_rule(ws: Any, column_letter: str, last_row: int) -> None:
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font

    ref = f"{column_letter}{FIRST_DATA_ROW}:{column_letter}{last_row}"
    ws.conditional_formatting.add(
        ref, CellIsRule(operator="lessThan", formula=["0"], font=Font(color="C00000"))
    )


class _RawRow(tuple):  # type: ignore[type-arg]
    """A data row already rendered as sheet XML (one ``<row>`` element)."""


class _RawRows:
    """Writes data rows as XML text straight into a write-only sheet's stream.

    openpyxl spends most of a large sheet's time building a Cell per value
    and serialising it element by element; a data row here is one string
    built from the same safe values (so the same cells: numbers, inline
    strings with the quote-prefix style, dates as serial numbers with a date
    style). Only possible with openpyxl's own XML writer (``et_xmlfile``,
    used when lxml is absent), whose output stream is reachable; otherwise
    :meth:`enable` says no and rows go through openpyxl cells.
    """

    def __init__(self, ws: Any, styles: _Styles, writer: _SheetWriter) -> None:
        self.ws = ws
        self.writer = writer
        self.limit = writer.limits.max_chars
        self.marker = writer.marker
        book = ws.parent
        self.ids = {
            name: book._cell_styles.add(getattr(styles, name))
            for name in (
                "cny",
                "pct",
                "pts",
                "int",
                "date",
                "month",
                "datetime",
                "text_guard",
                "cut",
            )
        }
        self.epoch = book.epoch
        self._texts: dict[str, tuple[str, bool]] = {}
        self._serials: dict[date, Any] = {}  # dates repeat: their Excel serial numbers

    def enable(self) -> bool:
        """Route :class:`_RawRow` rows around openpyxl's cells; False when not possible."""
        from openpyxl import LXML

        sheet_writer = getattr(self.ws, "_writer", None)
        if LXML or sheet_writer is None:
            return False
        original = sheet_writer.write_row

        def write_row(xf: Any, row: Any, row_idx: int) -> None:
            if isinstance(row, _RawRow):
                raw_write = getattr(xf, "_file", None)
                if raw_write is None:  # et_xmlfile changed its insides
                    raise RuntimeError(
                        "openpyxl's XML stream no longer takes raw rows; "
                        "write packs with raw_rows=False and report this"
                    )
                raw_write(row[0])
            else:
                original(xf, row, row_idx)

        sheet_writer.write_row = write_row
        return True

    def _style(self, sid: int) -> str:
        return f' s="{sid}"' if sid else ""

    def cell(self, ref: str, column: _Column, value: Any) -> tuple[str, bool]:
        """The ``<c>`` element of one value; returns (xml, was_cut).

        The common types are dispatched directly (this runs once per value);
        anything else goes through :func:`safe_value` first.
        """
        kind = column.kind
        t = type(value)
        if t is str:
            tail = self._texts.get(value)
            if tail is None:
                tail = self._text_tail(value)
                if len(self._texts) < TEXT_CACHE_SIZE:
                    self._texts[value] = tail
            return (f'<c r="{ref}"{tail[0]}' if tail[0] else ""), tail[1]
        if value is None:
            return "", False
        if t is Decimal or t is int or t is float:
            if (t is Decimal and not value.is_finite()) or (
                t is float and (value != value or value in (_INF, -_INF))
            ):
                return "", False
            if kind in ("cny", "pct", "pts"):
                sid = self.ids[kind]
            else:
                sid = self.ids["int"] if t is int else self.ids["cny"]
            number = repr(value) if t is float else str(value)
            return f'<c r="{ref}"{self._style(sid)}><v>{number}</v></c>', False
        if t is date or t is datetime:
            return self._date(ref, kind, value), False
        if t is bool:
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>', False
        safe = safe_value(value, max_chars=self.limit)
        if safe.value is None:
            return "", False
        if isinstance(safe.value, str):
            return self._text(ref, safe.value)
        return self.cell(ref, column, safe.value)

    def _date(self, ref: str, kind: str, value: date) -> str:
        """A date (or naive datetime) cell: its Excel serial number with a date style."""
        if kind in ("date", "month"):
            name = kind
        else:
            name = "datetime" if type(value) is datetime else "date"
        if isinstance(value, datetime) and value.tzinfo is not None:
            raise ValueError(f"a time-zone-aware datetime {value!r} reached a cell")
        serial = self._serials.get(value)
        if serial is None:
            serial = self._serials[value] = _to_excel(value, self.epoch)
        return f'<c r="{ref}"{self._style(self.ids[name])}><v>{serial}</v></c>'

    def _text(self, ref: str, value: str) -> tuple[str, bool]:
        tail, cut = self._text_tail(value)
        return (f'<c r="{ref}"{tail}' if tail else ""), cut

    def _text_tail(self, value: str) -> tuple[str, bool]:
        """A text cell's XML after its reference (empty for an empty text), and was_cut.

        Cached per text by :meth:`cell` (labels, names and codes repeat on every row)."""
        text, cut = clean_text(value, max_chars=self.limit)
        if not text:
            return "", False
        if cut:
            text = text[: self.limit - len(self.marker)] + self.marker
            sid = self.ids["cut"]
        else:
            sid = self.ids["text_guard"] if needs_text_guard(text) else 0
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return (
            f'{self._style(sid)} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>',
            cut,
        )

    def text_row(
        self, letters: Sequence[str], texts: Sequence[str], row_idx: int, style: Any
    ) -> _RawRow:
        """A row of texts in one style (the header), as :func:`_cell` would write them."""
        sid = self.ws.parent._cell_styles.add(style)
        parts = [f'<row r="{row_idx}">']
        for letter, value in zip(letters, texts, strict=True):
            text = clean_text(value)[0]
            if text:
                space = ' xml:space="preserve"' if text != text.strip() else ""
                parts.append(
                    f'<c r="{letter}{row_idx}"{self._style(sid)} t="inlineStr">'
                    f"<is><t{space}>{_escape(text)}</t></is></c>"
                )
        parts.append("</row>")
        return _RawRow(("".join(parts),))

    def row(
        self,
        letters: Sequence[str],
        columns: Sequence[_Column],
        values: Sequence[Any],
        row_idx: int,
    ) -> tuple[_RawRow, int]:
        parts = [f'<row r="{row_idx}">']
        cut = 0
        texts = self._texts
        for letter, column, value in zip(letters, columns, values, strict=True):
            if value is None:
                continue
            if type(value) is str and value in texts:  # :meth:`cell`'s cached text, inline
                tail, was_cut = texts[value]
                if tail:
                    parts.append(f'<c r="{letter}{row_idx}"{tail}')
                    cut += was_cut
                continue
            xml, was_cut = self.cell(f"{letter}{row_idx}", column, value)
            parts.append(xml)
            cut += was_cut
        parts.append("</row>")
        return _RawRow(("".join(parts),)), cut


def write_report_sheet(
    ws: Any,
    styles: _Styles,
    writer: _SheetWriter,
    meta: PackMeta,
    spec: SheetInput,
    columns: list[_Column],
    on_row: Callable[[dict[str, Any], int], None],
    *,
    raw: bool = True,
) -> dict[str, Any]:
    """Stream one report into ``ws``; returns its sheet record (rows, cut, cells_cut).

    ``raw`` writes the data rows as XML text (:class:`_RawRows`) when openpyxl's
    writer allows it; False forces openpyxl cells (the tests compare both).
    """
    from openpyxl.utils import get_column_letter

    language = meta.language
    capacity = writer.limits.max_rows - HEADER_ROW
    capped = 0 < spec.cap < spec.count
    shown = min(spec.count, capacity, spec.cap if capped else spec.count)
    rows = iter(spec.rows)

    render = writer.render
    # column widths must be set before the first row is written: measure a sample
    # (rendered once: the same values are written below)
    sample: list[tuple[dict[str, Any], list[Any]]] = []
    for row in rows:
        sample.append((row, [render(c, row) for c in columns]))
        if len(sample) >= WIDTH_SAMPLE_ROWS:
            break
    _set_widths(ws, columns, [values for _, values in sample])
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"

    label = f"{spec.report.number} {title(spec.report.name, language)}"
    ws.append([_cell(ws, label, styles.title)])
    stamp = " · ".join(
        [
            f"{pack_label('scope', language)}: {meta.scope_label}",
            f"{pack_label('review_date', language)}: {meta.review_date.isoformat()}",
            f"{pack_label('data_as_of', language)}: {meta.as_of_text}",
            f"{pack_label('rows', language)}: {spec.count:,}",
        ]
    )
    ws.append([_cell(ws, stamp, styles.stamp)])
    cut_rows = shown < spec.count and not capped
    ws.append(_note_row(ws, styles, meta, spec, shown, capped=capped))
    letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]
    fast = _RawRows(ws, styles, writer) if raw else None
    if fast is not None and not fast.enable():
        fast = None
    if fast is not None:
        ws.append(fast.text_row(letters, [c.label for c in columns], HEADER_ROW, styles.header))
    else:
        ws.append([_cell(ws, c.label, styles.header) for c in columns])

    written = 0
    cells_cut = 0
    excel_row = FIRST_DATA_ROW

    def emit(row: dict[str, Any], values: list[Any]) -> None:
        nonlocal written, cells_cut, excel_row
        if fast is not None:
            xml_row, cut = fast.row(letters, columns, values, excel_row)
            cells_cut += cut
            ws.append(xml_row)
        else:
            cells = []
            for column, value in zip(columns, values, strict=True):
                cell, was_cut = writer.cell(ws, styles, column, value)
                cells_cut += was_cut
                cells.append(cell)
            ws.append(cells)
        on_row(row, excel_row)
        written += 1
        excel_row += 1

    for row, values in sample:
        if written < shown:
            emit(row, values)
    for row in rows:
        if written < shown:
            emit(row, [render(c, row) for c in columns])
        # rows past the limit are read and dropped: the stream must be drained

    last_row = HEADER_ROW + written
    last_col = get_column_letter(max(1, len(columns)))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{max(last_row, HEADER_ROW)}"
    if written:
        _conditional_formats(ws, columns, last_row, language)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    return {
        "rows": spec.count,
        "written": written,
        "cut": cut_rows,
        "capped": capped,
        "cells_cut": cells_cut,
    }


def _note_row(
    ws: Any, styles: _Styles, meta: PackMeta, spec: SheetInput, shown: int, *, capped: bool
) -> list[Any]:
    """Row 3 of a report sheet: the cap's note, the Excel-limit note, "no rows", or nothing."""
    language = meta.language
    if capped:
        note = cap_note(
            spec.report,
            shown=shown,
            total=spec.count,
            review_date=meta.review_date,
            manager_id=meta.manager.manager_id,
            language=language,
        )
        return [_cell(ws, note, styles.note)]
    if shown < spec.count:
        note = pack_label("rows_cut", language).format(shown=shown, total=spec.count)
        return [_cell(ws, note, styles.note)]
    if spec.count == 0:
        return [_cell(ws, pack_label("empty_sheet", language), styles.stamp)]
    return []


def _contents_note(record: Mapping[str, Any], lang: str) -> str:
    """The cover's note beside a sheet in the contents (rows capped or cut, cells cut)."""
    note = ""
    if record.get("capped"):
        note = cap_short(record["written"], record["rows"], lang)
    if record.get("cut"):
        note = pack_label("rows_cut", lang).format(shown=record["written"], total=record["rows"])
    if record.get("cells_cut"):
        note = (note + " " if note else "") + pack_label("cells_cut", lang).format(
            count=record["cells_cut"]
        )
    return note


def _set_widths(ws: Any, columns: list[_Column], sample: list[list[Any]]) -> None:
    """Column widths from the header and the rendered values of the first rows."""
    from openpyxl.utils import get_column_letter

    for index, column in enumerate(columns, 1):
        width = _display_width(column.label)
        for value in _width_candidates(column, [v[index - 1] for v in sample]):
            width = max(width, _display_width(_width_text(column, value)))
        ws.column_dimensions[get_column_letter(index)].width = max(8, min(width + 2, 50))


def _conditional_formats(ws: Any, columns: list[_Column], last_row: int, language: str) -> None:
    from openpyxl.utils import get_column_letter

    for index, column in enumerate(columns, 1):
        letter = get_column_letter(index)
        if column.name == "check_flag":
            _flag_rules(ws, letter, last_row, language)
        elif column.name.endswith(_NEGATIVE_RED):
            _negative_rule(ws, letter, last_row)


def _width_candidates(column: _Column, values: list[Any]) -> Iterable[Any]:
    """The values whose widths decide a column's width (the widest is among them).

    Money is formatted monotonically in its absolute value, so only the largest
    and the smallest number can be the widest; a text counts once however often
    it repeats; any other value (equal numbers may print differently) each time.
    """
    present = [v for v in values if v is not None]
    if not present:
        return ()
    if column.kind == "cny" and all(
        type(v) is not bool and isinstance(v, Decimal | float | int) for v in present
    ):
        return (max(present), min(present))
    texts = dict.fromkeys(v for v in present if type(v) is str)
    return [*texts, *(v for v in present if type(v) is not str)]


def _width_text(column: _Column, value: Any) -> str:
    if column.kind == "cny" and isinstance(value, Decimal | float | int):
        return f"{value:,.2f}"
    if column.kind == "pct":
        return "100.0%"
    if isinstance(value, datetime):
        return "2026-11-22 00:00"
    if isinstance(value, date):
        return "2026-11-22"
    return str(value)[:60]


# ------------------------------------------------------------------------ cover
def _kpi_cell(ws: Any, styles: _Styles, kpi: Mapping[str, Any]) -> Any:
    value = kpi["value"]
    if value is None:
        return _cell(ws, "-")
    style = {"cny": styles.cny, "pct": styles.pct, "int": styles.int}.get(kpi["format"])
    return _cell(ws, value, style)


def write_cover(
    ws: Any,
    styles: _Styles,
    meta: PackMeta,
    collector: SummaryCollector,
    kpis: list[dict[str, Any]],
    red: list[dict[str, Any]],
    contents: list[tuple[str, dict[str, Any]]],
    business_units: list[str],
) -> None:
    """The cover: who and when, headline figures, RED projects, contents, charts."""
    from openpyxl.chart import BarChart, Reference

    lang = meta.language
    for letter, width in zip("ABCDEFG", (26, 22, 22, 22, 18, 16, 40), strict=True):
        ws.column_dimensions[letter].width = width
    row = 0

    def put(*cells: Any) -> int:
        nonlocal row
        ws.append(list(cells))
        row += 1
        return row

    put(_cell(ws, clean_text(meta.title)[0], styles.title))
    put()
    manager = meta.manager
    who = f"{manager.name or manager.manager_id} ({manager.manager_id})"
    for key, value in (
        ("scope", meta.scope_label),
        ("manager", who),
        ("business_units", ", ".join(business_units) or "-"),
        ("review_date", meta.review_date.isoformat()),
        ("period", meta.period),
        ("data_as_of", meta.as_of_text),
    ):
        put(_cell(ws, pack_label(key, lang), styles.label), _safe_cell(ws, styles, value))
    put()
    put(_cell(ws, pack_label("kpis", lang), styles.section))
    put(
        _cell(ws, pack_label("figure", lang), styles.header),
        _cell(ws, pack_label("value", lang), styles.header),
    )
    for kpi in kpis:
        put(_cell(ws, kpi["label"]), _kpi_cell(ws, styles, kpi))
    put()
    put(_cell(ws, pack_label("red_projects", lang), styles.section))
    if red:
        put(
            *(
                _cell(ws, text, styles.header)
                for text in (
                    column_label("lead_id", lang),
                    column_label("customer_name", lang),
                    column_label("product_line_code", lang),
                    column_label("owner_name", lang),
                    column_label("amount_cny", lang),
                    pack_label("reason", lang),
                )
            )
        )
        for item in red:
            put(
                _cell(ws, item["lead_id"], styles.text_guard if _guard(item["lead_id"]) else None),
                _safe_cell(ws, styles, item["customer"]),
                _safe_cell(ws, styles, item["lead_name"]),
                _safe_cell(ws, styles, item["owner"]),
                _cell(ws, item["amount_cny"], styles.cny),
                _safe_cell(ws, styles, item["reason"]),
            )
    else:
        put(_cell(ws, pack_label("no_red_projects", lang), styles.stamp))
    put()
    put(_cell(ws, pack_label("contents", lang), styles.section))
    put(
        _cell(ws, pack_label("sheet", lang), styles.header),
        _cell(ws, pack_label("rows", lang), styles.header),
    )
    for name, record in contents:
        from openpyxl.worksheet.hyperlink import Hyperlink

        link = _cell(ws, name, styles.link)
        link.hyperlink = Hyperlink(ref="", location=f"{_quote_sheet(name)}!A1", display=name)
        note = _contents_note(record, lang)
        put(
            link,
            _cell(ws, record["rows"], styles.int),
            _cell(ws, note, styles.note) if note else None,
        )

    # chart data and native charts beside it
    anchor_row = 3
    charts: list[tuple[str, list[Any], list[str], list[Any]]] = [
        (
            pack_label("chart_region", lang),
            collector.region_chart(),
            [pack_label(k, lang) for k in ("region", "target", "actual", "forecast", "attainment")],
            [None, styles.cny, styles.cny, styles.cny, styles.pct],
        ),
        (
            pack_label("chart_product", lang),
            collector.product_chart(),
            [
                pack_label(k, lang)
                for k in ("product_line", "target", "actual", "forecast", "attainment")
            ],
            [None, styles.cny, styles.cny, styles.cny, styles.pct],
        ),
        (
            pack_label("chart_reservoir", lang),
            collector.reservoir_chart(),
            [
                pack_label(k, lang)
                for k in ("target_month", "weighted_pipeline", "target", "coverage")
            ],
            [styles.month, styles.cny, styles.cny, styles.pct],
        ),
    ]
    for index, (heading, data, headers, formats) in enumerate(charts):
        put()
        put(_cell(ws, heading, styles.section))
        header_row = put(*(_cell(ws, h, styles.header) for h in headers))
        for values in data:
            put(
                *(
                    _safe_cell(ws, styles, v)
                    if f is None
                    else (_cell(ws, v, f) if v is not None else None)
                    for v, f in zip(values, formats, strict=True)
                )
            )
        if not data:
            continue
        chart = BarChart()
        chart.type = "col"
        chart.title = heading
        chart.height = 7.5
        chart.width = 16
        chart.y_axis.numFmt = "0%" if index == 2 else "#,##0"
        chart.y_axis.majorGridlines = None
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        if index == 2:  # reservoir: coverage per month
            series = Reference(
                ws, min_col=4, max_col=4, min_row=header_row, max_row=header_row + len(data)
            )
        else:  # target, actual, forecast
            series = Reference(
                ws, min_col=2, max_col=4, min_row=header_row, max_row=header_row + len(data)
            )
        chart.add_data(series, titles_from_data=True)
        chart.set_categories(
            Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + len(data))
        )
        ws.add_chart(chart, f"I{anchor_row}")
        anchor_row += 16


def _guard(text: str) -> bool:
    return safe_value(text).as_text


def _safe_cell(ws: Any, styles: _Styles, value: Any) -> Any:
    safe = safe_value(value)
    if safe.value is None:
        return None
    return _cell(ws, safe.value, styles.text_guard if safe.as_text else None)


# ------------------------------------------------------------------------ advice
class AdviceIndex:
    """Finds the sheet rows the advice items cite while the report sheets stream."""

    def __init__(self, items: Sequence[AdviceEntry]) -> None:
        self.items = list(items)
        self.found: dict[int, tuple[str, int]] = {}
        # report number -> key columns -> key values -> item indexes
        self._index: dict[str, dict[tuple[str, ...], dict[tuple[str, ...], list[int]]]] = {}
        for i, item in enumerate(self.items):
            if not item.row_key:
                continue
            columns = tuple(sorted(item.row_key))
            values = tuple(_key_text(item.row_key[c]) for c in columns)
            self._index.setdefault(item.sheet.upper(), {}).setdefault(columns, {}).setdefault(
                values, []
            ).append(i)

    def watcher(self, report: Report, sheet: str) -> Callable[[dict[str, Any], int], None]:
        base = report.number.split("c")[0].upper()
        groups = self._index.get(base)
        if not groups:
            return lambda row, excel_row: None

        def watch(row: dict[str, Any], excel_row: int) -> None:
            for columns, lookup in groups.items():
                hits = lookup.get(tuple(_key_text(row.get(c)) for c in columns))
                if hits:
                    for i in hits:
                        self.found.setdefault(i, (sheet, excel_row))

        return watch


def _key_text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "" if value is None else str(value)


def write_advice(
    ws: Any, styles: _Styles, meta: PackMeta, index: AdviceIndex
) -> tuple[list[dict[str, Any]], int, int]:
    """The action items sheet; returns (items with their sheet row, total open, resolved)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    lang = meta.language
    keys = ("severity", "rule", "subject", "action", "stake", "since", "status", "source")
    widths = (8, 8, 24, 60, 18, 12, 10, 26)
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    open_items = [(i, it) for i, it in enumerate(index.items) if it.status != "resolved"]
    resolved = [(i, it) for i, it in enumerate(index.items) if it.status == "resolved"]
    ws.append([_cell(ws, pack_label("advice_sheet", lang), styles.title)])
    stamp = " · ".join(
        [
            f"{pack_label('scope', lang)}: {meta.scope_label}",
            f"{pack_label('review_date', lang)}: {meta.review_date.isoformat()}",
            f"{pack_label('data_as_of', lang)}: {meta.as_of_text}",
            f"{pack_label('rows', lang)}: {len(open_items):,}",
        ]
    )
    ws.append([_cell(ws, stamp, styles.stamp)])
    ws.append([])
    ws.append([_cell(ws, pack_label(f"advice_{k}", lang), styles.header) for k in keys])
    listed: list[dict[str, Any]] = []
    excel_row = FIRST_DATA_ROW
    for section, items in ((None, open_items), ("advice_resolved", resolved)):
        if section and items:
            ws.append([])
            ws.append([_cell(ws, pack_label(section, lang), styles.section)])
            excel_row += 2
        for i, item in items:
            target = index.found.get(i)
            source: Any = None
            if target is not None:
                text = pack_label("row_ref", lang).format(sheet=target[0], row=target[1])
                source = _cell(ws, text, styles.link)
                source.hyperlink = Hyperlink(
                    ref="", location=f"{_quote_sheet(target[0])}!A{target[1]}", display=text
                )
            elif item.sheet:
                source = _safe_cell(ws, styles, item.sheet)
            ws.append(
                [
                    _cell(ws, pack_label(f"severity_{item.severity}", lang)),
                    _safe_cell(ws, styles, item.rule_id),
                    _safe_cell(ws, styles, item.subject),
                    _safe_cell(ws, styles, item.action),
                    _cell(ws, item.stake_cny, styles.cny),
                    _safe_cell(ws, styles, item.since),
                    _cell(ws, pack_label(f"status_{item.status}", lang)),
                    source,
                ]
            )
            if item.status != "resolved":
                listed.append(
                    {
                        "rule_id": item.rule_id,
                        "severity": item.severity,
                        "action": item.action,
                        "stake_cny": item.stake_cny,
                        "subject": item.subject,
                        "since": item.since,
                        "sheet": ws.title,
                        "row": excel_row,
                    }
                )
            excel_row += 1
    ws.auto_filter.ref = f"A{HEADER_ROW}:H{max(HEADER_ROW, FIRST_DATA_ROW + len(open_items) - 1)}"
    return listed, len(open_items), len(resolved)


# ------------------------------------------------------------------------- pack
def write_pack(
    path: Path,
    meta: PackMeta,
    sheets: Iterator[SheetInput],
    *,
    names: Mapping[tuple[str, str], str],
    region_names: bool,
    advice: Sequence[AdviceEntry] | None,
    advice_top_n: int = 5,
    limits: Limits | None = None,
    column_cache: dict[tuple[str, tuple[str, ...]], list[_Column]] | None = None,
    raw_rows: bool = True,
) -> WrittenPack:
    """Write the workbook of one pack to ``path``; returns its summary and sheet records.

    Args:
        sheets: the report inputs in sheet order (rows are consumed while written).
        names: (kind, code) -> display name, kinds region / team / employee / product_line.
        region_names: add a region name column (when names differ from codes).
        advice: the manager's advice items, or None when the advice stage is absent.
        raw_rows: write data rows as XML text where possible (False: openpyxl cells).
    """
    from openpyxl import Workbook
    from openpyxl.packaging.core import DocumentProperties

    limits = limits or Limits()
    lang = meta.language
    wb = Workbook(write_only=True)
    used: set[str] = set()
    advice_ws = None
    if advice is not None:
        advice_ws = _sheet(wb, sheet_name(pack_label("advice_sheet", lang), used))
    cover = _sheet(wb, sheet_name(pack_label("cover_sheet", lang), used))
    styles = _Styles(cover)
    writer = _SheetWriter(lang, names, limits)
    collector = SummaryCollector(language=lang, names=dict(names))
    index = AdviceIndex(advice or [])
    records: dict[str, dict[str, Any]] = {}
    rows_written = 0
    cache = column_cache if column_cache is not None else {}
    for spec in sheets:
        name = sheet_name(f"{spec.report.number} {title(spec.report.name, lang)}", used)
        rows = min(spec.count, spec.cap) if spec.cap > 0 else spec.count
        ws = _sheet(wb, name, memory=rows <= MEMORY_SHEET_ROWS)
        key = (spec.report.name, tuple(spec.columns))
        if key not in cache:
            cache[key] = _columns(spec.report, spec.columns, lang, region_names)
        watch = index.watcher(spec.report, name)
        report_name = spec.report.name

        def on_row(
            row: dict[str, Any], excel_row: int, _watch: Any = watch, _r: str = report_name
        ) -> None:
            collector.add(_r, row)
            _watch(row, excel_row)

        record = write_report_sheet(
            ws, styles, writer, meta, spec, cache[key], on_row, raw=raw_rows
        )
        records[name] = record
        rows_written += record["written"]

    kpis = collector.kpis()
    red = collector.red_projects()
    units = sorted(collector.business_units)
    unit_names = [names.get(("business_unit", u), u) for u in units]
    write_cover(cover, styles, meta, collector, kpis, red, list(records.items()), unit_names)
    advice_listed: list[dict[str, Any]] = []
    advice_total = advice_resolved = 0
    if advice_ws is not None:
        advice_listed, advice_total, advice_resolved = write_advice(advice_ws, styles, meta, index)

    wb.properties = DocumentProperties(
        title=meta.title,
        subject=f"{meta.scope_label} · {meta.period}",
        creator="review-pipeline",
        lastModifiedBy="review-pipeline",
        keywords=", ".join(
            [meta.kind, meta.period, meta.manager.manager_id, meta.review_date.isoformat()]
        ),
        description=f"{pack_label('data_as_of', lang)}: {meta.as_of_text}",
        language=lang,
    )
    save_deterministic(wb, path, meta.data_as_of)

    empty = all(r["rows"] == 0 for r in records.values())
    summary: dict[str, Any] = {
        "title": meta.title,
        "scope_label": meta.scope_label,
        "business_units": units,
        "review_date": meta.review_date.isoformat(),
        "period": meta.period,
        "kind": meta.kind,
        "data_as_of": meta.data_as_of.isoformat(),
        "data_as_of_known": meta.as_of_known,
        "timezone": meta.timezone,
        "language": lang,
        "manager_id": meta.manager.manager_id,
        "manager_name": meta.manager.name,
        "kpis": kpis,
        "red_projects": red,
        "chart": collector.chart(),
        "advice": advice_listed[:advice_top_n],
        "advice_total": advice_total,
        "advice_resolved": advice_resolved,
        "sheets": {
            name: {
                "rows": r["rows"],
                "shown": r["written"],
                "total": r["rows"],
                "cut": r["cut"],
                "capped": r["capped"],
                "cells_cut": r["cells_cut"],
            }
            for name, r in records.items()
        },
        "empty": empty,
    }
    return WrittenPack(
        summary=summary, sheets=summary["sheets"], rows_written=rows_written, empty=empty
    )
