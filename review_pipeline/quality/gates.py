"""Write-audit-publish gates: batch-level checks that stop the run before publication.

:func:`run_gates` evaluates every gate for a business day, stores each verdict
in ``dq.gate_result`` (committed even when a gate fails) and raises
:class:`review_pipeline.errors.GateFailed` with one readable message when any
gate failed. Gates:

* ``freshness`` - the day has extraction batches, none failed or still
  running, and each required entity saw a source change within
  ``freshness_max_hours`` of the end of the day;
* ``volume`` - on a working day, each source/entity's rows are within
  ``volume_low_ratio`` .. ``volume_high_ratio`` x the median of the previous
  ``volume_history_working_days`` working days (skipped with too little history);
* ``reconciliation`` - per batch, rows_in = rows_staged + rows_quarantined and,
  without cast rejects, amount_in_cny = amount_staged_cny;
* ``quarantine_rate`` - the checks ran for the day, and neither the share of
  quarantined leads nor any batch's cast-reject share exceeds
  ``max_quarantine_rate`` (a systemic source problem stops the run instead of
  quietly quarantining everything);
* ``target_decomposition`` - targets of the day's year add up (children
  within ``target_tolerance`` of their parent), reported against the owner of
  the target that does not add up.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from review_pipeline.db import read_sql, warehouse_engine
from review_pipeline.errors import GateFailed
from review_pipeline.ops import record_step
from review_pipeline.quality.calendar import fill_working_days
from review_pipeline.quality.config import QualitySettings, load_quality_settings
from review_pipeline.settings import Settings
from review_pipeline.workdays import is_working_day

STEP = "gates"
GATES = ("freshness", "volume", "reconciliation", "quarantine_rate", "target_decomposition")


@dataclass
class GateResult:
    gate: str
    status: str  # pass / fail / skip
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "fail"


Row = Mapping[str, Any]


# ------------------------------------------------------------- pure gate logic
def freshness_gate(
    business_date: date,
    batches: Sequence[Row],
    newest: Sequence[Row],
    q: QualitySettings,
    tz: str,
) -> GateResult:
    if not batches:
        return GateResult("freshness", "fail", f"no extraction batch recorded for {business_date}")
    broken = [b for b in batches if b["status"] != "success"]
    if broken:
        names = ", ".join(
            f"{b['source']}.{b['entity']} (batch {b['batch_id']}: {b['status']})" for b in broken
        )
        return GateResult(
            "freshness",
            "fail",
            f"extraction for {business_date} is incomplete: {names}",
            {"batches": [int(b["batch_id"]) for b in broken]},
        )
    day_end = datetime.combine(business_date + timedelta(days=1), time(), ZoneInfo(tz))
    limit = day_end - timedelta(hours=q.freshness_max_hours)
    stale = []
    seen = {r["entity"]: r for r in newest}
    for entity in q.freshness_entities:
        row = seen.get(entity)
        newest_at = row["newest_change_at"] if row else None
        if newest_at is None or newest_at < limit:
            stale.append({"entity": entity, "newest_change_at": newest_at})
    if stale:
        text = ", ".join(
            f"{s['entity']} (newest change {s['newest_change_at'] or 'never'})" for s in stale
        )
        return GateResult(
            "freshness",
            "fail",
            f"source data is stale for {business_date}: {text}; expected a change after {limit:%Y-%m-%d %H:%M}",
            {"stale": stale},
        )
    return GateResult("freshness", "pass", f"{len(batches)} batches, sources fresh")


def volume_gate(
    business_date: date,
    batches: Sequence[Row],
    history: Sequence[Row],
    q: QualitySettings,
) -> GateResult:
    if not is_working_day(business_date):
        return GateResult("volume", "skip", f"{business_date} is not a working day")
    today: dict[tuple[str, str], int] = {}
    for b in batches:
        if b["status"] == "success":
            key = (b["source"], b["entity"])
            today[key] = today.get(key, 0) + int(b["rows_in"] or 0)
    past: dict[tuple[str, str], list[int]] = {}
    for h in history:
        past.setdefault((h["source"], h["entity"]), []).append(int(h["rows_in"] or 0))
    anomalies, judged = [], 0
    for key, rows in sorted(today.items()):
        values = past.get(key, [])
        if len(values) < q.volume_min_history:
            continue
        median = Decimal(str(statistics.median(values)))
        if median <= 0:
            continue
        judged += 1
        ratio = Decimal(rows) / median
        if ratio < q.volume_low_ratio or ratio > q.volume_high_ratio:
            anomalies.append(
                {
                    "source": key[0],
                    "entity": key[1],
                    "rows_in": rows,
                    "median": str(median),
                    "ratio": f"{ratio:.2f}",
                }
            )
    if anomalies:
        text = ", ".join(
            f"{a['source']}.{a['entity']} {a['rows_in']} rows vs median {a['median']} (x{a['ratio']})"
            for a in anomalies
        )
        return GateResult(
            "volume",
            "fail",
            f"volume anomaly on {business_date}: {text} (allowed x{q.volume_low_ratio}..x{q.volume_high_ratio})",
            {"anomalies": anomalies},
        )
    if judged == 0:
        return GateResult("volume", "skip", "not enough history to judge volumes")
    return GateResult("volume", "pass", f"{judged} source entities within the usual volume")


def reconciliation_gate(
    business_date: date, batches: Sequence[Row], q: QualitySettings
) -> GateResult:
    problems = []
    for b in batches:
        if b["status"] != "success":
            continue
        rows_in, staged, rejected = (
            int(b[k] or 0) for k in ("rows_in", "rows_staged", "rows_quarantined")
        )
        name = f"{b['source']}.{b['entity']} batch {b['batch_id']}"
        if rows_in != staged + rejected:
            problems.append(
                f"{name}: {rows_in} rows in != {staged} staged + {rejected} quarantined"
            )
        a_in, a_staged = b["amount_in_cny"], b["amount_staged_cny"]
        if rejected == 0 and a_in is not None and a_staged is not None:
            if abs(Decimal(a_in) - Decimal(a_staged)) > q.amount_tolerance_cny:
                problems.append(f"{name}: amount in {a_in} CNY != staged {a_staged} CNY")
    if problems:
        return GateResult(
            "reconciliation",
            "fail",
            f"raw and staging do not reconcile for {business_date}: " + "; ".join(problems),
            {"problems": problems},
        )
    return GateResult("reconciliation", "pass", f"{len(batches)} batches reconcile")


def quarantine_rate_gate(
    business_date: date, counts: Row, batches: Sequence[Row], q: QualitySettings
) -> GateResult:
    if counts["validation_run_id"] is None:
        return GateResult("quarantine_rate", "fail", f"the checks have not run for {business_date}")
    problems: list[str] = []
    details: dict[str, Any] = {}
    leads, quarantined = int(counts["leads"] or 0), int(counts["quarantined"] or 0)
    details["leads"], details["quarantined"] = leads, quarantined
    if leads >= q.min_rows_for_rate:
        rate = Decimal(quarantined) / Decimal(leads)
        details["lead_rate"] = f"{rate:.4f}"
        if rate > q.max_quarantine_rate:
            problems.append(
                f"{quarantined} of {leads} leads ({rate:.1%}) quarantined by error rules"
            )
    for b in batches:
        rows_in, rejected = int(b["rows_in"] or 0), int(b["rows_quarantined"] or 0)
        if (
            rows_in >= q.min_rows_for_rate
            and Decimal(rejected) / Decimal(rows_in) > q.max_quarantine_rate
        ):
            problems.append(
                f"{b['source']}.{b['entity']} batch {b['batch_id']}: {rejected} of {rows_in} rows failed their casts"
            )
    if problems:
        return GateResult(
            "quarantine_rate",
            "fail",
            f"quarantine rate above {q.max_quarantine_rate:.0%} on {business_date} "
            f"(a systemic source problem): " + "; ".join(problems),
            details,
        )
    return GateResult(
        "quarantine_rate", "pass", f"{quarantined} of {leads} leads quarantined", details
    )


def target_gate(business_date: date, mismatches: Sequence[Row], has_targets: bool) -> GateResult:
    if not has_targets:
        return GateResult("target_decomposition", "skip", f"no targets for {business_date.year}")
    if not mismatches:
        return GateResult("target_decomposition", "pass", f"targets of {business_date.year} add up")
    items = [
        {
            "kind": m["kind"],
            "level": m["level"],
            "org_key": m["org_key"],
            "month": m["month"],
            "business_unit": m["business_unit"],
            "measure": m["measure"],
            "parent_cny": str(m["parent_cny"]),
            "children_cny": str(m["children_cny"]),
            "detail": m["detail"],
            "owner_id": m["owner_id"],
        }
        for m in mismatches
    ]
    shown = "; ".join(
        f"{i['level']} {i['org_key'] or 'company'} {business_date.year}"
        f"{'-{:02d}'.format(i['month']) if i['month'] else ''} {i['business_unit']} {i['measure']}: "
        f"{i['kind']} children {i['children_cny']} vs {i['parent_cny']} (owner {i['owner_id'] or 'unknown'})"
        for i in items[:5]
    )
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return GateResult(
        "target_decomposition",
        "fail",
        f"{len(items)} targets do not add up: {shown}{more}",
        {"mismatches": items},
    )


# ------------------------------------------------------------------ the runner
def _rows(conn: sa.Connection, relative: str, params: dict[str, Any]) -> list[Row]:
    statement = sa.text(read_sql(f"quality/{relative}").strip().rstrip(";"))
    wanted = {k: v for k, v in params.items() if k in statement._bindparams}
    return [dict(r._mapping) for r in conn.execute(statement, wanted)]


def evaluate_gates(
    conn: sa.Connection, settings: Settings, business_date: date, q: QualitySettings
) -> list[GateResult]:
    """Evaluate every gate for the day (reads only; nothing is written)."""
    params: dict[str, Any] = {
        "business_date": business_date,
        "tz": settings.timezone,
        "entities": list(q.freshness_entities),
        "history_days": q.volume_history_working_days,
        "target_year": business_date.year,
        "as_of": business_date,
        "tolerance": settings.rules.target_tolerance,
    }
    batches = _rows(conn, "gates/batches.sql", params)
    newest = _rows(conn, "gates/freshness.sql", params)
    history = _rows(conn, "gates/volume_history.sql", params)
    counts = _rows(conn, "gates/quarantine_rate.sql", params)[0]
    has_targets = bool(
        conn.execute(
            sa.text("select exists (select 1 from staging.target where year = :y)"),
            {"y": business_date.year},
        ).scalar_one()
    )
    mismatches = _rows(conn, "gates/target_decomposition.sql", params) if has_targets else []
    return [
        freshness_gate(business_date, batches, newest, q, settings.timezone),
        volume_gate(business_date, batches, history, q),
        reconciliation_gate(business_date, batches, q),
        quarantine_rate_gate(business_date, counts, batches, q),
        target_gate(business_date, mismatches, has_targets),
    ]


def run_gates(settings: Settings, business_date: date) -> dict[str, Any]:
    """Evaluate and store every gate for ``business_date``; raise GateFailed if any failed.

    Returns a small JSON summary (gate -> status) when every gate passed or was skipped.
    """
    q = load_quality_settings()
    engine = warehouse_engine(settings)
    with record_step(engine, STEP, business_date) as step:
        with engine.begin() as conn:
            # JIT compilation of the target decomposition (its estimates cross the JIT
            # threshold once staging.target is analysed) cost 3 s for a 0.4 s query
            conn.execute(sa.text("set local jit = off"))
            fill_working_days(
                conn, business_date - timedelta(days=60), business_date + timedelta(days=10)
            )
            results = evaluate_gates(conn, settings, business_date, q)
            for r in results:
                conn.execute(
                    sa.text(read_sql("quality/gates/gate_result.sql").strip().rstrip(";")),
                    {
                        "run_id": step.run_id,
                        "business_date": business_date,
                        "gate": r.gate,
                        "status": r.status,
                        "message": r.message,
                        "details": json.dumps(r.details, default=str),
                    },
                )
        summary = {r.gate: r.status for r in results}
        step.details.update({"gates": summary})
        failed = [r for r in results if r.failed]
        if failed:
            raise GateFailed(
                f"{len(failed)} gate(s) failed for {business_date}, nothing published: "
                + " | ".join(f"[{r.gate}] {r.message}" for r in failed)
            )
    return {"run_id": step.run_id, "business_date": business_date.isoformat(), "gates": summary}
