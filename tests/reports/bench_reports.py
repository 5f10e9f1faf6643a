"""Report build benchmark on a medium synthetic profile (not collected by pytest).

Fills staging like ``tests/warehouse/bench_large.py`` at a tenth of the lead
volume (100,000 leads, 100,000 visits, ~2,000 employees, two years of finance,
targets and plans), builds the warehouse for one review date, writes findings
for a tenth of the open leads, then times the weekly report build and a few
scoped reads.

    REVIEW_WAREHOUSE_URL=postgresql://... .venv/bin/python tests/reports/bench_reports.py
"""

from __future__ import annotations

import json
import time
from datetime import date

import sqlalchemy as sa

from review_pipeline.db import warehouse_engine
from review_pipeline.migrations.runner import upgrade
from review_pipeline.reports.pipeline import build_weekly_reports
from review_pipeline.reports.scope import Scope, report_rows
from review_pipeline.settings import load_settings
from review_pipeline.warehouse.build import build_day
from tests.warehouse.bench_large import FILL, _run

D = date(2026, 6, 28)  # a Sunday

FINDINGS = """
insert into dq.finding (business_date, rule_id, entity_type, entity_id, severity, owner_id, run_id)
select :d, case when s.lead_id like '%3' then 'LQ12' else 'LQ05' end, 'lead', s.lead_id,
    case when s.lead_id like '%3' then 'error' else 'warn' end, s.owner_id, 1
from dw.lead_any_state_on(:d) as s where s.is_open and s.lead_id like '%3' or s.lead_id like '%7'
on conflict do nothing
"""


def main() -> None:
    settings = load_settings(statement_timeout_seconds=3600)
    engine = warehouse_engine(settings)
    upgrade(engine)
    result: dict[str, object] = {}
    with engine.connect() as conn:
        filled = conn.execute(sa.text("select count(*) from staging.lead")).scalar_one()
    if not filled:
        script = FILL.replace("1000000", "100000").replace(
            "generate_series(1, 500) q", "generate_series(1, 50) q"
        )
        result["fill_s"] = round(_run(engine, script), 1)
        started = time.perf_counter()
        build_day(settings, D)
        result["build_day_s"] = round(time.perf_counter() - started, 1)
        with engine.begin() as conn:
            conn.execute(sa.text(FINDINGS), {"d": D})
    with engine.connect() as conn:
        result["open_leads_on_d"] = conn.execute(
            sa.text("select count(*) from dw.lead_state_on(:d)"), {"d": D}
        ).scalar_one()
    for attempt in (1, 2):
        started = time.perf_counter()
        summary = build_weekly_reports(settings, D)
        result[f"weekly_build_{attempt}_s"] = round(time.perf_counter() - started, 1)
    result["rows"] = summary["tables"]
    result["table_ms"] = summary["milliseconds"]
    for name, scope in (
        ("lead-ledger", Scope("manager", "E3")),
        ("region-month", Scope("manager", "E3")),
        ("top-leads", Scope("region", "R3")),
    ):
        started = time.perf_counter()
        rows = report_rows(settings, name, D, scope=scope)
        result[f"read_{name}_{scope}"] = {
            "rows": len(rows),
            "s": round(time.perf_counter() - started, 2),
        }
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
