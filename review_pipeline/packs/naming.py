"""Periods, file names, display names and sheet names of the packs.

* A weekly pack's period is the ISO week of its review date (``2026-W47``,
  the review date being the Sunday that ends it); a monthly pack's period is
  the month (``2026-11``, review date = the month's last day).
* The file on disk has an ASCII name that is valid on Windows, macOS and
  Linux and in every mail client (``review-2026-W47-M0012-3f9a1c2e.xlsx``;
  the short content hash keeps every version's file, so an ``ops.pack`` row
  always points at exactly the bytes its sha256 names). The Chinese name the
  manager sees (``销售评审周报_2026-W47_华东区.xlsx``) travels in the e-mail
  as the attachment's RFC 2231 file name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, timedelta
from typing import Literal

from review_pipeline.errors import UserError

Kind = Literal["weekly", "monthly"]

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_ASCII_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
# characters Windows forbids in file names, plus the path separators
_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
# characters Excel forbids in sheet names
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET_NAME = 31


def week_label(day: date) -> str:
    """The ISO week of ``day``: ``2026-W47``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_label(day: date) -> str:
    """The month of ``day``: ``2026-11``."""
    return f"{day.year}-{day.month:02d}"


def period_of(kind: Kind, review_date: date) -> str:
    """The period a pack of ``kind`` built for ``review_date`` belongs to."""
    return week_label(review_date) if kind == "weekly" else month_label(review_date)


def week_end(label: str) -> date:
    """The Sunday that ends ISO week ``label`` (``2026-W47`` -> 2026-11-22)."""
    match = _WEEK.match(label.strip())
    if not match:
        raise UserError(f"a week looks like 2026-W47, got {label!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 7)
    except ValueError as exc:
        raise UserError(f"{label} is not an ISO week of {year}") from exc


def month_end(label: str) -> date:
    """The last day of month ``label`` (``2026-11`` -> 2026-11-30)."""
    match = _MONTH.match(label.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UserError(f"a month looks like 2026-11, got {label!r}")
    year, month = int(match.group(1)), int(match.group(2))
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def ascii_token(text: str, *, max_len: int = 40) -> str:
    """``text`` reduced to ``[A-Za-z0-9_-]``; a short hash keeps distinct inputs distinct."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    token = _ASCII_SAFE.sub("_", folded).strip("_-")[:max_len]
    if token != text or not token:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
        token = f"{token}_{digest}" if token else digest
    return token


def file_name(kind: Kind, period: str, manager_id: str, sha256: str) -> str:
    """The ASCII file name of a pack: ``review-2026-W47-M0012-3f9a1c2e.xlsx``."""
    prefix = "review" if kind == "weekly" else "review-month"
    return f"{prefix}-{period}-{ascii_token(manager_id)}-{sha256[:8]}.xlsx"


def display_name(title: str, period: str, scope_label: str, *, max_len: int = 120) -> str:
    """The name the manager sees: ``销售评审周报_2026-W47_华东区.xlsx``.

    Characters no file system or mail client accepts are replaced; spaces
    become underscores; the result never starts with a dot.
    """
    parts = [p for p in (title, period, scope_label) if p]
    stem = "_".join(parts)
    stem = unicodedata.normalize("NFC", stem)
    stem = _FORBIDDEN.sub("_", stem)
    stem = re.sub(r"\s+", "_", stem).strip("._ ")
    stem = stem[:max_len] or "review"
    return f"{stem}.xlsx"


def sheet_name(text: str, used: set[str] | None = None) -> str:
    """A valid, unique Excel sheet name (at most 31 characters, no ``[]:*?/\\``)."""
    name = _SHEET_FORBIDDEN.sub(" ", text).strip().strip("'")[:MAX_SHEET_NAME] or "Sheet"
    used = used if used is not None else set()
    candidate, n = name, 2
    while candidate.lower() in {u.lower() for u in used}:
        suffix = f" ({n})"
        candidate = name[: MAX_SHEET_NAME - len(suffix)] + suffix
        n += 1
    used.add(candidate)
    return candidate
