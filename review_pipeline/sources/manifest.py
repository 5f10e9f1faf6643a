"""The file manifest: every file seen in a landing folder, by content hash.

Exactly-once rules (pure, :func:`decide`):

* the same content under the same name again: skipped;
* the same content under another name (a renamed copy): recorded as a
  ``duplicate`` of the first and not loaded;
* new content under a known name: loaded as the next ``version`` of it.

The SQL helpers read and write ``ops.file_manifest`` (sql/migrations/0002).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

ManifestStatus = Literal["loaded", "quarantined", "duplicate"]
Action = Literal["load", "skip", "duplicate"]


@dataclass(frozen=True)
class ManifestEntry:
    file_id: int
    file_name: str
    sha256: str
    status: str
    version: int | None


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    version: int | None = None
    previous_id: int | None = None
    """The earlier manifest row this decision refers to (same content, or older version)."""


def decide(entries: Sequence[ManifestEntry], file_name: str, sha256: str) -> Decision:
    """What to do with a file, given the manifest rows of its source sharing its name or hash."""
    same_content = [e for e in entries if e.sha256 == sha256]
    for e in same_content:
        if e.file_name == file_name:
            return Decision(
                "skip", f"already seen as manifest #{e.file_id} ({e.status})", None, e.file_id
            )
    originals = [e for e in same_content if e.status in ("loaded", "quarantined")]
    if originals:
        first = min(originals, key=lambda e: e.file_id)
        return Decision(
            "duplicate",
            f"same content as {first.file_name} (manifest #{first.file_id})",
            None,
            first.file_id,
        )
    older = [e for e in entries if e.file_name == file_name and e.version is not None]
    if older:
        last = max(older, key=lambda e: e.version or 0)
        version = (last.version or 0) + 1
        return Decision(
            "load",
            f"new version {version} of {file_name} (changed content)",
            version,
            last.file_id,
        )
    return Decision("load", "new file", 1, None)


def sha256_of(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a regular file, opened without following symlinks."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        digest = hashlib.sha256()
        size = 0
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# ------------------------------------------------------------------------ SQL
def related_entries(
    conn: Connection, source: str, entity: str, file_name: str, sha256: str
) -> list[ManifestEntry]:
    """Manifest rows of ``source`` and ``entity`` with the same name or the same content.

    Per entity, because one export file may feed two entities (an org sheet
    gives both ``employee`` and ``employee_assignment``).
    """
    rows = conn.execute(
        sa.text(
            "select file_id, file_name, sha256, status, version from ops.file_manifest"
            " where source = :source and entity = :entity"
            " and (file_name = :file_name or sha256 = :sha256)"
            " order by file_id"
        ),
        {"source": source, "entity": entity, "file_name": file_name, "sha256": sha256},
    )
    return [ManifestEntry(r.file_id, r.file_name, r.sha256, r.status, r.version) for r in rows]


def register(
    conn: Connection,
    *,
    source: str,
    entity: str,
    file_name: str,
    sha256: str,
    size_bytes: int,
    status: ManifestStatus,
    seen_at: datetime,
    version: int | None = None,
    duplicate_of: int | None = None,
    message: str | None = None,
) -> int:
    """Insert a manifest row; returns its ``file_id``."""
    file_id: int = conn.execute(
        sa.text(
            "insert into ops.file_manifest (source, entity, file_name, sha256, size_bytes,"
            " version, status, duplicate_of, first_seen_at, message)"
            " values (:source, :entity, :file_name, :sha256, :size_bytes, :version, :status,"
            " :duplicate_of, :seen_at, :message)"
            " returning file_id"
        ),
        {
            "source": source,
            "entity": entity,
            "file_name": file_name,
            "sha256": sha256,
            "size_bytes": size_bytes,
            "version": version,
            "status": status,
            "duplicate_of": duplicate_of,
            "seen_at": seen_at,
            "message": message,
        },
    ).scalar_one()
    return file_id


def finish(
    conn: Connection,
    file_id: int,
    *,
    status: ManifestStatus,
    rows_in: int | None,
    rows_loaded: int | None,
    rows_quarantined: int | None,
    rows_dropped: int | None,
    loaded_at: datetime,
    encoding: str | None = None,
    archived_path: str | None = None,
    message: str | None = None,
) -> None:
    """Record the outcome of loading a registered file."""
    conn.execute(
        sa.text(
            "update ops.file_manifest set status = :status, rows_in = :rows_in,"
            " rows_loaded = :rows_loaded, rows_quarantined = :rows_quarantined,"
            " rows_dropped = :rows_dropped, loaded_at = :loaded_at, encoding = :encoding,"
            " archived_path = :archived_path, message = :message"
            " where file_id = :file_id"
        ),
        {
            "file_id": file_id,
            "status": status,
            "rows_in": rows_in,
            "rows_loaded": rows_loaded,
            "rows_quarantined": rows_quarantined,
            "rows_dropped": rows_dropped,
            "loaded_at": loaded_at,
            "encoding": encoding,
            "archived_path": archived_path,
            "message": message,
        },
    )


def quarantine_file(
    conn: Connection,
    *,
    file_id: int,
    source: str,
    entity: str,
    file_name: str,
    sha256: str,
    rule: str,
    reason: str,
    line_no: int | None,
) -> None:
    """Record a file that could not be read at all in ``quarantine.file``."""
    conn.execute(
        sa.text(
            "insert into quarantine.file (file_id, source, entity, file_name, sha256, line_no,"
            " rule, reason) values (:file_id, :source, :entity, :file_name, :sha256, :line_no,"
            " :rule, :reason)"
        ),
        {
            "file_id": file_id,
            "source": source,
            "entity": entity,
            "file_name": file_name,
            "sha256": sha256,
            "line_no": line_no,
            "rule": rule,
            "reason": reason,
        },
    )
