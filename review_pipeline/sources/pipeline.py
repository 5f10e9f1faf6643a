"""Extraction of every configured source for a business date: the task ``extract_sources``.

Sources are named in the setting ``sources`` (default: the simulator's CRM
and finance files). A name resolves to ``$REVIEW_HOME/sources/<name>.yaml``
when that file exists, else to the mapping shipped in
``review_pipeline/sources/mappings/``. SQL sources go through
:mod:`review_pipeline.sources.crm`; file sources through
:mod:`review_pipeline.sources.files`, each loaded file then typed into
staging in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from review_pipeline.db import raw_psycopg, warehouse_engine
from review_pipeline.errors import ConfigError, ReviewError
from review_pipeline.settings import Settings
from review_pipeline.sources.mapping import SourceMapping, bundled_mapping, load_mapping
from review_pipeline.sources.sqlgen import staging_upsert

log = logging.getLogger(__name__)


@dataclass
class SourceSummary:
    source: str
    kind: str
    batches: int = 0
    rows_in: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    rows_deleted: int = 0
    files: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v or k in ("source", "kind")}


def user_mapping_dir(settings: Settings) -> Path:
    return settings.home / "sources"


def resolve_mapping(settings: Settings, name: str) -> SourceMapping:
    """The mapping of source ``name``: the user's file under REVIEW_HOME wins over the shipped one."""
    user = user_mapping_dir(settings) / f"{name}.yaml"
    if user.is_file():
        return load_mapping(user)
    return bundled_mapping(name)


def configured_mappings(settings: Settings, only: str | None = None) -> list[SourceMapping]:
    names = list(settings.sources)
    if only is not None:
        if only not in names and not (user_mapping_dir(settings) / f"{only}.yaml").is_file():
            raise ConfigError(f"unknown source {only!r}; configured: {', '.join(names)}")
        names = [only]
    return [resolve_mapping(settings, n) for n in names]


def _stage_file(
    conn: sa.Connection, mapping: SourceMapping, result: Any, business_date: date
) -> tuple[int, int]:
    """Type one freshly loaded file into staging; returns (staged, quarantined)."""
    pg = raw_psycopg(conn)
    batch_id = pg.execute(
        "insert into ops.extract_batch (source, entity, source_object, business_date, rows_in, rows_raw,"
        " status) values (%s, %s, %s, %s, %s, %s, 'running') returning batch_id",
        (
            mapping.source,
            result.entity,
            result.file_name,
            business_date,
            result.rows_in,
            result.rows_loaded,
        ),
    ).fetchone()[0]  # type: ignore[index]
    staged, quarantined, _written, amount = pg.execute(  # type: ignore[misc]
        staging_upsert(result.entity, "file").statement,
        {"raw_id": result.file_id, "batch_id": batch_id},
    ).fetchone()
    if staged + quarantined != result.rows_loaded:
        raise ReviewError(
            f"{result.file_name}: {result.rows_loaded} rows loaded but {staged} staged + {quarantined} "
            "quarantined; nothing was committed"
        )
    pg.execute(
        "update ops.extract_batch set rows_staged = %s, rows_quarantined = %s, amount_staged_cny = %s,"
        " status = 'success', finished_at = clock_timestamp() where batch_id = %s",
        (staged, quarantined + result.rows_quarantined, amount, batch_id),
    )
    return staged, quarantined


def _archive(
    engine: sa.Engine,
    settings: Settings,
    mapping: SourceMapping,
    landing: Path,
    name: str,
    result: Any,
) -> None:
    """Move a committed (or already known) file into the archive and note where it went."""
    import shutil
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from review_pipeline.sources.files import _archive_target, safe_landing_path

    source_path = safe_landing_path(landing, name)
    if not source_path.exists():
        return
    file_id = result.file_id or result.previous_id
    if result.status == "skipped":
        with engine.connect() as conn:
            known = conn.execute(
                sa.text("select status from ops.file_manifest where file_id = :id"), {"id": file_id}
            ).scalar()
        if known not in ("loaded", "duplicate"):
            return  # a quarantined file stays where its sender can see it
    target = _archive_target(
        settings.archive_dir,
        mapping.source,
        result.file_name,
        result.sha256,
        datetime.now(ZoneInfo(mapping.timezone)),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source_path), str(target))
    if file_id is not None:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "update ops.file_manifest set archived_path = :p where file_id = :id and archived_path is null"
                ),
                {"p": str(target), "id": file_id},
            )


def extract_files(settings: Settings, mapping: SourceMapping, business_date: date) -> SourceSummary:
    """Load every new landing file of a 'files' source and type it into staging, file by file."""
    from review_pipeline.sources.files import discover_files, load_file

    summary = SourceSummary(mapping.source, "files")
    landing = settings.landing_dir / mapping.landing_folder
    if not landing.is_dir():
        log.info("source %s: no landing folder %s yet, nothing to load", mapping.source, landing)
        return summary
    engine = warehouse_engine(settings)
    for entity in mapping.entities:
        names, refused = discover_files(mapping, entity, landing)
        for _name, why in refused:
            log.warning("%s", why)
        for name in names:
            # Load and type in one transaction; archive only once it has committed, so a
            # failure anywhere leaves the file in the landing folder for the next run.
            with engine.connect() as conn, conn.begin():
                result = load_file(conn, mapping, entity, name, landing_dir=landing, archive=False)
                summary.files[result.status] = summary.files.get(result.status, 0) + 1
                if result.status == "loaded":
                    staged, quarantined = _stage_file(conn, mapping, result, business_date)
            if result.status in ("loaded", "duplicate") or (
                result.status == "skipped" and result.previous_id is not None
            ):
                _archive(engine, settings, mapping, landing, name, result)
            if result.status != "loaded":
                if result.status != "skipped":
                    log.warning("%s: %s %s", mapping.source, result.status, result.message)
                continue
            summary.batches += 1
            summary.rows_in += result.rows_in
            summary.rows_staged += staged
            summary.rows_quarantined += quarantined + result.rows_quarantined
    return summary


def extract_sql(
    settings: Settings,
    mapping: SourceMapping,
    business_date: date,
    progress: Callable[[str], None] | None = None,
    *,
    reconcile: bool = False,
) -> SourceSummary:
    """Extract one SQL source (``reconcile``: compare every full_compare entity's keys today)."""
    from review_pipeline.sources.crm import extract_sql_source

    summary = SourceSummary(mapping.source, "sql")
    for r in extract_sql_source(
        settings, mapping, business_date, progress=progress, reconcile=reconcile
    ):
        summary.batches += 1
        summary.rows_in += r.rows_in
        summary.rows_staged += r.rows_staged
        summary.rows_quarantined += r.rows_quarantined
        summary.rows_deleted += r.rows_deleted
    return summary


def extract_all(
    settings: Settings,
    business_date: date,
    *,
    scope: str = "all",
    dry_run: bool = False,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
    reconcile: bool = False,
) -> dict[str, Any]:
    """Extract every configured source (or only ``source``) for ``business_date``.

    The stage function of the ``extract_sources`` task (see
    :mod:`review_pipeline.orchestration`, which records the run). ``scope``
    does not narrow extraction (sources are read whole); ``dry_run`` only
    validates the mappings and reaches the sources. ``reconcile``: compare the
    keys of every ``full_compare`` entity with its source today, whatever the
    mapping's schedule (``every_days`` / ``on_weekdays``) says.
    """
    from review_pipeline.migrations.runner import upgrade

    mappings = configured_mappings(settings, source)
    if dry_run:
        from review_pipeline.sources.check import check_source

        reports = [check_source(settings, m) for m in mappings]
        bad = [r.source for r in reports if not r.ok]
        if bad:
            raise ConfigError(
                f"sources not ready: {', '.join(bad)} (run `review-pipeline sources check`)"
            )
        return {"sources": {r.source: "ok" for r in reports}}
    upgrade(warehouse_engine(settings))
    out: dict[str, Any] = {}
    for mapping in mappings:
        if progress:
            progress(mapping.source)
        if mapping.kind == "sql":
            summary = extract_sql(settings, mapping, business_date, reconcile=reconcile)
        else:
            summary = extract_files(settings, mapping, business_date)
        out[mapping.source] = summary.as_dict()
    return {
        "rows_in": sum(v.get("rows_in", 0) for v in out.values()),
        "rows_out": sum(v.get("rows_staged", 0) for v in out.values()),
        "rows_quarantined": sum(v.get("rows_quarantined", 0) for v in out.values()),
        "sources": out,
    }
