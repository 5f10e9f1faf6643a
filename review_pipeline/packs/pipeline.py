"""Build the review packs of a period: the stage functions ``build_packs`` and
``build_monthly_packs`` (orchestration contract), and the preview.

One build of a period:

1. takes the step lock ``packs.<kind>`` for the period (a second build of the
   same week waits ``settings.lock_timeout_seconds``, then stops with a
   message naming who holds it) and opens ONE repeatable-read snapshot, so
   every pack of the build sees the same marts;
2. lists the managers (``sql/packs/pack_managers.sql``); a manager with
   nobody under them on the review date, not active, or without an e-mail
   address gets an ``ops.pack_skip`` row with the reason, never a pack;
3. opens one cursor per report, partitioned by manager
   (:mod:`review_pipeline.packs.source`), and writes the managers' workbooks
   one after the other, the rows streaming from the cursors into the sheets;
4. records each pack and its outbox message in one transaction
   (``sql/packs/pack_insert.sql``, ``pack_current.sql``): identical content is
   the same row (no new message); different content supersedes the older
   version and skips its pending message.

Nothing here reads the clock for content: the review date is a parameter and
document times are the data's as-of time, so a rebuild of unchanged data
gives byte-identical workbooks.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from review_pipeline.db import read_sql, split_statements, step_lock, warehouse_engine
from review_pipeline.errors import UserError
from review_pipeline.packs import naming
from review_pipeline.packs.caps import row_caps
from review_pipeline.packs.source import (
    Manager,
    ManagerStream,
    data_as_of,
    load_managers,
    names_query,
    open_streams,
)
from review_pipeline.packs.workbook import (
    AdviceEntry,
    Limits,
    PackMeta,
    SheetInput,
    WrittenPack,
    sha256_of,
    write_pack,
)
from review_pipeline.reports.catalog import Report, reports_for
from review_pipeline.reports.labels import pack_label
from review_pipeline.settings import Settings

log = logging.getLogger(__name__)

ADVICE_MODULE = "review_pipeline.advice.api"


@dataclass
class BuildResult:
    """What one build did; :meth:`as_dict` is the stage's return value."""

    kind: str
    period: str
    review_date: date
    managers: int = 0
    built: int = 0
    new: int = 0
    unchanged: int = 0
    rows_in: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    packs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    advice: bool = False

    def as_dict(self) -> dict[str, Any]:
        reasons: dict[str, int] = {}
        for reason in self.skipped.values():
            key = reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        return {
            "kind": self.kind,
            "period": self.period,
            "review_date": self.review_date.isoformat(),
            "rows_in": self.rows_in,
            "rows_out": self.new,
            "managers": self.managers,
            "packs_built": self.built,
            "packs_new": self.new,
            "packs_unchanged": self.unchanged,
            "skipped": reasons,
            "advice": self.advice,
            "seconds": round(self.seconds, 2),
            "dry_run": self.dry_run,
        }


# ---------------------------------------------------------------- period helpers
def period_start(kind: str, review_date: date) -> date:
    """First day of the period a pack covers (Monday of the week, 1st of the month)."""
    if kind == "weekly":
        return review_date - timedelta(days=review_date.isoweekday() - 1)
    return review_date.replace(day=1)


def packs_dir(settings: Settings, kind: str, period: str) -> Path:
    """Where a period's workbooks live: ``$REVIEW_HOME/packs/<kind>/<period>``."""
    return settings.home / "packs" / kind / period


def _manager_from_scope(scope: str | None) -> str | None:
    if scope in (None, "", "all", "company"):
        return None
    kind, sep, key = str(scope).partition(":")
    if sep and kind.strip().lower() == "manager" and key.strip():
        return key.strip()
    raise UserError(
        f"packs are built per manager: scope must be 'all' or 'manager:ID', got {scope!r}"
    )


def _title(kind: str, language: str) -> str:
    return pack_label("weekly_title" if kind == "weekly" else "monthly_title", language)


def _scope_label(manager: Manager, language: str) -> str:
    unit = manager.unit_label
    if manager.scope_level == "company" or (manager.scope_level and not unit):
        unit = pack_label("company", language)
    who = manager.name or manager.manager_id
    return f"{unit} ({who})" if unit else who


def _skip_reason(manager: Manager, review_date: date) -> str | None:
    if not manager.has_scope:
        return f"no scope: nobody is under {manager.manager_id} on {review_date}"
    if not manager.is_active:
        return f"not active: {manager.manager_id} is not an active employee on {review_date}"
    if not (manager.email or "").strip():
        return f"no address: {manager.manager_id} has no e-mail address"
    return None


def sheet_order(reports: Sequence[Report]) -> list[Report]:
    """Reports in the order a reader expects: R1, R2, R3, R3c-g, ..., R9."""

    def key(report: Report) -> tuple[int, str]:
        digits = "".join(ch for ch in report.number[1:] if ch.isdigit())
        return int(digits or 0), report.number

    return sorted(reports, key=key)


# ---------------------------------------------------------------------- reading
def _names(conn: sa.Connection, review_date: date, language: str) -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], str] = {}
    for kind, code, name in conn.execute(names_query(), {"review_date": review_date}):
        if code is not None and name:
            names[(kind, str(code))] = str(name)
    column = "name_zh" if language == "zh-CN" else "name"
    for code, name in conn.execute(
        sa.text(f"select business_unit, {column} from dw.dim_business_unit")
    ):
        names[("business_unit", str(code))] = str(name or code)
    return names


def _region_names_differ(names: Mapping[tuple[str, str], str]) -> bool:
    return any(k[0] == "region" and k[1] != v for k, v in names.items())


def _require_reports(conn: sa.Connection, reports: Sequence[Report], review_date: date) -> None:
    table = reports[0].table
    found = conn.execute(
        sa.text(f"select exists (select 1 from mart.{table} where review_date = :d)"),
        {"d": review_date},
    ).scalar_one()
    if not found:
        raise UserError(
            f"no report rows for {review_date} in mart.{table}: build the reports first "
            f"(`review-pipeline report build --date {review_date} --cadence weekly`)"
        )


def _advice_api() -> Any | None:
    """The advice stage's API when it is installed (it is optional for packs)."""
    try:
        return importlib.import_module(ADVICE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and ADVICE_MODULE.startswith(exc.name):
            return None
        raise


def _advice_for(
    api: Any, settings: Settings, review_date: date, manager_id: str, language: str
) -> list[AdviceEntry]:
    from review_pipeline.reports.scope import Scope

    items = api.advice_for(settings, review_date, Scope("manager", manager_id), language=language)
    return [
        AdviceEntry(
            rule_id=str(item.rule_id),
            severity=str(item.severity),
            subject=str(item.subject_name or item.subject_id or ""),
            action=str(item.action),
            stake_cny=float(item.stake_cny or 0.0),
            since=str(item.since or ""),
            status=str(item.status),
            sheet=str(item.sheet or ""),
            row_key=dict(item.row_key or {}),
            evidence=dict(item.evidence or {}),
        )
        for item in items
    ]


def _sheet_inputs(
    reports: Sequence[Report],
    streams: Mapping[str, ManagerStream],
    columns: Mapping[str, Sequence[str]],
    manager_id: str,
    caps: Mapping[str, int],
) -> Iterator[SheetInput]:
    for report in reports:
        stream = streams[report.name]
        yield SheetInput(
            report=report,
            columns=columns[report.name],
            count=stream.count_for(manager_id),
            rows=stream.rows_for(manager_id),
            cap=int(caps.get(report.name, 0)),
        )


# ---------------------------------------------------------------------- writing
@dataclass
class _Job:
    """Everything needed to write packs, shared by the build and its workers (picklable)."""

    settings: Settings
    kind: str
    period: str
    review_date: date
    as_of: Any
    as_of_known: bool
    names: dict[tuple[str, str], str]
    region_names: bool
    columns: dict[str, list[str]]
    target_dir: Path
    record: bool
    limits: Limits | None
    advice: bool

    def write(self, conn: sa.Connection, managers: Sequence[Manager]) -> list[dict[str, Any]]:
        """Write (and record) the packs of ``managers`` (sorted by id) reading on ``conn``."""
        settings = self.settings
        reports = sheet_order(reports_for(self.kind))  # type: ignore[arg-type]
        caps = row_caps(settings)
        streams = open_streams(
            conn,
            reports,
            self.review_date,
            [m.manager_id for m in managers],
            top_n=settings.reports.top_n,
            caps=caps,
        )
        api = _advice_api() if self.advice else None
        cache: dict[Any, Any] = {}
        return [self._one(manager, reports, streams, api, cache, caps) for manager in managers]

    def _one(
        self,
        manager: Manager,
        reports: Sequence[Report],
        streams: Mapping[str, ManagerStream],
        api: Any,
        cache: dict[Any, Any],
        caps: Mapping[str, int],
    ) -> dict[str, Any]:
        settings, kind, period = self.settings, self.kind, self.period
        language = settings.language
        scope_label = _scope_label(manager, language)
        meta = PackMeta(
            kind=kind,
            period=period,
            review_date=self.review_date,
            language=language,
            timezone=settings.timezone,
            data_as_of=self.as_of,
            as_of_known=self.as_of_known,
            manager=manager,
            title=f"{_title(kind, language)} {period} · {scope_label}",
            scope_label=scope_label,
        )
        advice = (
            _advice_for(api, settings, self.review_date, manager.manager_id, language)
            if api is not None
            else None
        )
        token = naming.ascii_token(manager.manager_id)
        work = self.target_dir / f".building-{token}-{os.getpid()}.xlsx"
        try:
            written = write_pack(
                work,
                meta,
                _sheet_inputs(reports, streams, self.columns, manager.manager_id, caps),
                names=self.names,
                region_names=self.region_names,
                advice=advice,
                advice_top_n=int(getattr(getattr(settings, "advice", None), "top_n", 5)),
                limits=self.limits,
                column_cache=cache,
            )
        except BaseException:
            work.unlink(missing_ok=True)
            raise
        sha = sha256_of(work)
        name = naming.file_name(kind, period, manager.manager_id, sha)  # type: ignore[arg-type]
        path = self.target_dir / name
        os.replace(work, path)
        display = naming.display_name(
            _title(kind, language), period, manager.unit_label or scope_label
        )
        new = False
        if self.record:
            new = _record_pack(
                settings, meta, written, path=path, file_name=name, display_name=display,
                sha256=sha,
            )  # fmt: skip
        return {
            "manager_id": manager.manager_id,
            "path": str(path),
            "file_name": name,
            "display_name": display,
            "sha256": sha,
            "new": new,
            "rows": written.rows_written,
            "bytes": path.stat().st_size,
            "empty": written.empty,
            "summary": written.summary,
        }


_SNAPSHOT = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


def _in_workers(
    conn: sa.Connection, job: _Job, managers: Sequence[Manager], workers: int
) -> list[dict[str, Any]]:
    """Write the packs in ``workers`` processes reading this transaction's snapshot."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    snapshot = str(conn.execute(sa.text("select pg_export_snapshot()")).scalar_one())
    # managers dealt round-robin: each share stays sorted by id, as the streams need
    shares = [list(managers[i::workers]) for i in range(workers)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_worker, job, snapshot, share) for share in shares]
        packs = [pack for future in futures for pack in future.result()]
    return sorted(packs, key=lambda p: p["manager_id"])


def _worker(job: _Job, snapshot: str, managers: list[Manager]) -> list[dict[str, Any]]:
    """A worker process: the parent's snapshot, then its share of the managers."""
    from review_pipeline import db

    # connections inherited from the parent belong to it: forget them, never close them
    for engine in list(db._ENGINES.values()):
        engine.dispose(close=False)
    db._ENGINES.clear()
    if not _SNAPSHOT.match(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    engine = warehouse_engine(job.settings)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            # SET TRANSACTION SNAPSHOT takes a literal; the id was checked above
            conn.execute(sa.text(f"set transaction snapshot '{snapshot}'"))
            return job.write(conn, managers)


def _record_pack(
    settings: Settings,
    meta: PackMeta,
    written: WrittenPack,
    *,
    path: Path,
    file_name: str,
    display_name: str,
    sha256: str,
) -> bool:
    """Insert the pack and queue its message in ONE transaction; True when new content."""
    manager = meta.manager
    params = {
        "kind": meta.kind,
        "period": meta.period,
        "review_date": meta.review_date,
        "manager_id": manager.manager_id,
        "manager_name": manager.name,
        "recipient": manager.email,
        "language": meta.language,
        "scope_kind": "manager",
        "scope_key": manager.manager_id,
        "file_name": file_name,
        "display_name": display_name,
        "path": str(path),
        "sha256": sha256,
        "bytes": path.stat().st_size,
        "sheets": json.dumps(written.sheets, ensure_ascii=False),
        "summary": json.dumps(written.summary, ensure_ascii=False),
        "data_as_of": meta.data_as_of,
    }
    with warehouse_engine(settings).begin() as conn:
        pack_id = conn.execute(sa.text(read_sql("packs/pack_insert.sql")), params).scalar()
        new = pack_id is not None
        if pack_id is None:
            pack_id = conn.execute(
                sa.text(
                    "select pack_id from ops.pack where kind = :kind and period = :period"
                    " and manager_id = :manager_id and sha256 = :sha256"
                ),
                params,
            ).scalar_one()
        _run_statements(
            conn,
            "packs/pack_current.sql",
            {"pack_id": pack_id, "kind": meta.kind, "period": meta.period,
             "manager_id": manager.manager_id},
        )  # fmt: skip
    return new


@functools.cache
def _statements(relative: str) -> tuple[sa.TextClause, ...]:
    """The statements of a .sql file, split once per process (sqlparse costs ~0.1 s a file)."""
    return tuple(sa.text(statement) for statement in split_statements(read_sql(relative)))


def _run_statements(conn: sa.Connection, relative: str, params: Mapping[str, Any]) -> None:
    """``db.run_sql_file`` with the split statements cached (it runs once per pack)."""
    for clause in _statements(relative):
        conn.execute(clause, {k: v for k, v in params.items() if k in clause._bindparams})


def _record_skip(settings: Settings, kind: str, period: str, manager_id: str, reason: str) -> None:
    with warehouse_engine(settings).begin() as conn:
        _run_statements(
            conn,
            "packs/pack_skip.sql",
            {"kind": kind, "period": period, "manager_id": manager_id, "reason": reason},
        )


def build_period(
    settings: Settings,
    kind: str,
    review_date: date,
    *,
    manager_id: str | None = None,
    dry_run: bool = False,
    out_dir: Path | None = None,
    record: bool = True,
    limits: Limits | None = None,
    workers: int = 1,
) -> BuildResult:
    """Build the packs of one period (all managers, or just ``manager_id``).

    Args:
        kind: ``weekly`` (period = the ISO week of ``review_date``) or
            ``monthly`` (period = its month; the reports of the month end).
        out_dir: write workbooks here instead of ``$REVIEW_HOME/packs/...``.
        record: write ``ops.pack`` / ``ops.outbox`` / ``ops.pack_skip`` rows
            (False for previews and dry runs).
        limits: Excel's limits (lowered by tests).
        workers: processes writing workbooks; each reads the same snapshot of
            the marts (exported by this transaction), so the packs are the
            same whatever the number.
    """
    started = time.perf_counter()
    if kind not in ("weekly", "monthly"):
        raise UserError(f"kind must be weekly or monthly, got {kind!r}")
    period = naming.period_of(kind, review_date)  # type: ignore[arg-type]
    result = BuildResult(kind=kind, period=period, review_date=review_date, dry_run=dry_run)
    record = record and not dry_run
    language = settings.language
    reports = sheet_order(reports_for(kind))  # type: ignore[arg-type]
    engine = warehouse_engine(settings)
    api = _advice_api()
    result.advice = api is not None
    scratch = tempfile.TemporaryDirectory(prefix="packs-") if dry_run else None
    target_dir = Path(scratch.name) if scratch else (out_dir or packs_dir(settings, kind, period))
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            with conn.begin():
                # previews record nothing: they need no lock and never wait for a build
                lock = (
                    step_lock(
                        conn,
                        f"packs.{kind}",
                        period,
                        wait_seconds=float(settings.lock_timeout_seconds),
                    )
                    if record
                    else contextlib.nullcontext()
                )
                with lock:
                    _require_reports(conn, reports, review_date)
                    managers = load_managers(
                        conn, review_date, period_start(kind, review_date), manager_id
                    )
                    as_of, known = data_as_of(conn, review_date, settings.timezone)
                    names = _names(conn, review_date, language)
                    eligible: list[Manager] = []
                    for manager in managers:
                        reason = _skip_reason(manager, review_date)
                        if reason is None or (not record and manager.has_scope and not dry_run):
                            eligible.append(manager)
                        else:
                            result.skipped[manager.manager_id] = reason
                    result.managers = len(managers)
                    job = _Job(
                        settings=settings,
                        kind=kind,
                        period=period,
                        review_date=review_date,
                        as_of=as_of,
                        as_of_known=known,
                        names=names,
                        region_names=_region_names_differ(names),
                        columns={r.name: _columns_of(conn, r) for r in reports},
                        target_dir=target_dir,
                        record=record,
                        limits=limits,
                        advice=api is not None,
                    )
                    workers = max(1, min(workers, len(eligible)))
                    if workers == 1:
                        packs = job.write(conn, eligible)
                    else:
                        packs = _in_workers(conn, job, eligible, workers)
                    for pack in packs:
                        result.built += 1
                        result.new += int(pack["new"])
                        result.unchanged += int(record and not pack["new"])
                        result.rows_in += pack["rows"]
                        result.packs.append(pack)
        if record:
            for skipped_id, reason in result.skipped.items():
                _record_skip(settings, kind, period, skipped_id, reason)
    finally:
        if scratch is not None:
            scratch.cleanup()
    result.seconds = time.perf_counter() - started
    log.info(
        "%s packs %s: %d built (%d new, %d unchanged), %d skipped, %d rows, %.1f s%s",
        kind,
        period,
        result.built,
        result.new,
        result.unchanged,
        len(result.skipped),
        result.rows_in,
        result.seconds,
        " (dry run)" if dry_run else "",
    )
    return result


def _columns_of(conn: sa.Connection, report: Report) -> list[str]:
    columns = list(
        conn.execute(
            sa.text(
                "select column_name from information_schema.columns"
                " where table_schema = 'mart' and table_name = :t order by ordinal_position"
            ),
            {"t": report.table},
        ).scalars()
    )
    if report.top_list:
        columns.append("rank")
    return columns


# ------------------------------------------------------------- stage functions
def build_packs(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """Weekly packs for the ISO week ending on ``business_date`` (the Sunday).

    ``scope`` is ``all`` (every manager) or ``manager:ID``.
    """
    if business_date.isoweekday() != 7:
        log.warning("weekly packs built for %s, which is not a Sunday", business_date)
    result = build_period(
        settings, "weekly", business_date, manager_id=_manager_from_scope(scope), dry_run=dry_run
    )
    return result.as_dict()


def build_monthly_packs(
    settings: Settings, business_date: date, *, scope: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """Monthly packs for the month of ``business_date`` (its last day, after ``close_month``)."""
    result = build_period(
        settings, "monthly", business_date, manager_id=_manager_from_scope(scope), dry_run=dry_run
    )
    return result.as_dict()


# ----------------------------------------------------------------------- preview
@dataclass
class Preview:
    workbook: Path
    display_name: str
    html: Path | None
    text: Path | None
    note: str | None
    summary: dict[str, Any]


def preview_pack(
    settings: Settings, manager_id: str, kind: str, review_date: date, out_dir: Path
) -> Preview:
    """Write one manager's workbook and e-mail body into ``out_dir``; nothing is recorded or sent."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = build_period(
        settings, kind, review_date, manager_id=manager_id, out_dir=out_dir, record=False
    )
    if not result.packs:
        reason = result.skipped.get(manager_id) or f"{manager_id} manages nobody in {result.period}"
        raise UserError(f"no pack for {manager_id} in {result.period}: {reason}")
    pack = result.packs[0]
    html_path = text_path = None
    note = None
    try:
        message = importlib.import_module("review_pipeline.delivery.message")
    except ModuleNotFoundError as exc:
        if not (exc.name and "review_pipeline.delivery.message".startswith(exc.name)):
            raise
        message = None
        note = "the delivery stage is not installed: workbook only, no e-mail body"
    stem = Path(pack["file_name"]).stem
    if message is not None:
        html_path = out_dir / f"{stem}.html"
        html_path.write_text(
            message.render_html(pack["summary"], language=settings.language), encoding="utf-8"
        )
        if hasattr(message, "render_text"):
            text_path = out_dir / f"{stem}.txt"
            text_path.write_text(
                message.render_text(pack["summary"], language=settings.language), encoding="utf-8"
            )
    return Preview(
        workbook=Path(pack["path"]),
        display_name=pack["display_name"],
        html=html_path,
        text=text_path,
        note=note,
        summary=pack["summary"],
    )
