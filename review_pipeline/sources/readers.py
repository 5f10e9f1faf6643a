"""Streaming readers of CSV, XLSX and legacy XLS files from a landing folder.

Each reader checks the whole file first where that is cheap and protects the
machine (encoding, zip-bomb caps), then yields :class:`SourceRow` items one
at a time, so memory stays flat in the file size. A file that cannot be read
at all raises :class:`FileRejected` (the loader quarantines it whole); a row
that cannot be split into the header's columns comes out with a problem.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from review_pipeline.errors import ReviewError
from review_pipeline.sources.convert import (
    ROW_RAGGED,
    Problem,
    cell_text,
    is_total_label,
    norm_key,
)
from review_pipeline.sources.mapping import FileSpec

# Whole-file rule ids written to quarantine.file.
FILE_ENCODING = "FILE_ENCODING"
FILE_FORMAT = "FILE_FORMAT"
FILE_BOMB = "FILE_BOMB"
FILE_TOO_LARGE = "FILE_TOO_LARGE"
FILE_HEADER = "FILE_HEADER"
FILE_EMPTY = "FILE_EMPTY"
FILE_UNSUPPORTED = "FILE_UNSUPPORTED"

_CHUNK = 1 << 20
_DELIMITERS = ",;\t|"


class FileRejected(ReviewError):
    """A whole file cannot be read; it is quarantined with this rule and message."""

    def __init__(self, rule: str, message: str, line_no: int | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.line_no = line_no


@dataclass(frozen=True)
class ReadLimits:
    """Caps that keep a hostile or broken file from exhausting the machine."""

    max_file_bytes: int = 2 * 1024**3
    max_uncompressed_bytes: int = 512 * 1024**2
    """XLSX: sum of the uncompressed sizes of all archive members."""
    max_compression_ratio: float = 100.0
    """XLSX: uncompressed / compressed size of any member larger than ``ratio_floor_bytes``."""
    ratio_floor_bytes: int = 1024**2
    max_members: int = 10_000
    max_rows: int = 2_000_000
    header_scan_rows: int = 50
    """XLSX: how far below the top the header row is looked for (title blocks)."""
    sniff_chars: int = 64 * 1024


class SourceRow(NamedTuple):
    """One data row: its line (CSV physical line / Excel row number) and cells by header."""

    line_no: int
    values: dict[str, Any]
    problem: Problem | None = None


@dataclass
class TableStream:
    """A readable table: its header and a one-shot iterator of rows."""

    headers: list[str]
    rows: Iterator[SourceRow]
    header_line: int
    encoding: str | None = None
    delimiter: str | None = None
    excel_epoch: datetime | None = None
    dropped: list[int] = field(default_factory=list)
    """Line numbers of totals rows dropped (filled while iterating)."""


@dataclass(frozen=True)
class HeaderExpectation:
    """What the header row must contain: per field, the accepted names (normalised)."""

    needed: dict[str, list[str]]
    """Fields every file needs (keys, required): the header row must have one name of each."""
    wanted: dict[str, list[str]] = field(default_factory=dict)
    """All mapped fields (used to score candidate header rows)."""

    def score(self, cells: Sequence[Any]) -> tuple[int, int]:
        keys = {norm_key(c) for c in cells if isinstance(c, str) and c.strip()}
        needed = sum(1 for names in self.needed.values() if keys & set(names))
        wanted = sum(1 for names in self.wanted.values() if keys & set(names))
        return needed, wanted

    def missing(self, cells: Sequence[Any]) -> list[str]:
        """Needed fields none of whose names is among ``cells``."""
        keys = {norm_key(c) for c in cells if isinstance(c, str) and c.strip()}
        return [f for f, names in self.needed.items() if not keys & set(names)]

    def matches(self, cells: Sequence[Any]) -> bool:
        needed, wanted = self.score(cells)
        return needed == len(self.needed) and wanted > 0


# ----------------------------------------------------------------- encodings
def detect_encoding(path: Path, pinned: str = "auto") -> str:
    """``utf-8-sig`` if the whole file is strict UTF-8 (BOM or not), else ``gb18030``.

    Reads the file once in chunks with both decoders; never substitutes
    characters. Raises :class:`FileRejected` when neither decodes it.
    """
    candidates = ["utf-8-sig", "gb18030"] if pinned == "auto" else [_codec(pinned)]
    decoders = {name: codecs.getincrementaldecoder(name)(errors="strict") for name in candidates}
    failures: dict[str, str] = {}
    offset = 0
    with path.open("rb") as fh:
        while decoders:
            chunk = fh.read(_CHUNK)
            final = not chunk
            for name in list(decoders):
                try:
                    decoders[name].decode(chunk, final=final)
                except UnicodeDecodeError as exc:
                    failures[name] = f"invalid {name} byte at offset {offset + exc.start}"
                    del decoders[name]
            if final:
                break
            offset += len(chunk)
    for name in candidates:
        if name in decoders:
            return name
    detail = "; ".join(failures[n] for n in candidates)
    raise FileRejected(
        FILE_ENCODING, f"text is neither UTF-8 nor GB18030 (GBK): {detail}", line_no=None
    )


def _codec(name: str) -> str:
    return "utf-8-sig" if name.lower().replace("_", "-") in ("utf-8", "utf8") else name


# ----------------------------------------------------------------------- CSV
def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: csv.Sniffer, checked against the first line.

    Falls back to the candidate (``, ; tab |``) that splits the first line into
    the most fields outside quotes, comma when nothing splits it.
    """
    first = _first_record(sample)
    counts = {d: _count_outside_quotes(first, d) for d in _DELIMITERS}
    try:
        # the Sniffer's cost grows faster than its sample: 64 KB took 14 ms a file
        sniffed = csv.Sniffer().sniff(_head(sample), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in counts and counts[sniffed] > 0:
        return sniffed
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


SNIFF_LINES = 40
"""Lines of a sample the dialect sniffer reads (a title block and plenty of data rows)."""


def _head(sample: str, lines: int = SNIFF_LINES) -> str:
    """The first ``lines`` lines of ``sample`` (all of it when shorter)."""
    end = -1
    for _ in range(lines):
        end = sample.find("\n", end + 1)
        if end < 0:
            return sample
    return sample[: end + 1]


def _first_record(sample: str) -> str:
    in_quotes = False
    for i, ch in enumerate(sample):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch in "\r\n" and not in_quotes:
            if sample[:i].strip():
                return sample[:i]
    return sample


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, in_quotes = 0, False
    for ch in line:
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == delimiter and not in_quotes:
            count += 1
    return count


def _dedupe_headers(cells: Sequence[Any]) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = cell_text(cell).replace("\ufeff", "").strip() if cell is not None else ""
        if not name:
            name = f"(column {i + 1})"
        n = seen.get(name, 0) + 1
        seen[name] = n
        headers.append(name if n == 1 else f"{name} ({n})")
    return headers


def _check_duplicate_needed(
    raw_cells: Sequence[Any], expected: HeaderExpectation, line_no: int
) -> None:
    keys = [norm_key(cell_text(c)) for c in raw_cells if c is not None and cell_text(c).strip()]
    for fld, names in expected.wanted.items():
        hits = [k for k in keys if k in names]
        if len(hits) > 1:
            raise FileRejected(
                FILE_HEADER,
                f"header line {line_no} has {len(hits)} columns for {fld} ({', '.join(hits)})",
                line_no=line_no,
            )


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _first_label(cells: Sequence[Any]) -> Any:
    return next(
        (c for c in cells if not (c is None or (isinstance(c, str) and not c.strip()))), None
    )


def read_csv(
    path: Path, spec: FileSpec, expected: HeaderExpectation, limits: ReadLimits
) -> TableStream:
    """Open a CSV: strict encoding, sniffed dialect, header from the first non-blank record."""
    encoding = detect_encoding(path, spec.encoding)
    with path.open("r", encoding=encoding, errors="strict", newline="") as fh:
        sample = fh.read(limits.sniff_chars)
    if not sample.strip():
        raise FileRejected(FILE_EMPTY, "the file is empty (no header row)")
    delimiter = spec.delimiter or sniff_delimiter(sample)
    stream = TableStream(
        headers=[], rows=iter(()), header_line=0, encoding=encoding, delimiter=delimiter
    )
    fh = path.open("r", encoding=encoding, errors="strict", newline="")
    try:
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        prev = 0
        header: list[str] | None = None
        first: tuple[int, list[str]] | None = None
        seen = 0
        try:
            # The header is the first record with the expected names; title lines above
            # it (an export date, a report name) are skipped.
            for record in reader:
                start, prev = prev + 1, reader.line_num
                if _blank(record):
                    continue
                seen += 1
                first = first or (start, record)
                if (spec.header_row is None or start >= spec.header_row) and expected.matches(
                    record
                ):
                    header = record
                    stream.header_line = start
                    break
                if seen >= limits.header_scan_rows:
                    break
        except csv.Error as exc:
            raise FileRejected(FILE_FORMAT, f"line {prev + 1}: {exc}", line_no=prev + 1) from None
        if first is None:
            raise FileRejected(FILE_EMPTY, "the file has no header row")
        if header is None:
            line, cells = first
            lacking = expected.missing(cells)
            raise FileRejected(
                FILE_HEADER,
                f"line {line} is not the expected header"
                + (f": it lacks {', '.join(lacking)}" if lacking else "")
                + f" (found: {', '.join(cell_text(h).strip() for h in cells)})",
                line_no=line,
            )
        _check_duplicate_needed(header, expected, stream.header_line)
        stream.headers = _dedupe_headers(header)
    except BaseException:
        fh.close()
        raise
    stream.rows = _csv_rows(fh, reader, prev, stream, limits)
    return stream


def _csv_rows(
    fh: io.TextIOBase,
    reader: Any,
    prev: int,
    stream: TableStream,
    limits: ReadLimits,
) -> Iterator[SourceRow]:
    headers = stream.headers
    width = len(headers)
    count = 0
    try:
        with fh:
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    raise FileRejected(
                        FILE_FORMAT, f"line {prev + 1}: {exc}", line_no=prev + 1
                    ) from None
                except UnicodeDecodeError as exc:  # pragma: no cover - checked up front
                    raise FileRejected(FILE_ENCODING, str(exc)) from None
                start, prev = prev + 1, reader.line_num
                if _blank(record):
                    continue
                count += 1
                if count > limits.max_rows:
                    raise FileRejected(
                        FILE_TOO_LARGE, f"more than {limits.max_rows} rows", line_no=start
                    )
                if is_total_label(_first_label(record)):
                    stream.dropped.append(start)
                    count -= 1
                    continue
                if len(record) != width:
                    yield SourceRow(
                        start,
                        {"_cells": record},
                        Problem(
                            "(row)",
                            ROW_RAGGED,
                            f"{len(record)} fields where the header has {width}",
                        ),
                    )
                    continue
                yield SourceRow(start, dict(zip(headers, record, strict=True)))
    except BaseException:
        fh.close()
        raise


# ---------------------------------------------------------------------- XLSX
def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse an XLSX whose archive is broken or would expand beyond the caps.

    Runs before any XML is parsed: the central directory declares every
    member's sizes; a member whose real data exceeds its declared size fails
    its CRC check while being read.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FileRejected(
            FILE_FORMAT, f"not a readable XLSX (truncated or not a zip archive: {exc})"
        ) from None
    if len(infos) > limits.max_members:
        raise FileRejected(FILE_BOMB, f"{len(infos)} archive members (cap {limits.max_members})")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > limits.ratio_floor_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise FileRejected(
                    FILE_BOMB,
                    f"member {info.filename} expands {ratio:.0f}x "
                    f"({info.file_size} bytes; cap {limits.max_compression_ratio:.0f}x)",
                )
    if total > limits.max_uncompressed_bytes:
        raise FileRejected(
            FILE_BOMB,
            f"archive expands to {total} bytes (cap {limits.max_uncompressed_bytes})",
        )


def read_xlsx(
    path: Path, spec: FileSpec, expected: HeaderExpectation, limits: ReadLimits
) -> TableStream:
    """Open an XLSX sheet read-only: header found below title blocks, totals dropped."""
    check_zip(path, limits)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - any parser failure means "unreadable"
        raise FileRejected(FILE_FORMAT, f"not a readable XLSX workbook ({exc})") from None
    try:
        _check_sheet(spec, wb.sheetnames)
        ws = wb[spec.sheet] if spec.sheet is not None else wb.worksheets[0]
        declared = ws.max_row
        if declared is not None and declared > limits.max_rows + limits.header_scan_rows:
            raise FileRejected(FILE_TOO_LARGE, f"sheet declares {declared} rows")
        ws.reset_dimensions()  # a stale <dimension> would otherwise cut rows off
        rows: Iterator[tuple[int, tuple[Any, ...]]] = enumerate(
            ws.iter_rows(values_only=True), start=1
        )
        return _sheet_stream(ws.title, rows, wb.epoch, spec, expected, limits, wb.close)
    except BaseException:
        wb.close()
        raise


def read_xls(
    path: Path, spec: FileSpec, expected: HeaderExpectation, limits: ReadLimits
) -> TableStream:
    """Open a legacy BIFF ``.xls`` sheet with xlrd, the kept reader of that format.

    Cells come out as the XLSX reader gives them (dates as datetimes, whole
    numbers as ints, error cells as their ``#N/A`` text), so one conversion
    path serves both formats.
    """
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # noqa: BLE001 - any parser failure means "unreadable"
        raise FileRejected(FILE_FORMAT, f"not a readable legacy .xls workbook ({exc})") from None
    try:
        names = book.sheet_names()
        _check_sheet(spec, names)
        sheet = book.sheet_by_name(spec.sheet) if spec.sheet is not None else book.sheet_by_index(0)
        if sheet.nrows > limits.max_rows + limits.header_scan_rows:
            raise FileRejected(FILE_TOO_LARGE, f"sheet declares {sheet.nrows} rows")
        epoch = datetime(1904, 1, 1) if book.datemode == 1 else datetime(1899, 12, 30)
        rows = ((r + 1, _xls_cells(sheet.row(r), book.datemode)) for r in range(sheet.nrows))
        return _sheet_stream(
            sheet.name, rows, epoch, spec, expected, limits, book.release_resources
        )
    except BaseException:
        book.release_resources()
        raise


def _xls_cells(row: Sequence[Any], datemode: int) -> tuple[Any, ...]:
    import xlrd

    out: list[Any] = []
    for cell in row:
        kind, value = cell.ctype, cell.value
        if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            out.append(None)
        elif kind == xlrd.XL_CELL_NUMBER:
            out.append(int(value) if float(value).is_integer() else value)
        elif kind == xlrd.XL_CELL_DATE:
            try:
                out.append(xlrd.xldate.xldate_as_datetime(value, datemode))
            except xlrd.xldate.XLDateError:
                out.append(value)  # an impossible date stays a number: the cast quarantines it
        elif kind == xlrd.XL_CELL_BOOLEAN:
            out.append(bool(value))
        elif kind == xlrd.XL_CELL_ERROR:
            out.append(xlrd.error_text_from_code.get(value, "#ERR"))
        else:
            out.append(value)
    return tuple(out)


def _check_sheet(spec: FileSpec, sheetnames: Sequence[str]) -> None:
    if spec.sheet is not None and spec.sheet not in sheetnames:
        raise FileRejected(
            FILE_HEADER,
            f"no sheet named {spec.sheet!r} (sheets: {', '.join(sheetnames)})",
        )


def _sheet_stream(
    title: str,
    rows: Iterator[tuple[int, tuple[Any, ...]]],
    epoch: datetime,
    spec: FileSpec,
    expected: HeaderExpectation,
    limits: ReadLimits,
    close: Any,
) -> TableStream:
    """Find the header below any title block and stream the rows after it (any workbook)."""
    head: list[tuple[int, tuple[Any, ...]]] = []
    header_at = None
    above: tuple[Any, ...] = ()
    for line_no, raw_cells in rows:
        cells = _fill_from_above(raw_cells, above)
        above = raw_cells
        head.append((line_no, cells))
        if _is_header(line_no, cells, spec, expected):
            header_at = len(head) - 1
            break
        if line_no >= limits.header_scan_rows:
            break
    if header_at is not None:
        # A two-row header: the lower row (with the upper's merged names) may match better.
        nxt = next(rows, None)
        if nxt is not None:
            below = _fill_from_above(nxt[1], head[header_at][1])
            if expected.matches(below) and expected.score(below) > expected.score(
                head[header_at][1]
            ):
                head.append((nxt[0], below))
                header_at += 1
            else:
                rows = itertools.chain([nxt], rows)
    if header_at is None:
        if not head or all(_blank(c) for _, c in head):
            raise FileRejected(FILE_EMPTY, f"sheet {title!r} is empty")
        raise FileRejected(
            FILE_HEADER,
            f"sheet {title!r}: no header row with "
            f"{', '.join(expected.needed)} in the first {len(head)} rows",
        )
    header_line, header_cells = head[header_at]
    _check_duplicate_needed(header_cells, expected, header_line)
    last = max((i for i, c in enumerate(header_cells) if c is not None), default=-1)
    headers = _dedupe_headers(header_cells[: last + 1])
    stream = TableStream(headers=headers, rows=iter(()), header_line=header_line, excel_epoch=epoch)
    stream.rows = _sheet_rows(close, rows, stream, limits)
    return stream


def _fill_from_above(cells: tuple[Any, ...], above: tuple[Any, ...]) -> tuple[Any, ...]:
    """A header cell merged down from the row above (two-row headers) takes that row's text.

    Read-only openpyxl gives a merged range's value in its top-left cell only,
    so the lower row of a vertically merged header cell reads empty.
    """
    if not above or _blank(cells):
        return cells
    width = max(len(cells), len(above))
    padded = cells + (None,) * (width - len(cells))
    return tuple(
        above[i] if c is None and i < len(above) and isinstance(above[i], str) else c
        for i, c in enumerate(padded)
    )


def _is_header(
    line_no: int, cells: Sequence[Any], spec: FileSpec, expected: HeaderExpectation
) -> bool:
    if spec.header_row is not None and line_no < spec.header_row:
        return False
    return expected.matches(cells)


def _sheet_rows(
    close: Any, rows: Iterator[tuple[int, tuple[Any, ...]]], stream: TableStream, limits: ReadLimits
) -> Iterator[SourceRow]:
    headers = stream.headers
    width = len(headers)
    count = 0
    try:
        for line_no, cells in rows:
            if _blank(cells):
                continue
            count += 1
            if count > limits.max_rows:
                raise FileRejected(
                    FILE_TOO_LARGE, f"more than {limits.max_rows} rows", line_no=line_no
                )
            if is_total_label(_first_label(cells)):
                stream.dropped.append(line_no)
                count -= 1
                continue
            extra = cells[width:]
            if not _blank(extra):
                yield SourceRow(
                    line_no,
                    {"_cells": list(cells)},
                    Problem("(row)", ROW_RAGGED, "values to the right of the last header column"),
                )
                continue
            values = {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(headers)}
            yield SourceRow(line_no, values)
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken sheet part surfaces while iterating
        raise FileRejected(FILE_FORMAT, f"the workbook breaks while reading: {exc}") from None
    finally:
        with contextlib.suppress(Exception):
            close()


def read_table(
    path: Path, spec: FileSpec, expected: HeaderExpectation, limits: ReadLimits | None = None
) -> TableStream:
    """Open ``path`` as its mapping says (csv / xlsx / legacy xls)."""
    limits = limits or ReadLimits()
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise FileRejected(FILE_TOO_LARGE, f"{size} bytes (cap {limits.max_file_bytes})")
    if size == 0:
        raise FileRejected(FILE_EMPTY, "the file is empty (0 bytes)")
    if spec.format == "csv":
        return read_csv(path, spec, expected, limits)
    if spec.format == "xlsx":
        return read_xlsx(path, spec, expected, limits)
    if spec.format == "xls":
        return read_xls(path, spec, expected, limits)
    raise FileRejected(FILE_UNSUPPORTED, f"unknown file format {spec.format!r}")
