"""Typed conversion of one source row into canonical text values (pure functions).

A reader yields cells as the file holds them (text from CSV; text, numbers and
datetimes from XLSX). :func:`convert_row` turns them into the canonical
row of one entity -- dates as ``YYYY-MM-DD``, timestamps as ISO 8601 with the
source's offset, money as a plain decimal in yuan with two places -- or into
the list of problems that keep the row out (file, line, column, rule, reason).

Nothing here touches the file system or the database.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from review_pipeline.sources.canonical import FieldType, entity, is_identifier_field
from review_pipeline.sources.mapping import (
    LOAD_DATE,
    LOAD_TIME,
    UNIT_FACTORS,
    ColumnSpec,
    SourceMapping,
)

# Rule ids written to quarantine.file_row / quarantine.file.
ROW_RAGGED = "ROW_RAGGED"
ROW_MISSING_KEY = "ROW_MISSING_KEY"
ROW_MISSING_VALUE = "ROW_MISSING_VALUE"
ROW_BAD_DATE = "ROW_BAD_DATE"
ROW_BAD_TIMESTAMP = "ROW_BAD_TIMESTAMP"
ROW_BAD_NUMBER = "ROW_BAD_NUMBER"
ROW_BAD_INT = "ROW_BAD_INT"
ROW_BAD_BOOLEAN = "ROW_BAD_BOOLEAN"
ROW_BAD_TEXT = "ROW_BAD_TEXT"
ROW_BAD_VALUE = "ROW_BAD_VALUE"

MAX_MONEY = Decimal("1e16")  # numeric(18, 2)
_CENT = Decimal("0.01")
_EXCEL_1900 = datetime(1899, 12, 30)
_EXCEL_1904 = datetime(1904, 1, 1)
_MIN_YEAR, _MAX_YEAR = 1900, 2200

TOTAL_WORDS = frozenset(
    {"合计", "总计", "小计", "总合计", "total", "totals", "grand total", "subtotal"}
)


@dataclass(frozen=True)
class Problem:
    """Why a row (or a cell of it) cannot be loaded."""

    column: str
    rule: str
    reason: str


class ConversionError(ValueError):
    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


# --------------------------------------------------------------------- text
@functools.lru_cache(maxsize=65536)
def norm_text(value: str) -> str:
    """NFKC (full-width digits, letters and punctuation to ASCII), trimmed, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).replace("\ufeff", "").split())


@functools.lru_cache(maxsize=65536)
def norm_key(value: str) -> str:
    """Case-insensitive comparison key for headers, value maps and null markers."""
    return norm_text(value).casefold()


def is_total_label(value: Any) -> bool:
    """Whether a cell reads like the label of a totals row (合计 / 总计 / 小计 / Total)."""
    if not isinstance(value, str):
        return False
    key = norm_key(value).rstrip(":").strip()
    return key in TOTAL_WORDS or key.replace(" ", "") in TOTAL_WORDS


def cell_text(value: Any) -> str:
    """A cell as text: integral floats without '.0', dates in ISO form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def jsonable(value: Any) -> Any:
    """A cell for a jsonb column (PostgreSQL jsonb cannot hold NUL characters)."""
    if value is None or isinstance(value, bool | int):
        return value
    text = cell_text(value)
    return text.replace("\x00", "\\x00")


# ------------------------------------------------------------------- values
def parse_money(value: Any, unit: str = "yuan") -> Decimal:
    """Money in yuan, 2 places: thousands separators, full-width digits, ¥, (negative), units.

    Raises:
        ConversionError: with rule ``ROW_BAD_NUMBER``.
    """
    if isinstance(value, bool):
        raise ConversionError(ROW_BAD_NUMBER, f"not an amount: {value!r}")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConversionError(ROW_BAD_NUMBER, f"not an amount: {value!r}")
        amount = Decimal(repr(value))
    else:
        amount = _parse_decimal_text(str(value), ROW_BAD_NUMBER, "amount")
    amount = (amount * UNIT_FACTORS[unit]).quantize(_CENT, rounding=ROUND_HALF_UP)
    if abs(amount) >= MAX_MONEY:
        raise ConversionError(ROW_BAD_NUMBER, f"amount {amount} is out of range")
    return amount


_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")


def _parse_decimal_text(raw: str, rule: str, what: str) -> Decimal:
    text = norm_text(raw).replace(" ", "")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    for prefix in ("¥", "RMB", "CNY"):
        if text.upper().startswith(prefix):
            text = text[len(prefix) :]
    text = text.removesuffix("元")
    if not _NUMBER.fullmatch(text):
        raise ConversionError(rule, f"not a valid {what}: {raw!r}")
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern already guards it
        raise ConversionError(rule, f"not a valid {what}: {raw!r}") from None
    return -number if negative else number


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ConversionError(ROW_BAD_INT, f"not a whole number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if value != value or not Decimal(str(value)) % 1 == 0:
            raise ConversionError(ROW_BAD_INT, f"not a whole number: {value!r}")
        return int(value)
    number = _parse_decimal_text(str(value), ROW_BAD_INT, "whole number")
    if number % 1 != 0:
        raise ConversionError(ROW_BAD_INT, f"not a whole number: {value!r}")
    return int(number)


def excel_serial_to_datetime(serial: float, epoch: datetime = _EXCEL_1900) -> datetime:
    """An Excel serial day number as a naive datetime (1900 or 1904 date system)."""
    if epoch == _EXCEL_1900 and serial < 61:
        serial += 1  # Excel's phantom 1900-02-29
    return epoch + timedelta(days=float(serial))


def _check_year(d: date, raw: Any, rule: str) -> None:
    if not _MIN_YEAR <= d.year <= _MAX_YEAR:
        raise ConversionError(rule, f"date {raw!r} is out of range ({_MIN_YEAR}-{_MAX_YEAR})")


def parse_date(
    value: Any,
    formats: Sequence[str],
    *,
    fallback_formats: Sequence[str] = (),
    excel_epoch: datetime | None = None,
) -> date:
    """A business date from a date/datetime cell, an Excel serial number or text.

    Text is tried against ``formats`` in order, then ``fallback_formats``
    (timestamps whose time part is dropped).
    """
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if excel_epoch is None:
            raise ConversionError(ROW_BAD_DATE, f"a number where a date belongs: {value!r}")
        if not 1 <= value < 2_958_466:
            raise ConversionError(ROW_BAD_DATE, f"not an Excel date serial: {value!r}")
        result = excel_serial_to_datetime(value, excel_epoch).date()
    else:
        text = norm_text(str(value))
        parsed = _strptime_any(text, formats) or _strptime_any(text, fallback_formats)
        if parsed is None:
            raise ConversionError(
                ROW_BAD_DATE, f"not a date: {value!r} (expected {' or '.join(formats)})"
            )
        result = parsed.date()
    _check_year(result, value, ROW_BAD_DATE)
    return result


def parse_timestamp(
    value: Any,
    formats: Sequence[str],
    tz: ZoneInfo,
    *,
    date_formats: Sequence[str] = (),
    excel_epoch: datetime | None = None,
) -> datetime:
    """An aware timestamp; naive values are read in the source's time zone ``tz``."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if excel_epoch is None or not 1 <= value < 2_958_466:
            raise ConversionError(ROW_BAD_TIMESTAMP, f"not a timestamp: {value!r}")
        result = excel_serial_to_datetime(value, excel_epoch)
        result = result.replace(microsecond=round(result.microsecond / 1000) * 1000 % 1_000_000)
    else:
        text = norm_text(str(value))
        parsed = _strptime_any(text, formats) or _strptime_any(text, date_formats)
        if parsed is None:
            raise ConversionError(
                ROW_BAD_TIMESTAMP,
                f"not a timestamp: {value!r} (expected {' or '.join(formats)})",
            )
        result = parsed
    _check_year(result.date(), value, ROW_BAD_TIMESTAMP)
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    return result


def _strptime_any(text: str, formats: Sequence[str]) -> datetime | None:
    # Dates repeat a lot within a file: parse each distinct text once.
    return _strptime_cached(text, tuple(formats))


@functools.lru_cache(maxsize=16384)
def _strptime_cached(text: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


# -------------------------------------------------------------------- plans
@dataclass(frozen=True)
class FieldPlan:
    """How one canonical field of one entity is read from one file's columns."""

    name: str
    type: FieldType
    header: str | None
    """The file's header text holding it (None: constant, or the column is absent)."""
    constant: str | None = None
    label: str = ""
    """Column name used in problem messages."""
    required: bool = False
    is_key: bool = False
    unit: str = "yuan"
    date_formats: tuple[str, ...] = ()
    timestamp_formats: tuple[str, ...] = ()
    value_map: Mapping[str, str] | None = None
    allowed: tuple[str, ...] = ()
    null_markers: frozenset[str] = frozenset()
    placeholders: frozenset[str] = frozenset()
    keep_raw: bool = False


@dataclass(frozen=True)
class RowPlan:
    """Everything :func:`convert_row` needs for one entity of one file."""

    entity: str
    fields: tuple[FieldPlan, ...]
    tz: ZoneInfo
    load_time: datetime
    excel_epoch: datetime | None = None
    deleted_flag_header: str | None = None
    true_words: frozenset[str] = frozenset()
    false_words: frozenset[str] = frozenset()
    null_markers: frozenset[str] = field(default_factory=frozenset)

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        """Output columns: the fields, with ``<name>_raw`` after fields that keep source text."""
        out: list[str] = []
        for f in self.fields:
            out.append(f.name)
            if f.keep_raw:
                out.append(f"{f.name}_raw")
        return tuple(out)


def column_variants(spec: ColumnSpec) -> list[str]:
    return [norm_key(s) for s in spec.source]


def build_plan(
    mapping: SourceMapping,
    entity_name: str,
    headers: Sequence[str] | None,
    load_time: datetime,
    *,
    excel_epoch: datetime | None = None,
) -> RowPlan:
    """Resolve the mapping's columns against a file's header (``None``: use the first name).

    A mapped column that the header lacks is left empty here; whether that is
    fatal is decided by :func:`missing_columns` before reading rows.
    """
    ent = entity(entity_name)
    ent_map = mapping.entity(entity_name)
    by_key: dict[str, str] = {}
    for h in headers or ():
        by_key.setdefault(norm_key(h), h)
    d = mapping.defaults
    base_nulls = frozenset(norm_key(m) for m in d.null_markers)
    plans: list[FieldPlan] = []
    for fld in ent.fields:
        spec = ent_map.columns.get(fld.name)
        if spec is None:
            plans.append(
                FieldPlan(
                    fld.name,
                    fld.type,
                    None,
                    constant=fld.default,
                    label=fld.name,
                    required=fld.required,
                    is_key=fld.name in ent.keys,
                    keep_raw=fld.keep_raw,
                )
            )
            continue
        header = None
        if spec.source:
            if headers is None:
                header = spec.source[0]
            else:
                header = next((by_key[v] for v in column_variants(spec) if v in by_key), None)
        vmap = mapping.value_map_for(spec)
        nulls = base_nulls | frozenset(norm_key(m) for m in spec.null_markers or ())
        plans.append(
            FieldPlan(
                name=fld.name,
                type=fld.type,
                header=header,
                constant=spec.constant,
                label=header or (spec.source[0] if spec.source else fld.name),
                required=fld.required or spec.required,
                is_key=fld.name in ent.keys,
                unit=spec.unit or d.unit,
                date_formats=tuple(
                    spec.date_formats
                    if spec.date_formats and fld.type == "date"
                    else d.date_formats
                ),
                timestamp_formats=tuple(
                    spec.date_formats
                    if spec.date_formats and fld.type == "timestamp"
                    else d.timestamp_formats
                ),
                value_map={norm_key(k): v for k, v in vmap.items()} if vmap else None,
                allowed=fld.values,
                null_markers=nulls,
                placeholders=(
                    frozenset(norm_key(p) for p in d.placeholder_ids)
                    if is_identifier_field(fld.name)
                    else frozenset()
                ),
                keep_raw=fld.keep_raw,
            )
        )
    flag_header = None
    if ent_map.deleted_flag:
        wanted = [norm_key(s) for s in ent_map.deleted_flag]
        flag_header = next((by_key[v] for v in wanted if v in by_key), None)
    return RowPlan(
        entity=ent.name,
        fields=tuple(plans),
        tz=ZoneInfo(mapping.timezone),
        load_time=load_time.astimezone(ZoneInfo(mapping.timezone)),
        excel_epoch=excel_epoch,
        deleted_flag_header=flag_header,
        true_words=frozenset(norm_key(w) for w in mapping.booleans.true),
        false_words=frozenset(norm_key(w) for w in mapping.booleans.false),
        null_markers=base_nulls,
    )


def missing_columns(mapping: SourceMapping, entity_name: str, plan: RowPlan) -> list[str]:
    """Mapped columns the file lacks, as 'field (expected one of ...)' texts."""
    ent_map = mapping.entity(entity_name)
    out = []
    for fp in plan.fields:
        spec = ent_map.columns.get(fp.name)
        if spec is not None and spec.source and fp.header is None:
            out.append(f"{fp.name} (expected a column named {' or '.join(spec.source)})")
    return out


def fatal_missing_columns(mapping: SourceMapping, entity_name: str, plan: RowPlan) -> list[str]:
    """Missing mapped columns that every row needs (keys and required fields)."""
    ent_map = mapping.entity(entity_name)
    out = []
    for fp in plan.fields:
        spec = ent_map.columns.get(fp.name)
        if spec is not None and spec.source and fp.header is None and (fp.required or fp.is_key):
            out.append(f"{fp.name} (expected a column named {' or '.join(spec.source)})")
    return out


# ------------------------------------------------------------------ convert
def convert_value(fp: FieldPlan, raw: Any, plan: RowPlan) -> str | None:
    """One cell to its canonical text, ``None`` for null.

    Raises:
        ConversionError: the cell cannot be read as the field's type.
    """
    if raw is None:
        return None
    if isinstance(raw, str):
        if "\x00" in raw:
            raise ConversionError(ROW_BAD_TEXT, "contains a NUL character")
        key = norm_key(raw)
        if key in fp.null_markers or (fp.placeholders and key in fp.placeholders):
            return None
    elif fp.placeholders and norm_key(cell_text(raw)) in fp.placeholders:
        return None
    if fp.type == "text":
        return cell_text(raw).strip()
    if fp.type == "enum":
        text = cell_text(raw).strip()
        key = norm_key(text)
        if fp.value_map is not None and key in fp.value_map:
            return fp.value_map[key]
        upper = norm_text(text).upper()
        if upper in fp.allowed:
            return upper
        if fp.keep_raw:
            return None  # the source's name stays in <field>_raw; the checks report it (LQ03)
        known = ", ".join(sorted(fp.value_map)) if fp.value_map else ", ".join(fp.allowed)
        raise ConversionError(ROW_BAD_VALUE, f"unknown value {text!r} (known: {known})")
    if fp.type == "money":
        return str(parse_money(raw, fp.unit))
    if fp.type == "int":
        return str(parse_int(raw))
    if fp.type == "date":
        return parse_date(
            raw,
            fp.date_formats,
            fallback_formats=fp.timestamp_formats,
            excel_epoch=plan.excel_epoch,
        ).isoformat()
    return parse_timestamp(
        raw,
        fp.timestamp_formats,
        plan.tz,
        date_formats=fp.date_formats,
        excel_epoch=plan.excel_epoch,
    ).isoformat()


def _constant(fp: FieldPlan, plan: RowPlan) -> str | None:
    if fp.constant == LOAD_DATE:
        return plan.load_time.date().isoformat()
    if fp.constant == LOAD_TIME:
        if fp.type == "date":
            return plan.load_time.date().isoformat()
        return plan.load_time.isoformat()
    return fp.constant


def convert_row(
    plan: RowPlan, values: Mapping[str, Any]
) -> tuple[dict[str, str | None], list[Problem]]:
    """A source row (header -> cell) as the canonical row, or the problems that reject it.

    Returns:
        ``(row, [])`` when the row converts; ``({}, problems)`` otherwise, one
        problem per offending column, naming the column, rule and reason.
    """
    row: dict[str, str | None] = {}
    problems: list[Problem] = []
    for fp in plan.fields:
        if fp.keep_raw:
            raw = values.get(fp.header) if fp.header is not None else fp.constant
            text = cell_text(raw).strip() if raw is not None else ""
            row[f"{fp.name}_raw"] = text if text and norm_key(text) not in fp.null_markers else None
        if fp.header is None:
            value = _constant(fp, plan)
        else:
            try:
                value = convert_value(fp, values.get(fp.header), plan)
            except ConversionError as exc:
                problems.append(Problem(fp.label, exc.rule, exc.reason))
                continue
        if value is None and fp.is_key and fp.required:
            problems.append(Problem(fp.label, ROW_MISSING_KEY, f"key {fp.name} is empty"))
        elif value is None and fp.required:
            problems.append(
                Problem(fp.label, ROW_MISSING_VALUE, f"required field {fp.name} is empty")
            )
        row[fp.name] = value
    if plan.deleted_flag_header is not None and not problems:
        flag = values.get(plan.deleted_flag_header)
        key = norm_key(cell_text(flag)) if flag is not None else ""
        if key in plan.true_words:
            if row.get("deleted_at") is None:
                row["deleted_at"] = plan.load_time.isoformat()
        elif key not in plan.false_words and key not in plan.null_markers:
            problems.append(
                Problem(
                    plan.deleted_flag_header,
                    ROW_BAD_BOOLEAN,
                    f"not a yes/no value: {flag!r}",
                )
            )
    if problems:
        return {}, problems
    return row, []


def row_hash(plan: RowPlan, row: Mapping[str, str | None]) -> str:
    """sha256 of the canonical values in field order (detects changed rows across files)."""
    payload = json.dumps([row.get(name) for name in plan.columns], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
