"""The side-by-side measurements: the raw COPY floor and the pandas ``to_sql`` path.

Both read exactly what the history extraction of the SQL source read: per
entity the mapping's source query from ``sql/sources/`` with the window from
the beginning, with the same columns (canonical fields, the row hash the
extraction computes on the source side and the watermark column).

* **COPY floor** (:func:`copy_floor`): each entity's ``COPY (...) TO STDOUT``
  is written to a file (the bytes the extraction streams); then the file is
  loaded with ``COPY ... FROM STDIN`` into an UNLOGGED table of text columns
  without indexes on the benchmark warehouse: nothing but parsing and
  storing. A second measure streams source -> unlogged table directly with
  the extraction's own relay (:mod:`review_pipeline.sources.relay`), with no
  work in between: the transport floor.
* **pandas path** (:func:`pandas_path`): ``pandas.read_sql`` of the rows into
  a DataFrame and ``DataFrame.to_sql`` into the warehouse, once with
  ``method=None`` (executemany, 10,000-row chunks) and once with
  ``method="multi"`` (multi-row INSERTs). On at most ``sample_rows`` rows per
  entity; larger entities are extrapolated linearly from the measured rows
  per second (to_sql's cost per row does not fall with size), and the result
  says which entities were extrapolated and from how many rows.
"""

from __future__ import annotations

import shutil
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from review_pipeline.settings import Settings

SCRATCH = "bench_scratch"
BEGINNING = datetime(1900, 1, 1, tzinfo=ZoneInfo("UTC"))
CHUNK = 1 << 20


def _entities(settings: Settings) -> list[tuple[Any, str, str, tuple[str, ...], str | None]]:
    """(mapping, entity, query text, fields, watermark column) of every SQL-source entity."""
    from review_pipeline.sources.crm import ENTITY_ORDER, _query_text
    from review_pipeline.sources.pipeline import configured_mappings
    from review_pipeline.sources.sqlgen import raw_fields

    out = []
    for mapping in configured_mappings(settings):
        if mapping.kind != "sql":
            continue
        for entity in ENTITY_ORDER:
            spec = mapping.entities.get(entity)
            if spec is None or spec.table is None:
                continue
            out.append(
                (
                    mapping,
                    entity,
                    _query_text(mapping, entity),
                    raw_fields(entity),
                    spec.table.updated_at,
                )
            )
    return out


def _extraction_select(query: str, fields: tuple[str, ...], watermark: str | None) -> Any:
    """The very select the extraction streams from the source (batch id, source, columns, hash, watermark)."""
    from psycopg import sql

    from review_pipeline.sources.crm import extraction_select, to_psycopg_params

    return extraction_select(
        sql.SQL(to_psycopg_params(query)),  # type: ignore[arg-type]
        fields,
        watermark,
        0,
        "bench",
    )


def _scratch_table(pg: Any, name: str, fields: tuple[str, ...], watermark: str | None) -> Any:
    from psycopg import sql

    from review_pipeline.sources.crm import landing_columns

    table = sql.Identifier(SCRATCH, name)
    types = {"batch_id": "bigint", "source_updated_at": "timestamptz"}
    cols: list[sql.Composable] = [
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types.get(c, "text")))
        for c in landing_columns(fields)
    ]
    pg.execute(sql.SQL("drop table if exists {}").format(table))
    pg.execute(sql.SQL("create unlogged table {} ({})").format(table, sql.SQL(", ").join(cols)))
    return table


def _source(settings: Settings, timezone: str) -> Any:
    import psycopg

    from review_pipeline.db import crm_url, libpq_dsn

    return psycopg.connect(
        libpq_dsn(crm_url(settings)),
        options=f"-c timezone={timezone} -c default_transaction_read_only=on",
    )


def _warehouse(settings: Settings) -> Any:
    import psycopg

    from review_pipeline.db import libpq_dsn, warehouse_url

    return psycopg.connect(
        libpq_dsn(warehouse_url(settings)), options=f"-c timezone={settings.timezone}"
    )


def copy_floor(settings: Settings, end: date, work_dir: Path) -> dict[str, Any]:
    """COPY the SQL source's bytes into unlogged scratch tables; seconds, rows and bytes."""
    from psycopg import sql

    from review_pipeline.sources.relay import relay_copy

    folder = work_dir / "copy-floor"
    folder.mkdir(parents=True, exist_ok=True)
    entities: dict[str, Any] = {}
    parts = {
        "dump source to file": 0.0,
        "COPY file -> unlogged": 0.0,
        "stream source -> unlogged": 0.0,
    }
    try:
        with _warehouse(settings) as wh:
            wh.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCRATCH)))
            wh.commit()
            for mapping, entity, query, fields, wm in _entities(settings):
                select = _extraction_select(query, fields, wm)
                out_stmt = sql.SQL("copy ({}) to stdout").format(select)
                path = folder / f"{mapping.source}.{entity}.copy"
                with _source(settings, mapping.timezone) as src:
                    started = time.perf_counter()
                    with src.cursor() as cur, path.open("wb") as fh:
                        with cur.copy(out_stmt, {"window_start": BEGINNING}) as copy:
                            for chunk in copy:
                                fh.write(chunk)
                        rows = max(cur.rowcount, 0)
                    dump_s = time.perf_counter() - started
                    # load the file: the floor
                    table = _scratch_table(wh, f"{entity}_file", fields, wm)
                    wh.commit()
                    started = time.perf_counter()
                    with wh.cursor() as cur, path.open("rb") as fh:
                        with cur.copy(sql.SQL("copy {} from stdin").format(table)) as copy:
                            while data := fh.read(CHUNK):
                                copy.write(data)
                    wh.commit()
                    load_s = time.perf_counter() - started
                    # source piped straight into the warehouse: the transport floor
                    table = _scratch_table(wh, f"{entity}_stream", fields, wm)
                    wh.commit()
                    started = time.perf_counter()
                    relay_copy(src, select, {"window_start": BEGINNING}, wh, table)
                    wh.commit()
                    stream_s = time.perf_counter() - started
                size = path.stat().st_size
                path.unlink()
                entities[f"{mapping.source}.{entity}"] = {
                    "rows": rows,
                    "bytes": size,
                    "dump_s": round(dump_s, 3),
                    "load_s": round(load_s, 3),
                    "stream_s": round(stream_s, 3),
                }
                parts["dump source to file"] += dump_s
                parts["COPY file -> unlogged"] += load_s
                parts["stream source -> unlogged"] += stream_s
    finally:
        with _warehouse(settings) as wh:
            wh.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(SCRATCH)))
        shutil.rmtree(folder, ignore_errors=True)
    rows = sum(e["rows"] for e in entities.values())
    total_bytes = sum(e["bytes"] for e in entities.values())
    return {
        "rows": rows,
        "bytes": total_bytes,
        "floor_load_s": round(parts["COPY file -> unlogged"], 3),
        "floor_stream_s": round(parts["stream source -> unlogged"], 3),
        "dump_s": round(parts["dump source to file"], 3),
        "entities": entities,
        "parts": parts,
    }


def pandas_path(settings: Settings, end: date, sample_rows: int) -> dict[str, Any]:
    """read_sql + to_sql (method=None and "multi") on a sample per entity, extrapolated."""
    import pandas as pd
    import sqlalchemy as sa

    from review_pipeline.db import crm_engine, warehouse_engine

    source = crm_engine(settings)
    target = warehouse_engine(settings)
    with target.begin() as conn:
        conn.execute(sa.text(f"create schema if not exists {SCRATCH}"))
    entities: dict[str, Any] = {}
    totals = {"none": 0.0, "multi": 0.0}
    measured = {"none": 0.0, "multi": 0.0}
    try:
        for mapping, entity, query, fields, wm in _entities(settings):
            wanted = [*fields, wm] if wm and wm not in fields else list(fields)
            select_cols = ", ".join(f"q.{f}" for f in wanted)
            with source.connect() as conn:
                full = int(
                    conn.execute(
                        sa.text(f"select count(*) from ({query}) as q"),  # noqa: S608 - our file
                        {"window_start": BEGINNING},
                    ).scalar_one()
                )
            n = min(full, sample_rows)
            if n == 0:
                entities[f"{mapping.source}.{entity}"] = {"rows": 0, "sample": 0}
                continue
            row: dict[str, Any] = {"rows": full, "sample": n, "extrapolated": n < full}
            for method in ("none", "multi"):
                started = time.perf_counter()
                frame = pd.read_sql(
                    sa.text(f"select {select_cols} from ({query}) as q limit :n"),  # noqa: S608
                    source,
                    params={"window_start": BEGINNING, "n": n},
                )
                read_s = time.perf_counter() - started
                started = time.perf_counter()
                frame.to_sql(
                    f"{entity}_{method}",
                    target,
                    schema=SCRATCH,
                    if_exists="replace",
                    index=False,
                    method=None if method == "none" else "multi",
                    chunksize=10_000
                    if method == "none"
                    else max(1, min(10_000, 30_000 // frame.shape[1])),
                )
                write_s = time.perf_counter() - started
                seconds = read_s + write_s
                measured[method] += seconds
                estimate = seconds * full / n
                totals[method] += estimate
                row[method] = {
                    "read_s": round(read_s, 3),
                    "write_s": round(write_s, 3),
                    "rows_per_s": round(n / seconds) if seconds else None,
                    "estimated_full_s": round(estimate, 2),
                }
                del frame
            entities[f"{mapping.source}.{entity}"] = row
    finally:
        with target.begin() as conn:
            conn.execute(sa.text(f"drop schema if exists {SCRATCH} cascade"))
    full_rows = sum(e["rows"] for e in entities.values())
    sampled = sum(e["sample"] for e in entities.values())
    return {
        "rows": full_rows,
        "sample_rows": sampled,
        "sample_share": round(sampled / full_rows, 4) if full_rows else None,
        "extrapolated_entities": [k for k, e in entities.items() if e.get("extrapolated")],
        "measured_s": {k: round(v, 2) for k, v in measured.items()},
        "estimated_full_s": {k: round(v, 2) for k, v in totals.items()},
        "entities": entities,
        "pandas": pd.__version__,
    }
