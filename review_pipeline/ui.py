"""Data behind the "Sales Review" page of the Airflow UI plugin.

Plain functions returning plain, JSON-able data, so the page stays a thin
renderer and the queries are testable without a web server. Every section
reads real tables and is empty (not an error) before the migration or the
stage that fills it has run:

- ``step_runs``: the newest rows of ``ops.step_run``;
- ``latest_per_step``: the last run of every step;
- ``checks``: findings per rule and severity, and the gate outcomes, for the
  latest checked business date (``dq.finding``, ``dq.gate_result``);
- ``quarantine``: what the latest extraction quarantined per source and
  entity (``ops.extract_batch``) and the size of every quarantine table;
- ``delivery``: ``ops.outbox`` messages by status for the latest period of
  each pack kind;
- ``data_docs``: where the Great Expectations Data Docs are.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

    from review_pipeline.settings import Settings

STEP_RUN_COLUMNS = (
    "run_id",
    "step",
    "business_date",
    "status",
    "rows_in",
    "rows_out",
    "rows_quarantined",
    "started_at",
    "finished_at",
    "duration_ms",
    "error_text",
    "airflow_run_id",
)

MAX_ROWS = 500

#: Quarantine tables counted on the page, with what a row of each is.
QUARANTINE_TABLES = {
    "quarantine.staging_row": "source rows that could not be typed into staging",
    "quarantine.file_row": "file rows that could not be converted",
    "quarantine.file": "files that could not be read at all",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _rows(conn: sa.Connection, sql: str, params: dict[str, Any] | None = None) -> list[dict]:
    import sqlalchemy as sa

    result = conn.execute(sa.text(sql), params or {}).mappings()
    return [{k: _jsonable(v) for k, v in row.items()} for row in result]


def _exists(conn: sa.Connection, *tables: str) -> bool:
    import sqlalchemy as sa

    return all(
        conn.execute(sa.text("select to_regclass(:t)"), {"t": t}).scalar() is not None
        for t in tables
    )


def _engine(settings: Settings | None) -> sa.Engine:
    from review_pipeline.db import warehouse_engine
    from review_pipeline.settings import load_settings

    return warehouse_engine(settings or load_settings(from_airflow=True))


# ---------------------------------------------------------------------- sections
def step_runs(conn: sa.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest rows of ``ops.step_run``, newest first."""
    if not _exists(conn, "ops.step_run"):
        return []
    limit = max(1, min(int(limit), MAX_ROWS))
    return _rows(
        conn,
        f"select {', '.join(STEP_RUN_COLUMNS)} from ops.step_run"
        " order by started_at desc, run_id desc limit :limit",
        {"limit": limit},
    )


def latest_per_step(conn: sa.Connection) -> list[dict[str, Any]]:
    """The last run of every step (whatever its outcome), steps by name."""
    if not _exists(conn, "ops.step_run"):
        return []
    return _rows(
        conn,
        f"select distinct on (step) {', '.join(STEP_RUN_COLUMNS)} from ops.step_run"
        " order by step, started_at desc, run_id desc",
    )


def check_results(conn: sa.Connection) -> dict[str, Any]:
    """Findings per rule and severity, and gate outcomes, for the latest checked date."""
    out: dict[str, Any] = {"business_date": None, "findings": [], "gates": []}
    if not _exists(conn, "dq.finding", "dq.gate_result"):
        return out
    import sqlalchemy as sa

    latest = conn.execute(
        sa.text(
            "select max(d) from (select max(business_date) as d from dq.finding"
            " union all select max(business_date) from dq.gate_result) as x"
        )
    ).scalar()
    if latest is None:
        return out
    out["business_date"] = latest.isoformat()
    out["findings"] = _rows(
        conn,
        "select rule_id, severity, count(*) as findings,"
        " count(distinct owner_id) as owners from dq.finding"
        " where business_date = :d group by rule_id, severity order by rule_id, severity",
        {"d": latest},
    )
    out["gates"] = _rows(
        conn,
        "select distinct on (gate) gate, status, message, run_id, checked_at"
        " from dq.gate_result where business_date = :d order by gate, checked_at desc",
        {"d": latest},
    )
    return out


def quarantine_counts(conn: sa.Connection) -> dict[str, Any]:
    """Quarantined rows of the latest extraction by source and entity, and table totals."""
    out: dict[str, Any] = {"business_date": None, "batches": [], "tables": [], "lead_days": None}
    for table, meaning in QUARANTINE_TABLES.items():
        if _exists(conn, table):
            total = conn.execute(_count(table)).scalar_one()
            out["tables"].append({"table": table, "rows": int(total), "meaning": meaning})
    if _exists(conn, "ops.extract_batch"):
        import sqlalchemy as sa

        latest = conn.execute(sa.text("select max(business_date) from ops.extract_batch")).scalar()
        if latest is not None:
            out["business_date"] = latest.isoformat()
            out["batches"] = _rows(
                conn,
                "select source, entity, count(*) as batches, sum(rows_in) as rows_in,"
                " sum(rows_staged) as rows_staged, sum(rows_quarantined) as rows_quarantined"
                " from ops.extract_batch where business_date = :d"
                " group by source, entity order by sum(rows_quarantined) desc, source, entity",
                {"d": latest},
            )
    if _exists(conn, "dq.lead_quarantine") and out["business_date"]:
        import sqlalchemy as sa

        out["lead_days"] = int(
            conn.execute(
                sa.text("select count(*) from dq.lead_quarantine where business_date = :d"),
                {"d": date.fromisoformat(out["business_date"])},
            ).scalar_one()
        )
    return out


def _count(table: str) -> Any:
    import sqlalchemy as sa

    if table not in QUARANTINE_TABLES:  # never interpolate anything else
        raise ValueError(table)
    return sa.text(f"select count(*) from {table}")


def delivery_status(conn: sa.Connection) -> list[dict[str, Any]]:
    """``ops.outbox`` messages by status for the latest period of each pack kind."""
    if not _exists(conn, "ops.outbox"):
        return []
    rows = _rows(
        conn,
        "with latest as (select distinct on (kind) kind, period from ops.outbox"
        " order by kind, created_at desc, outbox_id desc)"
        " select o.kind, o.period, o.status, count(*) as messages, max(o.sent_at) as last_sent_at"
        " from ops.outbox as o inner join latest as l on l.kind = o.kind and l.period = o.period"
        " group by o.kind, o.period, o.status order by o.kind, o.status",
    )
    periods: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = periods.setdefault(
            (row["kind"], row["period"]),
            {"kind": row["kind"], "period": row["period"], "counts": {}, "last_sent_at": None},
        )
        entry["counts"][row["status"]] = int(row["messages"])
        if row["last_sent_at"] and (
            entry["last_sent_at"] is None or row["last_sent_at"] > entry["last_sent_at"]
        ):
            entry["last_sent_at"] = row["last_sent_at"]
    return list(periods.values())


def data_docs_root(settings: Settings) -> Path:
    """The folder of the local Data Docs site that Great Expectations builds."""
    return settings.home / "gx" / "uncommitted" / "data_docs" / "local_site"


def data_docs(conn: sa.Connection, settings: Settings) -> dict[str, Any]:
    """Where the Data Docs are: the latest run's location and whether the site exists here."""
    recorded = None
    if _exists(conn, "dq.validation_run"):
        import sqlalchemy as sa

        recorded = conn.execute(
            sa.text(
                "select data_docs_path from dq.validation_run where data_docs_path is not null"
                " order by finished_at desc nulls last, run_id desc limit 1"
            )
        ).scalar()
    index = data_docs_root(settings) / "index.html"
    return {
        "recorded": recorded,
        "index": str(index),
        "available": index.is_file(),
    }


def review_status(settings: Settings | None = None, *, limit: int = 50) -> dict[str, Any]:
    """Everything the page shows, as one JSON-able dict."""
    from review_pipeline.settings import load_settings

    resolved = settings or load_settings(from_airflow=True)
    engine = _engine(resolved)
    with engine.connect() as conn:
        return {
            "step_runs": step_runs(conn, limit),
            "latest_per_step": latest_per_step(conn),
            "checks": check_results(conn),
            "quarantine": quarantine_counts(conn),
            "delivery": delivery_status(conn),
            "data_docs": data_docs(conn, resolved),
        }
