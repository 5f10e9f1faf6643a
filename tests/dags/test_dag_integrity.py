"""DAG integrity: every DAG imports, follows the house rules, and parsing touches nothing.

Parsing must not open a connection, read a Variable, query a database or
open a socket: the dag-processor re-parses every file every few seconds.
"""

from __future__ import annotations

import ast
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

pytestmark = pytest.mark.dag_integrity

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
EXPECTED = {
    "review_daily": ("0 2 * * *", {"daily"}),
    "review_weekly": ("0 7 * * 1", {"weekly"}),
    "review_monthly": ("0 6 1 * *", {"monthly"}),
}
WAREHOUSE_WRITERS = {
    "prepare_warehouse",
    "build_warehouse",
    "build_daily_marts",
    "build_weekly_reports",
    "close_month",
    "build_advice",
}
HEAVY_MODULES = (
    "pandas",
    "numpy",
    "great_expectations",
    "openpyxl",
    "psycopg",
    "psycopg2",
    "review_pipeline.db",
    "review_pipeline.orchestration",
    "review_pipeline.settings",
)


class _Touches:
    """Records every connection, Variable, SQL statement and socket use during parsing."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def record(self, what: str) -> Any:
        def _side_effect(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(what)
            raise AssertionError(f"DAG parsing called {what}")

        return _side_effect


@pytest.fixture(scope="module")
def parsed() -> Iterator[tuple[Any, list[str]]]:
    """A DagBag of dags/, parsed while every way out of the process is watched."""
    import sqlalchemy as sa
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.connection import Connection as MetaConnection
    from airflow.models.variable import Variable as MetaVariable
    from airflow.sdk import BaseHook, Variable
    from airflow.sdk.definitions.connection import Connection

    touches = _Touches()
    statements: list[str] = []

    def _on_sql(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _on_sql)
    patches = [
        mock.patch.object(BaseHook, "get_connection", side_effect=touches.record("get_connection")),
        mock.patch.object(Connection, "get", side_effect=touches.record("Connection.get")),
        mock.patch.object(
            MetaConnection,
            "get_connection_from_secrets",
            side_effect=touches.record("Connection.get_connection_from_secrets"),
        ),
        mock.patch.object(Variable, "get", side_effect=touches.record("Variable.get")),
        mock.patch.object(MetaVariable, "get", side_effect=touches.record("Variable.get (models)")),
        mock.patch.object(socket.socket, "connect", side_effect=touches.record("socket.connect")),
    ]
    for p in patches:
        p.start()
    try:
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
    finally:
        for p in patches:
            p.stop()
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", _on_sql)
    yield bag, touches.calls + [f"SQL: {s}" for s in statements]


def test_every_dag_imports_without_errors(parsed):
    bag, _ = parsed
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == set(EXPECTED)


def test_parsing_touches_no_connection_variable_database_or_socket(parsed):
    _, touched = parsed
    assert touched == []


def test_dag_id_equals_file_stem(parsed):
    bag, _ = parsed
    for dag_id, dag in bag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_follows_house_rules(parsed, dag_id):
    from airflow.sdk import CronTriggerTimetable

    bag, _ = parsed
    dag = bag.dags[dag_id]
    cron, extra_tags = EXPECTED[dag_id]

    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == cron
    assert str(getattr(dag.timetable.timezone, "name", dag.timetable.timezone)) == "Asia/Shanghai"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.dagrun_timeout is not None
    assert "review" in dag.tags and extra_tags <= set(dag.tags)
    assert dag.doc_md and dag.doc_md.strip().startswith(f"### {dag_id}")
    module_doc = ast.get_docstring(ast.parse(Path(dag.fileloc).read_text("utf-8")), clean=False)
    assert dag.doc_md == module_doc
    assert {"date", "scope", "dry_run"} <= set(dag.params.keys())
    assert dag.params["date"] is None and dag.params["dry_run"] is False

    for task in dag.tasks:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", task.task_id), task.task_id
        assert task.owner == "data-platform", task.task_id
        assert task.on_failure_callback, f"{task.task_id} has no failure e-mail"
        if task.task_type.endswith("SensorOperator"):
            assert task.timeout and task.mode == "reschedule" and task.soft_fail
        else:
            assert task.retries >= 1, task.task_id
            assert task.retry_exponential_backoff > 1, task.task_id
            assert task.max_retry_delay is not None, task.task_id
            assert task.execution_timeout is not None, task.task_id
        if task.task_id in WAREHOUSE_WRITERS:
            assert task.pool == "review_warehouse", task.task_id


def test_daily_emits_the_asset_declared_once(parsed):
    from review_pipeline.assets import DAILY_MARTS

    bag, _ = parsed
    marts = bag.dags["review_daily"].get_task("build_daily_marts")
    assert DAILY_MARTS in marts.outlets
    chain = [t.task_id for t in bag.dags["review_daily"].topological_sort()]
    assert chain == [
        "derive_business_date",
        "prepare_warehouse",
        "extract_sources",
        "run_checks",
        "build_warehouse",
        "build_daily_marts",
    ]


def test_weekly_is_gated_on_the_daily_build(parsed):
    bag, _ = parsed
    dag = bag.dags["review_weekly"]
    gate = dag.get_task("wait_for_daily_build")
    downstream = {t.task_id for t in gate.get_flat_relatives(upstream=False)}
    assert {
        "build_weekly_reports",
        "build_advice",
        "build_packs",
        "send_packs",
        "summarise_delivery",
    } <= downstream
    order = [t.task_id for t in dag.topological_sort()]
    assert order.index("build_weekly_reports") < order.index("build_advice")
    assert order.index("build_advice") < order.index("build_packs")


def test_monthly_builds_advice_between_the_close_and_the_packs(parsed):
    bag, _ = parsed
    order = [t.task_id for t in bag.dags["review_monthly"].topological_sort()]
    assert order.index("close_month") < order.index("build_advice")
    assert order.index("build_advice") < order.index("build_monthly_packs")
    # the month's own judge of its deliveries comes last
    assert order[-2:] == ["send_packs", "summarise_delivery"]


def test_dag_files_parse_fast_in_a_fresh_interpreter_without_heavy_imports():
    """Each file alone: parse time after Airflow's own import, and no heavy module loaded."""
    script = f"""
import json, runpy, sys, time
import airflow.sdk
result = {{}}
for name in {sorted(EXPECTED)!r}:
    started = time.perf_counter()
    runpy.run_path({str(DAGS_FOLDER)!r} + "/" + name + ".py")
    result[name] = time.perf_counter() - started
heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]
print(json.dumps({{"seconds": result, "heavy": heavy}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    for name, seconds in report["seconds"].items():
        assert seconds < 2.0, f"{name} took {seconds:.2f} s to parse"
