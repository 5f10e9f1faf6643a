"""The file-drop layer: safe paths, exactly-once loading, raw COPY, quarantine, archive.

:func:`load_file` takes one file of a landing folder through these steps, in
one database transaction:

1. path safety (a regular file inside the landing folder; no ``..``,
   absolute names, symlinks or device files);
2. sha256 and the manifest decision (skip / duplicate / new version);
3. the reader (strict encoding, CSV dialect, XLSX bomb caps, header search)
   streaming rows through the pure conversion of :mod:`.convert`;
4. good rows COPY'd into ``raw.file_<entity>``, bad rows into
   ``quarantine.file_row`` (file, line, column, rule, reason, raw values);
   an unreadable file into ``quarantine.file``;
5. the invariant rows_in = loaded + quarantined checked in the database;
6. the file moved to ``archive/<source>/YYYY/MM/<sha prefix>_<name>``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import IO, Any
from zoneinfo import ZoneInfo

from psycopg import sql
from sqlalchemy.engine import Connection

from review_pipeline.errors import ConfigError, ReviewError, UserError
from review_pipeline.sources import manifest
from review_pipeline.sources.canonical import entity as canonical_entity
from review_pipeline.sources.canonical import raw_file_table
from review_pipeline.sources.convert import (
    Problem,
    RowPlan,
    build_plan,
    column_variants,
    convert_row,
    fatal_missing_columns,
    jsonable,
    missing_columns,
    row_hash,
)
from review_pipeline.sources.mapping import SourceMapping
from review_pipeline.sources.readers import (
    FILE_HEADER,
    FileRejected,
    HeaderExpectation,
    ReadLimits,
    SourceRow,
    TableStream,
    read_table,
)

log = logging.getLogger(__name__)

__all__ = [
    "FileLoadResult",
    "FileRejected",
    "ReadLimits",
    "UnsafePath",
    "discover_files",
    "header_expectation",
    "load_file",
    "load_landing",
    "read_rows",
    "safe_landing_path",
]


class UnsafePath(UserError):
    """A file name that points outside the landing folder or at something not a plain file."""


class FileChanged(ReviewError):
    """The file's content changed between hashing and reading it: the load is rolled back."""


class InvariantViolated(ReviewError):
    """rows_in != loaded + quarantined: the load is rolled back."""


# ----------------------------------------------------------------- path safety
def _is_absolute_name(name: str) -> bool:
    return (
        PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or bool(PureWindowsPath(name).drive)
        or name.startswith(("\\", "/"))
    )


def safe_landing_path(landing_dir: Path, name: str | PurePath) -> Path:
    """The path of ``name`` inside ``landing_dir``, after refusing anything unsafe.

    Refused, with a message naming the file: empty or absolute names, ``..``
    components, NUL bytes, symlinks at any level below the landing folder,
    and anything that is not a regular file (folders, devices, FIFOs, sockets).
    """
    text = str(name)
    if not text or "\x00" in text:
        raise UnsafePath(f"refused file name {text!r}: empty or contains NUL")
    if _is_absolute_name(text):
        raise UnsafePath(f"refused file {text!r}: absolute names are not allowed")
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if ".." in parts:
        raise UnsafePath(f"refused file {text!r}: '..' would leave the landing folder")
    try:
        root = landing_dir.resolve(strict=True)
    except OSError as exc:
        raise ConfigError(f"landing folder {landing_dir} does not exist ({exc})") from None
    current = root
    for i, part in enumerate(parts):
        if part in ("", "."):
            continue
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            raise UserError(f"file {text!r} not found in {root}") from None
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(f"refused file {text!r}: {current.name} is a symbolic link")
        last = i == len(parts) - 1
        if not last and not stat.S_ISDIR(st.st_mode):
            raise UnsafePath(f"refused file {text!r}: {current.name} is not a folder")
        if last and not stat.S_ISREG(st.st_mode):
            raise UnsafePath(
                f"refused file {text!r}: not a regular file (folder, device, FIFO or socket)"
            )
    if current == root:
        raise UnsafePath(f"refused file {text!r}: names the landing folder itself")
    return current


def discover_files(
    mapping: SourceMapping, entity: str, landing_dir: Path
) -> tuple[list[str], list[tuple[str, str]]]:
    """Names in ``landing_dir`` matching the entity's glob, sorted; and refused ones with why.

    Only the folder itself is listed (no recursion); hidden and partial names
    (``.name``, ``~$name``) are ignored.
    """
    spec = mapping.entity(entity).file
    if spec is None:
        raise ConfigError(f"mapping {mapping.source}: entity {entity} has no file pattern")
    names: list[str] = []
    refused: list[tuple[str, str]] = []
    if not landing_dir.is_dir():
        return names, refused
    for item in sorted(os.listdir(landing_dir)):
        if item.startswith((".", "~$")) or not fnmatch.fnmatchcase(item, spec.glob):
            continue
        try:
            safe_landing_path(landing_dir, item)
        except UnsafePath as exc:
            refused.append((item, str(exc)))
            continue
        names.append(item)
    return names, refused


# ---------------------------------------------------------------------- reading
def header_expectation(mapping: SourceMapping, entity: str) -> HeaderExpectation:
    """What a header row of ``entity`` must contain under ``mapping``."""
    ent = canonical_entity(entity)
    ent_map = mapping.entity(entity)
    needed: dict[str, list[str]] = {}
    wanted: dict[str, list[str]] = {}
    for name, spec in ent_map.columns.items():
        if not spec.source:
            continue
        variants = column_variants(spec)
        wanted[name] = variants
        if name in ent.keys or ent.get(name).required or spec.required:
            needed[name] = variants
    return HeaderExpectation(needed=needed, wanted=wanted)


def read_rows(
    mapping: SourceMapping,
    entity: str,
    path: Path,
    load_time: datetime,
    limits: ReadLimits | None = None,
) -> tuple[TableStream, RowPlan]:
    """Open ``path`` and resolve the mapping against its header (no database)."""
    spec = mapping.entity(entity).file
    if spec is None:
        raise ConfigError(f"mapping {mapping.source}: entity {entity} has no file pattern")
    stream = read_table(path, spec, header_expectation(mapping, entity), limits)
    plan = build_plan(mapping, entity, stream.headers, load_time, excel_epoch=stream.excel_epoch)
    fatal = fatal_missing_columns(mapping, entity, plan)
    if fatal:
        raise FileRejected(
            FILE_HEADER,
            f"header line {stream.header_line} lacks {'; '.join(fatal)}",
            line_no=stream.header_line,
        )
    return stream, plan


# ---------------------------------------------------------------------- results
@dataclass
class FileLoadResult:
    """What :func:`load_file` did with one file."""

    source: str
    entity: str
    file_name: str
    sha256: str
    size_bytes: int
    status: str
    """``loaded``, ``quarantined`` (whole file), ``duplicate`` (renamed copy) or ``skipped``."""
    message: str = ""
    file_id: int | None = None
    version: int | None = None
    previous_id: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_dropped: int = 0
    """Totals rows (合计 / 总计 / 小计 / Total) left out; not part of rows_in."""
    encoding: str | None = None
    archived_path: str | None = None
    missing_columns: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A small JSON-able summary (for an Airflow task's return value)."""
        return asdict(self)


# ------------------------------------------------------------------------ loading
@contextlib.contextmanager
def _transaction(conn: Connection) -> Generator[None, None, None]:
    if conn.in_transaction():
        with conn.begin_nested():
            yield
    else:
        with conn.begin():
            yield


def load_file(
    conn: Connection,
    mapping: SourceMapping,
    entity: str,
    path: str | PurePath,
    *,
    landing_dir: Path | None = None,
    archive_dir: Path | None = None,
    load_time: datetime | None = None,
    limits: ReadLimits | None = None,
    archive: bool = True,
) -> FileLoadResult:
    """Load one landing file of ``entity`` exactly once, in one transaction.

    Args:
        conn: a warehouse connection (SQLAlchemy, psycopg 3 driver).
        path: the file's name relative to the landing folder.
        landing_dir / archive_dir: default ``settings.landing_dir / <mapping landing>``
            and ``settings.archive_dir``.
        load_time: the load's timestamp (default: now, in the mapping's time zone).
        archive: move the file into the archive after a successful load.

    Pass a connection outside a transaction: the load then commits on its own
    and the archive move is undone if that commit fails. Inside a caller's
    transaction it runs in a savepoint, and a later rollback by the caller
    leaves the file archived but not recorded.

    Raises:
        UnsafePath: the name is refused (nothing is recorded).
        InvariantViolated: rows were lost between reading and writing (rolled back).
    """
    if mapping.kind != "files":
        raise ConfigError(f"mapping {mapping.source} is kind {mapping.kind!r}, not 'files'")
    mapping.entity(entity)
    if landing_dir is None or (archive and archive_dir is None):
        from review_pipeline.settings import load_settings

        settings = load_settings()
        landing_dir = landing_dir or settings.landing_dir / mapping.landing_folder
        archive_dir = archive_dir or settings.archive_dir
    tz = ZoneInfo(mapping.timezone)
    load_time = (load_time or datetime.now(tz)).astimezone(tz)
    full = safe_landing_path(landing_dir, path)
    file_name = PurePosixPath(str(path).replace("\\", "/")).as_posix()
    sha, size = manifest.sha256_of(full)
    result = FileLoadResult(mapping.source, entity, file_name, sha, size, status="skipped")

    from review_pipeline.db import step_lock

    moved: tuple[Path, Path] | None = None
    try:
        with _transaction(conn), step_lock(conn, "file_load", mapping.source, wait_seconds=60):
            decision = manifest.decide(
                manifest.related_entries(conn, mapping.source, entity, file_name, sha),
                file_name,
                sha,
            )
            result.message, result.previous_id = decision.reason, decision.previous_id
            if decision.action == "skip":
                return result
            if decision.action == "duplicate":
                result.status = "duplicate"
                result.file_id = manifest.register(
                    conn,
                    source=mapping.source,
                    entity=entity,
                    file_name=file_name,
                    sha256=sha,
                    size_bytes=size,
                    status="duplicate",
                    seen_at=load_time,
                    duplicate_of=decision.previous_id,
                    message=decision.reason,
                )
                return result
            result.version = decision.version
            result.file_id = manifest.register(
                conn,
                source=mapping.source,
                entity=entity,
                file_name=file_name,
                sha256=sha,
                size_bytes=size,
                status="loaded",
                seen_at=load_time,
                version=decision.version,
                message=decision.reason,
            )
            try:
                with conn.begin_nested():
                    _load_rows(conn, mapping, entity, full, result, load_time, limits)
            except FileRejected as rej:
                _record_rejection(conn, mapping, entity, result, rej, load_time)
                return result
            if manifest.sha256_of(full) != (sha, size):
                raise FileChanged(
                    f"{file_name} changed while it was loaded (still being written?); "
                    "nothing was kept, load it again once it is complete"
                )
            if archive and archive_dir is not None:
                target = _archive_target(archive_dir, mapping.source, file_name, sha, load_time)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(full), str(target))
                moved = (target, full)
                result.archived_path = str(target)
            manifest.finish(
                conn,
                result.file_id,
                status="loaded",
                rows_in=result.rows_in,
                rows_loaded=result.rows_loaded,
                rows_quarantined=result.rows_quarantined,
                rows_dropped=result.rows_dropped,
                loaded_at=load_time,
                encoding=result.encoding,
                archived_path=result.archived_path,
                message=_load_message(result),
            )
            result.status = "loaded"
            result.message = _load_message(result)
    except BaseException:
        if moved is not None:  # the database forgot the load: put the file back
            with contextlib.suppress(OSError):
                shutil.move(str(moved[0]), str(moved[1]))
        raise
    log.info(
        "%s %s: %s (%d in, %d loaded, %d quarantined)",
        mapping.source,
        file_name,
        result.status,
        result.rows_in,
        result.rows_loaded,
        result.rows_quarantined,
    )
    return result


def _load_message(result: FileLoadResult) -> str:
    text = f"version {result.version}: {result.rows_loaded} rows loaded"
    if result.rows_quarantined:
        text += f", {result.rows_quarantined} quarantined"
    if result.rows_dropped:
        text += f", {result.rows_dropped} totals rows dropped"
    if result.missing_columns:
        text += f"; absent optional columns: {'; '.join(result.missing_columns)}"
    return text


def _archive_target(
    archive_dir: Path, source: str, file_name: str, sha: str, load_time: datetime
) -> Path:
    folder = archive_dir / source / f"{load_time:%Y}" / f"{load_time:%m}"
    base = PurePosixPath(file_name).name
    target = folder / f"{sha[:16]}_{base}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{sha[:16]}_{n}_{base}"
    return target


def _record_rejection(
    conn: Connection,
    mapping: SourceMapping,
    entity: str,
    result: FileLoadResult,
    rej: FileRejected,
    load_time: datetime,
) -> None:
    assert result.file_id is not None
    where = f" (line {rej.line_no})" if rej.line_no else ""
    message = f"{result.file_name}{where}: {rej.rule}: {rej.message}"
    manifest.quarantine_file(
        conn,
        file_id=result.file_id,
        source=mapping.source,
        entity=entity,
        file_name=result.file_name,
        sha256=result.sha256,
        rule=rej.rule,
        reason=rej.message,
        line_no=rej.line_no,
    )
    result.status = "quarantined"
    result.rows_in = result.rows_loaded = result.rows_quarantined = result.rows_dropped = 0
    result.message = message
    manifest.finish(
        conn,
        result.file_id,
        status="quarantined",
        rows_in=None,
        rows_loaded=None,
        rows_quarantined=None,
        rows_dropped=None,
        loaded_at=load_time,
        encoding=result.encoding,
        message=message,
    )
    log.warning("%s %s quarantined: %s", mapping.source, result.file_name, message)


_QUARANTINE_COLUMNS = (
    "file_id",
    "source",
    "entity",
    "file_name",
    "sha256",
    "line_no",
    "column_name",
    "rule",
    "reason",
    "raw_values",
    "quarantined_at",
)


def _load_rows(
    conn: Connection,
    mapping: SourceMapping,
    entity: str,
    path: Path,
    result: FileLoadResult,
    load_time: datetime,
    limits: ReadLimits | None,
) -> None:
    """Stream the file: good rows COPY'd to raw, bad rows spooled then COPY'd to quarantine."""
    from review_pipeline.db import raw_psycopg

    stream, plan = read_rows(mapping, entity, path, load_time, limits)
    result.encoding = stream.encoding
    result.missing_columns = missing_columns(mapping, entity, plan)
    pg = raw_psycopg(conn)
    table = raw_file_table(entity)
    meta = ("source", "file_id", "file_name", "sha256", "line_no", "loaded_at", "row_hash")
    columns = meta + plan.columns
    copy_raw = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier("raw"),
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        with pg.cursor() as cur, cur.copy(copy_raw) as copy:
            for item in stream.rows:
                result.rows_in += 1
                row, problems = _convert(plan, item)
                if problems:
                    _spool(spool, item, problems)
                    result.rows_quarantined += 1
                    continue
                head = (
                    mapping.source,
                    result.file_id,
                    result.file_name,
                    result.sha256,
                    item.line_no,
                    load_time,
                    row_hash(plan, row),
                )
                copy.write_row(head + tuple(row[c] for c in plan.columns))
                result.rows_loaded += 1
        result.rows_dropped = len(stream.dropped)
        spool.seek(0)
        _copy_quarantine(pg, spool, mapping, entity, result, load_time)
    _check_invariant(conn, table, result)


def _convert(plan: RowPlan, item: SourceRow) -> tuple[dict[str, str | None], list[Problem]]:
    if item.problem is not None:
        return {}, [item.problem]
    return convert_row(plan, item.values)


def _spool(spool: IO[str], item: SourceRow, problems: list[Problem]) -> None:
    # PostgreSQL text and jsonb cannot hold NUL: escape it everywhere a source text goes
    raw = {str(jsonable(k)): jsonable(v) for k, v in item.values.items()}
    if "_cells" in item.values:
        raw = {"_cells": [jsonable(v) for v in item.values["_cells"]]}
    record = {
        "line_no": item.line_no,
        "column": jsonable(", ".join(dict.fromkeys(p.column for p in problems))),
        "rule": problems[0].rule,
        "reason": jsonable("; ".join(f"{p.column}: {p.reason}" for p in problems)),
        "raw": raw,
    }
    spool.write(json.dumps(record, ensure_ascii=False) + "\n")


def _copy_quarantine(
    pg: Any,
    spool: IO[str],
    mapping: SourceMapping,
    entity: str,
    result: FileLoadResult,
    load_time: datetime,
) -> None:
    if result.rows_quarantined == 0:
        return
    stmt = sql.SQL("copy quarantine.file_row ({}) from stdin").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in _QUARANTINE_COLUMNS)
    )
    with pg.cursor() as cur, cur.copy(stmt) as copy:
        for line in spool:
            rec = json.loads(line)
            copy.write_row(
                (
                    result.file_id,
                    mapping.source,
                    entity,
                    result.file_name,
                    result.sha256,
                    rec["line_no"],
                    rec["column"],
                    rec["rule"],
                    rec["reason"],
                    json.dumps(rec["raw"], ensure_ascii=False),
                    load_time,
                )
            )


def _check_invariant(conn: Connection, table: str, result: FileLoadResult) -> None:
    """Count what reached the database; raise (and roll back) when a row went missing."""
    from review_pipeline.db import raw_psycopg

    pg = raw_psycopg(conn)
    count_raw = sql.SQL("select count(*) from {}.{} where file_id = %s").format(
        sql.Identifier("raw"), sql.Identifier(table)
    )
    with pg.cursor() as cur:
        loaded = cur.execute(count_raw, (result.file_id,)).fetchone()
        quarantined = cur.execute(
            "select count(distinct line_no) from quarantine.file_row where file_id = %s",
            (result.file_id,),
        ).fetchone()
    n_loaded = loaded[0] if loaded else -1
    n_quarantined = quarantined[0] if quarantined else -1
    if not (
        result.rows_in == result.rows_loaded + result.rows_quarantined
        and n_loaded == result.rows_loaded
        and n_quarantined == result.rows_quarantined
    ):
        raise InvariantViolated(
            f"{result.file_name}: rows in {result.rows_in} != loaded {n_loaded} "
            f"+ quarantined {n_quarantined} (counted {result.rows_loaded} + "
            f"{result.rows_quarantined}); nothing was kept"
        )


def load_landing(
    conn: Connection,
    mapping: SourceMapping,
    *,
    landing_dir: Path | None = None,
    archive_dir: Path | None = None,
    load_time: datetime | None = None,
    limits: ReadLimits | None = None,
) -> list[FileLoadResult]:
    """Load every new file of every entity of a 'files' mapping, oldest name first.

    Refused names (symlinks, devices) are logged and left where they are.
    """
    if landing_dir is None or archive_dir is None:
        from review_pipeline.settings import load_settings

        settings = load_settings()
        landing_dir = landing_dir or settings.landing_dir / mapping.landing_folder
        archive_dir = archive_dir or settings.archive_dir
    # One export may feed several entities (an org sheet: employee and assignment):
    # load it for each, and archive it after the last one.
    plan: list[tuple[str, str]] = []
    for entity in mapping.entities:
        names, refused = discover_files(mapping, entity, landing_dir)
        for _name, why in refused:
            log.warning("%s", why)
        plan += [(entity, name) for name in names]
    last_use = {name: i for i, (_, name) in enumerate(plan)}
    results: list[FileLoadResult] = []
    for i, (entity, name) in enumerate(plan):
        results.append(
            load_file(
                conn,
                mapping,
                entity,
                name,
                landing_dir=landing_dir,
                archive_dir=archive_dir,
                load_time=load_time,
                limits=limits,
                archive=last_use[name] == i,
            )
        )
    return results
