"""Cell values that are safe to put in a workbook a manager will open.

Source text is data, never code: a customer name such as ``=HYPERLINK(...)``
or ``+86 ...`` or ``@SUM(...)`` must arrive as the text it is, never as a
formula Excel (or LibreOffice, or a user pressing F2 + Enter) would evaluate.
openpyxl turns any string starting with ``=`` into a formula cell, and Excel
re-evaluates ``+``, ``-`` and ``@`` on edit, so every string that starts with
one of the trigger characters (``= + - @``, tab, carriage return) is written
as an explicit string cell (``data_type = "s"``) with the *quote prefix*
style (Excel's leading apostrophe). Real numbers stay numeric cells.

Excel's hard limits are enforced here too: a cell holds at most 32,767
characters, and XML 1.0 cannot carry most control characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

# Excel's limit of characters in one cell
MAX_CELL_CHARS = 32_767
# Excel's limit of rows in one sheet
MAX_SHEET_ROWS = 1_048_576

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# the control characters XML 1.0 cannot carry (tab, LF and CR can)
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class SafeValue:
    """A value ready for a cell.

    Attributes:
        value: what goes into the cell (str, number, date, bool or None).
        as_text: the cell must be an explicit string with the quote prefix.
        cut: the text was longer than the cell limit and was shortened.
    """

    value: Any
    as_text: bool = False
    cut: bool = False


def needs_text_guard(text: str) -> bool:
    """Whether a string would be (or become, on edit) a formula in a spreadsheet."""
    return text.startswith(FORMULA_TRIGGERS)


def clean_text(text: str, *, max_chars: int = MAX_CELL_CHARS) -> tuple[str, bool]:
    """Drop characters XML cannot carry and cut at ``max_chars``; returns (text, was_cut)."""
    if _ILLEGAL_XML.search(text):
        text = _ILLEGAL_XML.sub("\ufffd", text)
    if len(text) > max_chars:
        return text[:max_chars], True
    return text, False


def safe_value(value: Any, *, max_chars: int = MAX_CELL_CHARS) -> SafeValue:
    """Turn a source value into a :class:`SafeValue`.

    * ``None`` stays empty; ``bool``, ``int``, ``float`` and ``Decimal`` stay
      numbers (NaN and infinities become empty: Excel has no such numbers);
    * dates stay dates; time-zone-aware datetimes must have been converted by
      the caller (Excel has no time zones), naive ones stay;
    * an empty string is an empty cell;
    * anything else becomes text, cleaned and cut at ``max_chars``, flagged
      ``as_text`` when it starts with a formula trigger.
    """
    if value is None:
        return SafeValue(None)
    if isinstance(value, bool):
        return SafeValue(value)
    if isinstance(value, int):
        return SafeValue(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return SafeValue(None)
        return SafeValue(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return SafeValue(None)
        return SafeValue(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(
                f"a time-zone-aware datetime {value!r} reached a cell: convert it first"
            )
        return SafeValue(value)
    if isinstance(value, date | time):
        return SafeValue(value)
    text, cut = clean_text(value if isinstance(value, str) else str(value), max_chars=max_chars)
    if not text:
        return SafeValue(None)  # an empty string is an empty cell
    return SafeValue(text, as_text=needs_text_guard(text), cut=cut)


def make_cell(ws: Any, value: Any, *, max_chars: int = MAX_CELL_CHARS) -> tuple[Any, bool]:
    """A ``WriteOnlyCell`` holding ``value`` safely; returns (cell, was_cut).

    Strings that start with a formula trigger get ``data_type = "s"`` (so
    openpyxl writes an inline string, never an ``<f>`` element) and the quote
    prefix (so Excel keeps them text when a user edits the cell).
    """
    from openpyxl.cell import WriteOnlyCell

    safe = safe_value(value, max_chars=max_chars)
    cell = WriteOnlyCell(ws)
    if safe.value is None:
        return cell, False
    cell.value = safe.value
    if isinstance(safe.value, str):
        # never a formula, whatever openpyxl guessed from a leading "="
        cell.data_type = "s"
        if safe.as_text:
            cell.quotePrefix = True
    return cell, safe.cut
