"""Incremental extraction from an SQL source (a CRM database) into raw and staging.

Per entity, one batch:

1. the source query (``sql/sources/<source>/<entity>.sql``, canonical column
   names, filtered by ``:window_start``) streams with ``COPY (...) TO STDOUT``
   straight into ``COPY ... FROM STDIN`` of a temporary table: no DataFrame,
   memory flat in the table size;
2. rows whose hash the raw log already holds are dropped (a look-back re-reads
   recent rows; each version enters ``raw.crm_<entity>`` exactly once);
3. the batch is typed into ``staging`` (casts in SQL, cast failures to
   ``quarantine.staging_row``);
4. keys reconciliation (``delete_detection: full_compare``), when due by the
   mapping's schedule (:func:`reconcile_due`) or forced: a digest of the keys
   per bucket (count and sum of key hashes, 65,536 buckets by the key's md5)
   is computed on both sides; only the keys of buckets that differ are
   streamed from the source, and every staged key gone from the source is
   recorded as a delete and applied to staging;
5. counts checked (new raw rows = staged + quarantined) and the watermark
   moved, all in one transaction: a crash leaves the previous state.

The watermark is ``max(updated_at)`` seen, capped at the end of the business
date, so a row stamped in the future (a clock-skewed client) is re-read by
later runs instead of making them skip everything before it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Jsonb

from review_pipeline.db import crm_url, libpq_dsn, raw_psycopg, sql_dir, step_lock, warehouse_engine
from review_pipeline.errors import ConfigError, ReviewError
from review_pipeline.settings import Settings
from review_pipeline.sources.canonical import CANONICAL
from review_pipeline.sources.mapping import DeleteDetection, SourceMapping
from review_pipeline.sources.relay import SourceCopyError, relay_copy
from review_pipeline.sources.sqlgen import (
    SOFT_DELETE_COLUMN,
    STAGING_TABLE,
    raw_fields,
    raw_table,
    staging_delete,
    staging_upsert,
)

log = logging.getLogger(__name__)

# The order entities are extracted in: referenced before referencing.
ENTITY_ORDER = tuple(CANONICAL)

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass
class BatchResult:
    """What one entity's batch did.

    ``rows_read``: rows the source returned for the window (a look-back re-reads
    some); ``rows_in``: the new versions among them, each entering raw once. The
    invariant rows_in = rows_staged + rows_quarantined holds for every batch.
    """

    source: str
    entity: str
    batch_id: int
    rows_read: int
    rows_in: int
    rows_deleted: int
    rows_staged: int
    rows_quarantined: int
    watermark: str | None
    landing_path: str = ""
    """``direct`` (first load, COPY straight into raw) or ``extract_in`` (staging table)."""
    phases: dict[str, Any] = dc_field(default_factory=dict)
    """Seconds per phase (landing, delete_detection, staging, batch_record)."""
    reconciled: str | None = None
    """Why the keys were reconciled (``forced``, ``first load``, ...); None when not."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_psycopg_params(text: str) -> str:
    """Turn ``:name`` parameters of a .sql file into psycopg's ``%(name)s`` (``::`` casts kept)."""
    return _PARAM.sub(r"%(\1)s", text.replace("%", "%%"))


def _query_text(mapping: SourceMapping, entity: str) -> str:
    spec = mapping.entities[entity].table
    assert spec is not None
    relative = spec.query or f"{mapping.source}/{entity}.sql"
    path = sql_dir() / "sources" / relative
    if not path.is_file():
        raise ConfigError(
            f"{mapping.path or mapping.source}: entities.{entity}.table.query: {path} is missing"
        )
    return path.read_text(encoding="utf-8").strip().rstrip(";")


def window_end(business_date: date, tz: str) -> datetime:
    """The end of the business date (exclusive): next midnight in the business time zone."""
    return datetime.combine(business_date + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))


STAGING_WORK_MEM = "128MB"
"""``work_mem`` of the typed-staging statement (this transaction only)."""


def extract_entity(
    settings: Settings,
    mapping: SourceMapping,
    entity: str,
    business_date: date,
    *,
    lookback: timedelta,
    src: psycopg.Connection[Any],
    landing: str = "auto",
    reconcile: bool = False,
) -> BatchResult:
    """Extract one entity of an SQL source for ``business_date`` (see the module docstring).

    ``reconcile``: compare the keys with the source even when the mapping's
    schedule does not make it due today.
    """
    spec = mapping.entities[entity].table
    assert spec is not None
    source = mapping.source
    fields = raw_fields(entity)
    keys = CANONICAL[entity].keys
    query = sql.SQL(to_psycopg_params(_query_text(mapping, entity)))  # type: ignore[arg-type]
    end = window_end(business_date, mapping.timezone)
    engine = warehouse_engine(settings)

    with engine.connect() as conn:
        conn.execute(sa.text("select 1"))  # open the transaction before taking the lock
        with step_lock(
            conn, "extract", f"{source}.{entity}", wait_seconds=settings.lock_timeout_seconds
        ):
            wm_row = conn.execute(
                sa.text(
                    "select last_updated_at from ops.watermark where source = :s and entity = :e"
                ),
                {"s": source, "e": entity},
            ).first()
            start = (
                (wm_row[0] - lookback)
                if wm_row and wm_row[0]
                else datetime(1900, 1, 1, tzinfo=ZoneInfo("UTC"))
            )
            batch_id = conn.execute(
                sa.text(
                    "insert into ops.extract_batch (source, entity, source_object, business_date,"
                    " window_start, window_end) values (:s, :e, :o, :d, :ws, :we) returning batch_id"
                ),
                {
                    "s": source,
                    "e": entity,
                    "o": spec.query or spec.name,
                    "d": business_date,
                    "ws": start,
                    "we": end,
                },
            ).scalar_one()
            last_reconciled = conn.execute(
                sa.text(
                    "select max(business_date) from ops.extract_batch where source = :s"
                    " and entity = :e and reconciled and status = 'success'"
                ),
                {"s": source, "e": entity},
            ).scalar()
            due = reconcile_due(
                spec.delete_detection, business_date, last_reconciled, force=reconcile
            )
            pg = raw_psycopg(conn)
            result = _load_batch(
                pg,
                src,
                mapping,
                entity,
                batch_id,
                query,
                fields,
                keys,
                start,
                end,
                spec,
                landing,
                reconcile_reason=due,
            )
            conn.commit()
    log.info(
        "extracted %s.%s for %s: %s read, %s new, %s deleted, %s staged, %s quarantined",
        source,
        entity,
        business_date,
        result.rows_read,
        result.rows_in,
        result.rows_deleted,
        result.rows_staged,
        result.rows_quarantined,
    )
    return result


CHECKSUM_SQL = sql.SQL(
    "md5(concat_ws(':', count(*),"
    " sum(('x' || substr(row_hash, 1, 15))::bit(60)::bigint),"
    " sum(('x' || substr(row_hash, 16, 15))::bit(60)::bigint)))"
)
"""A batch's checksum: the count and two sums of 60 bits of its rows' hashes, digested.

Independent of row order without sorting (an md5 over the sorted hashes took
33 s of sorting and concatenation for the large world's 5.2M lead versions).
"""


def extraction_select(
    query: sql.Composable,
    fields: tuple[str, ...],
    watermark_col: str | None,
    batch_id: int,
    source: str,
) -> sql.Composed:
    """The select streamed from the source: the columns of :func:`landing_columns`, in order.

    Batch id and source name as constants, the canonical fields, the row hash
    (md5 over the canonical text of every field: the same version hashes the
    same on every run) and the watermark column's value.
    """
    hash_expr = sql.SQL("md5(concat_ws(chr(31), {}))").format(
        sql.SQL(", ").join(
            sql.SQL("coalesce(q.{}::text, chr(30))").format(sql.Identifier(f)) for f in fields
        )
    )
    cols: list[sql.Composable] = [
        sql.SQL("{}::bigint").format(sql.Literal(batch_id)),
        sql.SQL("{}::text").format(sql.Literal(source)),
    ]
    cols += [sql.SQL("q.{}").format(sql.Identifier(f)) for f in fields]
    cols.append(hash_expr)
    cols.append(
        sql.SQL("q.{}::timestamptz").format(sql.Identifier(watermark_col))
        if watermark_col
        else sql.SQL("null::timestamptz")
    )
    return sql.SQL("select {} from ({}) as q").format(sql.SQL(", ").join(cols), query)


def landing_columns(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The raw columns a landing COPY fills, in the order of :func:`extraction_select`."""
    return ("batch_id", "source", *fields, "row_hash", "source_updated_at")


class _Phases:
    """Seconds per phase of one batch (stored in ``ops.extract_batch.details``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = 0.0
        self._name = ""

    def start(self, name: str) -> None:
        self.stop()
        self._name, self._started = name, perf_counter()

    def stop(self) -> None:
        if self._name:
            self.seconds[self._name] = self.seconds.get(self._name, 0.0) + (
                perf_counter() - self._started
            )
            self._name = ""


def _land(
    pg: psycopg.Connection[Any],
    src: psycopg.Connection[Any],
    raw_name: str,
    select: sql.Composable,
    params: dict[str, Any],
    columns: tuple[str, ...],
    source: str,
    *,
    allow_direct: bool = True,
    timings: dict[str, float] | None = None,
) -> tuple[int, int, str]:
    """Land the window's rows in raw exactly once; returns (rows read, rows new, path).

    First load (raw holds nothing of ``source``): the source's COPY goes
    straight into raw, one write, the unique row-hash index refusing a
    duplicate inside the window (then the staging-table path runs instead).
    When the raw table is empty altogether, its indexes (primary key, batch
    id, unique row hash) are dropped for the COPY and built again from their
    own catalog definitions afterwards (the unique index then refuses a repeated
    version): one sorted build instead of an index insert per row.
    Otherwise the rows go into an index-free temporary table (``extract_in``)
    and are inserted into raw with ``on conflict do nothing`` on the hash.
    """
    raw = sql.Identifier("raw", raw_name)
    col_ids = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    held = pg.execute(
        sql.SQL("select exists (select 1 from {} where source = %s and op = 'U')").format(raw),
        (source,),
    ).fetchone()[0]  # type: ignore[index]
    if not held and allow_direct:
        pg.execute("savepoint extract_direct")
        try:
            rebuild = _drop_indexes_of_empty(pg, "raw", raw_name)
            rows = relay_copy(src, select, params, pg, sql.SQL("{} ({})").format(raw, col_ids))
            started = perf_counter()
            for definition in rebuild:  # built once, sorted, instead of row by row
                pg.execute(definition)
            if timings is not None and rebuild:
                timings["landing_index_s"] = round(perf_counter() - started, 4)
        except psycopg.errors.UniqueViolation:
            pg.execute("rollback to savepoint extract_direct")
            src.rollback()
            log.info("%s: the window repeats a row version; landing through extract_in", raw)
        else:
            pg.execute("release savepoint extract_direct")
            return rows, rows, "direct"
    pg.execute("drop table if exists pg_temp.extract_in")
    types = {"batch_id": "bigint", "source_updated_at": "timestamptz"}
    pg.execute(
        sql.SQL("create temp table extract_in ({}) on commit drop").format(
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types.get(c, "text")))
                for c in columns
            )
        )
    )
    rows_read = relay_copy(src, select, params, pg, sql.Identifier("extract_in"))
    pg.execute("analyze extract_in")
    rows_in = pg.execute(
        sql.SQL(
            "insert into {raw} ({cols}) select {cols} from extract_in"
            " on conflict (source, row_hash) where op = 'U' do nothing"
        ).format(raw=raw, cols=col_ids)
    ).rowcount
    return rows_read, rows_in, "extract_in"


def _drop_indexes_of_empty(pg: psycopg.Connection[Any], schema: str, table: str) -> list[str]:
    """Drop the indexes of table ``schema.table`` when it holds no row at all; how to rebuild them.

    Returns the statements that build them again, exactly as defined (from the
    catalog: ``pg_get_constraintdef`` for the primary key, ``pg_indexes`` for
    the others). The caller runs them after its load, in the same
    transaction (the drop holds the table's exclusive lock until then).
    """
    raw = sql.Identifier(schema, table)
    empty = not pg.execute(sql.SQL("select exists (select 1 from {})").format(raw)).fetchone()[0]  # type: ignore[index]
    if not empty:
        return []
    regclass = f"{schema}.{table}"
    keys = pg.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = %s::regclass and contype = 'p' order by conname",
        (regclass,),
    ).fetchall()
    indexes = pg.execute(
        "select i.indexname, i.indexdef from pg_indexes as i"
        " where i.schemaname = %s and i.tablename = %s and i.indexname not in ("
        "  select c.conname from pg_constraint as c where c.conrelid = %s::regclass)"
        " order by i.indexname",
        (schema, table, regclass),
    ).fetchall()
    rebuild: list[str] = []
    for name, definition in keys:
        pg.execute(sql.SQL("alter table {} drop constraint {}").format(raw, sql.Identifier(name)))
        rebuild.append(
            sql.SQL("alter table {} add constraint {} {}")
            .format(raw, sql.Identifier(name), sql.SQL(definition))
            .as_string(pg)
        )
    for name, definition in indexes:
        pg.execute(sql.SQL("drop index {}").format(sql.Identifier(schema, name)))
        rebuild.append(definition)
    return rebuild


def _load_batch(
    pg: psycopg.Connection[Any],
    src: psycopg.Connection[Any],
    mapping: SourceMapping,
    entity: str,
    batch_id: int,
    query: sql.Composable,
    fields: tuple[str, ...],
    keys: tuple[str, ...],
    start: datetime,
    end: datetime,
    spec: Any,
    landing: str = "auto",
    *,
    reconcile_reason: str | None = None,
) -> BatchResult:
    source = mapping.source
    raw = sql.Identifier("raw", raw_table(entity))
    phases = _Phases()

    # 1. landing: source rows into raw exactly once (what the COPY floor compares with)
    phases.start("landing")
    landing_at = datetime.now(UTC)  # when, for a wall-clock view of batches side by side
    timings: dict[str, float] = {}  # parts of a phase, reported beside it
    select = extraction_select(query, fields, spec.updated_at, batch_id, source)
    rows_read, rows_in, path = _land(
        pg,
        src,
        raw_table(entity),
        select,
        {"window_start": start},
        landing_columns(fields),
        source,
        allow_direct=landing == "auto",
        timings=timings,
    )

    # 2. is a key reconciliation due? (nothing to compare before anything is staged: a
    # first load reads everything, so it counts as one)
    rows_deleted = 0
    reconciled: str | None = None
    reconcile_details: dict[str, Any] = {}
    staging_table = sql.Identifier("staging", STAGING_TABLE.get(entity, entity))
    if spec.delete_detection.mode == "full_compare":
        staged_any = pg.execute(
            sql.SQL("select exists (select 1 from {} where source = %s)").format(staging_table),
            (source,),
        ).fetchone()[0]  # type: ignore[index]
        reconciled = reconcile_reason if staged_any else "first load"

    # 3. typed staging: casts, quarantine, insert (empty table) or upsert
    phases.start("staging")
    if path == "direct" and rows_in:
        pg.execute(sql.SQL("analyze {}").format(raw))
    # the batch's typed rows are materialised and sorted once: in memory, not in temp files
    pg.execute(f"set local work_mem = '{STAGING_WORK_MEM}'")
    # writers of this staging table wait for each other; readers do not
    pg.execute(sql.SQL("lock table {} in share row exclusive mode").format(staging_table))
    empty = not pg.execute(
        sql.SQL("select exists (select 1 from {})").format(staging_table)
    ).fetchone()[0]  # type: ignore[index]
    staged, quarantined, _written, amount = pg.execute(
        staging_upsert(entity, insert_only=empty).statement,
        {"raw_id": batch_id, "batch_id": batch_id},
    ).fetchone()  # type: ignore[misc]
    # 4. delete detection: staged keys gone from the source (after the upsert, so the
    # digests of both sides agree except where a key was deleted or added since)
    if reconciled is not None and reconciled != "first load":
        phases.start("delete_detection")
        rows_deleted, reconcile_details = _reconcile_keys(
            pg, src, source, entity, batch_id, query, keys
        )
        if rows_deleted:
            pg.execute(staging_delete(entity), {"batch_id": batch_id, "deleted_at": end})
        phases.start("staging")
    if staged + quarantined != rows_in:
        raise ReviewError(
            f"{source}.{entity} batch {batch_id}: {rows_in} new raw rows but {staged} staged + "
            f"{quarantined} quarantined; nothing was committed"
        )
    # 5. the batch's record: watermark, the checksum of what was read (order-independent)
    # and the amount that came in; one scan where read = new (a direct load)
    phases.start("batch_record")
    batch_rows = sql.SQL("{} where batch_id = {} and op = 'U'").format(raw, sql.Literal(batch_id))
    amount_sql = (
        sql.SQL("coalesce(sum(staging.try_money(amount_cny)), 0)")
        if "amount_cny" in fields
        else sql.SQL("null::numeric")
    )
    if path == "direct":
        max_seen, checksum, amount_in = pg.execute(
            sql.SQL("select max(source_updated_at), {}, {} from {}").format(
                CHECKSUM_SQL, amount_sql, batch_rows
            )
        ).fetchone()  # type: ignore[misc]
    else:
        max_seen, checksum = pg.execute(
            sql.SQL("select max(source_updated_at), {} from extract_in").format(CHECKSUM_SQL)
        ).fetchone()  # type: ignore[misc]
        amount_in = (
            pg.execute(sql.SQL("select {} from {}").format(amount_sql, batch_rows)).fetchone()[0]  # type: ignore[index]
            if "amount_cny" in fields
            else None
        )
    new_wm: datetime | None = None
    if spec.updated_at and max_seen is not None:
        new_wm = min(max_seen, end)
        pg.execute(
            "insert into ops.watermark (source, entity, last_updated_at) values (%s, %s, %s) "
            "on conflict (source, entity) do update set last_updated_at = "
            "greatest(ops.watermark.last_updated_at, excluded.last_updated_at), updated_at = now()",
            (source, entity, new_wm),
        )
    phases.stop()
    details: dict[str, Any] = {f"{k}_s": round(v, 4) for k, v in phases.seconds.items()}
    details.setdefault("delete_detection_s", 0.0)  # every batch names every phase (benchmark)
    details["landing_path"] = path
    details["landing_at"] = landing_at.isoformat()
    details.update(timings)
    if reconciled is not None:
        details["reconciled"] = reconciled
        details.update(reconcile_details)
    pg.execute(
        "update ops.extract_batch set rows_read = %s, rows_in = %s, rows_raw = %s, rows_deleted = %s,"
        " rows_staged = %s,"
        " rows_quarantined = %s, amount_in_cny = %s, amount_staged_cny = %s, checksum = %s,"
        " max_source_updated_at = %s, status = 'success', finished_at = clock_timestamp(),"
        " details = %s, reconciled = %s where batch_id = %s",
        (
            rows_read,
            rows_in,
            rows_in,
            rows_deleted,
            staged,
            quarantined,
            amount_in,
            amount,
            checksum,
            new_wm,
            Jsonb(details),
            reconciled is not None,
            batch_id,
        ),
    )
    return BatchResult(
        source,
        entity,
        batch_id,
        rows_read,
        rows_in,
        rows_deleted,
        staged,
        quarantined,
        new_wm.isoformat() if new_wm else None,
        path,
        details,
        reconciled,
    )


def reconcile_due(
    detection: DeleteDetection,
    business_date: date,
    last_reconciled: date | None,
    *,
    force: bool = False,
) -> str | None:
    """Why an entity's keys are reconciled on ``business_date``; None when not due.

    Due when forced, when the entity was never reconciled, when the business
    date falls on one of ``on_weekdays``, or when the last successful
    reconciliation lies ``every_days`` or more before the business date (a
    skipped run therefore never pushes a reconciliation further out). Only
    ``full_compare`` entities are ever reconciled.
    """
    if detection.mode != "full_compare":
        return None
    if force:
        return "forced"
    if last_reconciled is None:
        return "never reconciled"
    if business_date.isoweekday() in detection.weekday_numbers:
        return f"on {business_date:%A}"
    days = (business_date - last_reconciled).days
    if days >= detection.every_days:
        return f"{days} days since {last_reconciled.isoformat()}"
    return None


DIGEST_HEX = 4
"""Hex digits of a key's md5 naming its bucket: 16**4 = 65,536 buckets."""


def _key_hash(alias: str, keys: tuple[str, ...]) -> sql.Composed:
    """md5 of a key's text (columns joined like the row hash): the same on both sides."""
    return sql.SQL("md5(concat_ws(chr(31), {}))").format(
        sql.SQL(", ").join(
            sql.SQL("coalesce({}.{}::text, chr(30))").format(
                sql.Identifier(alias), sql.Identifier(k)
            )
            for k in keys
        )
    )


def _digest(
    conn: psycopg.Connection[Any],
    rows: sql.Composable,
    key_hash: sql.Composable,
    params: dict[str, Any],
) -> dict[str, tuple[int, int]]:
    """Per bucket: (number of keys, sum of 60 bits of their hashes); order-independent."""
    statement = sql.SQL(
        "select left(h, {n}) as bucket, count(*) as keys,"
        " sum(('x' || substr(h, {n} + 1, 15))::bit(60)::bigint) as hash_sum"
        " from (select {h} as h from {rows}) as d group by 1"
    ).format(n=sql.Literal(DIGEST_HEX), h=key_hash, rows=rows)
    return {b: (int(n), int(total)) for b, n, total in conn.execute(statement, params).fetchall()}


def _reconcile_keys(
    pg: psycopg.Connection[Any],
    src: psycopg.Connection[Any],
    source: str,
    entity: str,
    batch_id: int,
    query: sql.Composable,
    keys: tuple[str, ...],
) -> tuple[int, dict[str, Any]]:
    """Record as deletes the keys staging holds for ``source`` that the source no longer has.

    Both sides reduce their keys to a digest per bucket at the same time (the
    source's query runs in a second thread on its own connection); only the
    buckets where staging's digest differs from the source's are compared key
    by key (their source keys streamed into ``extract_keys``). Returns the
    deletes recorded and what was compared.
    """
    table = sql.Identifier("staging", STAGING_TABLE.get(entity, entity))
    live = (
        sql.SQL(" and s.{} is null").format(sql.Identifier(SOFT_DELETE_COLUMN[entity]))
        if entity in SOFT_DELETE_COLUMN
        else sql.SQL("")
    )
    staged_rows = sql.SQL("{} as s where s.source = %(s)s{}").format(table, live)
    source_rows = sql.SQL("({}) as q").format(query)
    everything = {"window_start": datetime(1900, 1, 1, tzinfo=ZoneInfo("UTC"))}
    with ThreadPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(_digest, src, source_rows, _key_hash("q", keys), everything)
        local = _digest(pg, staged_rows, _key_hash("s", keys), {"s": source})
        theirs = remote.result()
    # a bucket staging holds nothing of cannot hide a delete; one the source has more
    # keys in (added since the landing, or quarantined) is compared like any other
    differing = sorted(b for b, digest in local.items() if theirs.get(b) != digest)
    details: dict[str, Any] = {
        "reconcile_buckets": len(local),
        "reconcile_buckets_differing": len(differing),
        "reconcile_keys_staged": sum(n for n, _ in local.values()),
    }
    if not differing:
        return 0, details
    pg.execute(
        sql.SQL("create temp table extract_keys ({}) on commit drop").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(k)) for k in keys)
        )
    )
    in_buckets = sql.SQL("left({}, {}) = any(%(buckets)s)")
    select = sql.SQL("select distinct {} from ({}) as q where {}").format(
        sql.SQL(", ").join(sql.SQL("q.{}").format(sql.Identifier(k)) for k in keys),
        query,
        in_buckets.format(_key_hash("q", keys), sql.Literal(DIGEST_HEX)),
    )
    details["reconcile_keys_compared"] = relay_copy(
        src, select, {**everything, "buckets": differing}, pg, sql.Identifier("extract_keys")
    )
    pg.execute("analyze extract_keys")
    match = sql.SQL(" and ").join(
        sql.SQL("k.{k} = s.{k}::text").format(k=sql.Identifier(k)) for k in keys
    )
    raw = sql.Identifier("raw", raw_table(entity))
    deleted = pg.execute(
        sql.SQL(
            "insert into {raw} (batch_id, source, op, row_hash, {keys}) "
            "select %(b)s, s.source, 'D', md5('delete' || concat_ws(chr(31), {skeys}) || %(b)s::text), {skeys} "
            "from {staged} and {bucket} "
            "and not exists (select 1 from extract_keys as k where {match})"
        ).format(
            raw=raw,
            keys=sql.SQL(", ").join(sql.Identifier(k) for k in keys),
            staged=staged_rows,
            bucket=in_buckets.format(_key_hash("s", keys), sql.Literal(DIGEST_HEX)),
            match=match,
            skeys=sql.SQL(", ").join(sql.SQL("s.{}::text").format(sql.Identifier(k)) for k in keys),
        ),
        {"b": batch_id, "s": source, "buckets": differing},
    ).rowcount
    return deleted, details


def sync_value_maps(settings: Settings, mapping: SourceMapping) -> int:
    """Write the mapping's value maps to ``ops.value_map`` (the staging casts read them)."""
    rows: list[tuple[str, str, str, str, str]] = []
    for entity, ent_map in mapping.entities.items():
        for field, col in ent_map.columns.items():
            values = col.values or (
                mapping.value_maps.get(col.value_map) if col.value_map else None
            )
            for source_value, canonical in (values or {}).items():
                rows.append((mapping.source, entity, field, source_value, canonical))
    with warehouse_engine(settings).begin() as conn:
        pg = raw_psycopg(conn)
        pg.execute("delete from ops.value_map where source = %s", (mapping.source,))
        with pg.cursor() as cur:
            cur.executemany(
                "insert into ops.value_map (source, entity, field, source_value, canonical_value)"
                " values (%s, %s, %s, %s, %s)",
                rows,
            )
    return len(rows)


def extract_sql_source(
    settings: Settings,
    mapping: SourceMapping,
    business_date: date,
    *,
    entities: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    landing: str = "auto",
    reconcile: bool = False,
) -> list[BatchResult]:
    """Extract every mapped entity of an SQL source for ``business_date``, in dependency order.

    ``landing``: ``auto`` (a first load COPYs straight into raw) or
    ``extract_in`` (always through the temporary table; the tests compare both).
    ``reconcile``: reconcile the keys of every ``full_compare`` entity today,
    whatever the mapping's schedule says.
    """
    if landing not in ("auto", "extract_in"):
        raise ConfigError(f"landing must be 'auto' or 'extract_in', not {landing!r}")
    if mapping.kind != "sql":
        raise ConfigError(f"source {mapping.source} is not an SQL source")
    lookback = timedelta(minutes=settings.extract_lookback_minutes)
    sync_value_maps(settings, mapping)
    dsn = libpq_dsn(crm_url(settings))
    wanted = [
        e for e in ENTITY_ORDER if e in mapping.entities and mapping.entities[e].table is not None
    ]
    if entities:
        unknown = sorted(set(entities) - set(wanted))
        if unknown:
            raise ConfigError(f"source {mapping.source} has no entities {', '.join(unknown)}")
        wanted = [e for e in wanted if e in entities]
    options = f"-c timezone={mapping.timezone} -c default_transaction_read_only=on"

    def extract_one(entity: str) -> BatchResult:
        if progress:
            progress(entity)
        with psycopg.connect(dsn, options=options) as src:
            try:
                return extract_entity(
                    settings,
                    mapping,
                    entity,
                    business_date,
                    lookback=lookback,
                    src=src,
                    landing=landing,
                    reconcile=reconcile,
                )
            except SourceCopyError as exc:  # name the entity: the relay only knows the SQL
                raise SourceCopyError(f"{mapping.source}.{entity}: {exc}") from exc

    # Each entity is its own batch and transaction, reading only its own raw and staging
    # tables: they run side by side (a landing keeps two server processes busy, typed
    # staging one). The first failure stops the entities not started yet; those that
    # committed stay committed, like a sequential run stopped at the same entity.
    results: dict[str, BatchResult] = {}
    with ThreadPoolExecutor(
        max_workers=settings.extract_workers, thread_name_prefix=f"extract-{mapping.source}"
    ) as pool:
        futures = {pool.submit(extract_one, entity): entity for entity in wanted}
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            for future in futures:
                future.cancel()
            wait(futures)
            raise failed[0].exception()  # type: ignore[misc]
        for future, entity in futures.items():
            results[entity] = future.result()
    return [results[entity] for entity in wanted]
