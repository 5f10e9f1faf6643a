"""A/B of the incremental lead step: write only changed rows vs rewrite every version (not collected by pytest).

Fills one warehouse like ``bench_large.py`` at a tenth of the volume (100,000
leads), backfills two years, copies it (``create database ... template``),
then builds the same day of changes (2,000 leads move a stage) on each copy:
once with the SQL in ``sql/`` and once with the SQL of ``--old-sql-dir``
(e.g. the lead step files of an older commit over a copy of ``sql/``). Each
build runs in its own process (the SQL files are cached per process).

    .venv/bin/python tests/warehouse/bench_lead_step.py --admin-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --old-sql-dir /tmp/old-sql
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta

from sqlalchemy.engine import make_url

from tests.warehouse.bench_large import DAY_OF_CHANGES, FILL, _run

SCALE_FILL = FILL.replace("1000000", "100000").replace(
    "generate_series(1, 500) q", "generate_series(1, 50) q"
)
SCALE_DAY = DAY_OF_CHANGES.replace("limit 20000", "limit 2000")
DAY = date(2027, 1, 9)


def _url(admin: str, name: str) -> str:
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def _admin(admin: str, statement: str) -> None:
    import psycopg

    from review_pipeline.db import libpq_dsn

    with psycopg.connect(libpq_dsn(admin), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def prepare(admin: str) -> None:
    from review_pipeline.db import dispose_engines, warehouse_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.settings import load_settings
    from review_pipeline.warehouse.build import backfill

    for name in ("rpab_base", "rpab_new", "rpab_old"):
        _admin(admin, f"drop database if exists {name} with (force)")
    _admin(admin, "create database rpab_base")
    settings = load_settings(warehouse_url=_url(admin, "rpab_base"), statement_timeout_seconds=7200)
    engine = warehouse_engine(settings)
    upgrade(engine)
    started = time.perf_counter()
    _run(engine, SCALE_FILL)
    print(f"fill {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    backfill(settings, date(2025, 1, 1), date(2026, 12, 31))
    print(f"backfill {time.perf_counter() - started:.1f} s", flush=True)
    dispose_engines()
    for name in ("rpab_new", "rpab_old"):
        _admin(admin, f"create database {name} template rpab_base")


def one_day(url: str) -> dict[str, object]:
    """Apply the day's changes and build it (run in a child process)."""
    from review_pipeline.db import warehouse_engine
    from review_pipeline.settings import load_settings
    from review_pipeline.warehouse import build

    settings = load_settings(warehouse_url=url, statement_timeout_seconds=7200)
    build.WATERMARK_MARGIN = timedelta(microseconds=-1)  # only the day's changes (see bench_large)
    _run(warehouse_engine(settings), SCALE_DAY)
    summary = build.build_day(settings, DAY)
    lead = summary["steps"]["fct_lead_state"]
    return {
        "day_s": summary["duration_ms"] / 1000,
        "lead_step_ms": lead["ms"],
        "lead_step_rows": lead.get("rows"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", required=True)
    parser.add_argument("--old-sql-dir", required=True)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.child:
        print(json.dumps(one_day(a.child)))
        return
    prepare(a.admin_url)
    results = {}
    for name, sql_dir in (("new", None), ("old", a.old_sql_dir)):
        env = dict(os.environ)
        if sql_dir:
            env["REVIEW_SQL_DIR"] = sql_dir
        out = subprocess.run(
            [sys.executable, __file__, "--admin-url", a.admin_url, "--old-sql-dir", a.old_sql_dir,
             "--child", _url(a.admin_url, f"rpab_{name}")],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        print(name, results[name], flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
