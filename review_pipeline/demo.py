"""``make demo``: the whole pipeline, its last days run by Airflow, on the embedded defaults.

1. start the embedded PostgreSQL (unless URLs are configured) and migrate;
2. simulate the CRM and finance files up to a few days before the demo's
   review date (skipped when that world already exists);
3. catch the history up in bulk from here, like an operator's CLI backfill:
   one extraction, the checks over the whole range in one pass, one
   warehouse backfill (:func:`catch_up_history`);
4. hand the last days to Airflow: a child process runs the real
   ``review_daily`` DAG once per day with ``dag.test()`` (the simulator adds
   that day's changes first, so each run sees a real increment), then
   ``review_weekly`` for the Sunday: reports, advice, packs and the emails,
   written as ``.eml`` files (file transport);
5. print where everything is.

Airflow's metadata database is a SQLite file under ``$REVIEW_HOME/airflow``:
``dag.test()`` runs the tasks one after another in one process, so SQLite's
single writer costs nothing; it needs no server and no database on the
embedded PostgreSQL (which holds the warehouse and the CRM only), it is
created in a few seconds, and ``airflow api-server`` serves it afterwards to
browse the runs. The same folder gets an ``airflow.cfg`` so that command
needs nothing but ``AIRFLOW_HOME``.

Every step is idempotent and recorded in ``ops.step_run``: a second run
finds the work done, starts no Airflow at all and only prints the summary.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from review_pipeline.errors import ConfigError, ReviewError
from review_pipeline.settings import Settings

log = logging.getLogger(__name__)

DEMO_REVIEW_DATE = date(2026, 11, 22)  # a Sunday; the weekly review runs for it
LIVE_DAYS = 3  # Friday to Sunday run through Airflow, one daily run each

DAILY_DAG, WEEKLY_DAG = "review_daily", "review_weekly"
DAILY_DONE_STEP = "build_daily_marts"  # the last step of a daily run
WEEKLY_DONE_STEP = "summarise_delivery"  # the last step of a weekly run
UI_PORT = 8080
_PLAN_ENV = "REVIEW_DEMO_AIRFLOW_PLAN"
_SHANGHAI = "Asia/Shanghai"


@dataclass
class DemoSummary:
    """What one demo run did and where its outputs are."""

    review_date: date
    history: tuple[date, date] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    airflow_runs: list[dict[str, Any]] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    airflow_ui: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------- helpers
def step_done(engine: sa.Engine, step: str, day: date) -> bool:
    """Whether ``step`` succeeded for ``day`` (a skipped, not-installed stage does not count)."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "select exists (select 1 from ops.step_run where step = :s and business_date = :d"
                    " and status = 'success' and not coalesce((details ->> 'skipped')::boolean, false))"
                ),
                {"s": step, "d": day},
            ).scalar()
        )


def _ensure_world(
    settings: Settings,
    profile: str,
    seed: int,
    start: date,
    history_end: date,
    say: Callable[[str], None],
) -> date:
    from review_pipeline.simulator.world import WorldParams, generate, world_state

    state = world_state(settings)
    if (
        state is not None
        and state[0].profile == profile
        and state[0].seed == seed
        and state[0].start == start
    ):
        return state[1]
    say(f"simulating the {profile} profile from {start} to {history_end} (seed {seed})")
    summary = generate(settings, WorldParams(profile, seed, start), (history_end - start).days + 1)
    return summary.as_of


def catch_up_history(
    settings: Settings,
    start: date,
    end: date,
    say: Callable[[str], None] = log.info,
) -> list[dict[str, Any]]:
    """History in bulk, as an operator's CLI backfill: one extraction, one range of checks,
    one warehouse backfill; each recorded under ``end`` and skipped when already done.

    Returns the summaries of the steps that ran.
    """
    from review_pipeline import orchestration
    from review_pipeline.db import warehouse_engine
    from review_pipeline.ops import record_step

    engine = warehouse_engine(settings)
    ran: list[dict[str, Any]] = []
    if not step_done(engine, "extract_sources", end):
        say(f"history {start} .. {end}: extracting every source")
        ran.append(orchestration.extract_sources(end, settings=settings))
    if not step_done(engine, "run_checks", end):
        say(f"history {start} .. {end}: checks over the whole range")
        from review_pipeline.quality.run import run_checks

        with record_step(engine, "run_checks", end) as run:
            run.details.update(run_checks(settings, start, end))
        ran.append(run.summary())
    if not step_done(engine, "build_warehouse", end):
        say(f"history {start} .. {end}: warehouse backfill")
        from review_pipeline.warehouse.build import backfill

        with record_step(engine, "build_warehouse", end) as run:
            result = backfill(settings, start, end)
            run.details.update(
                result if isinstance(result, dict) else {"days": (end - start).days + 1}
            )
        ran.append(run.summary())
    return ran


def daily_run_moment(day: date) -> datetime:
    """When the scheduler would start the daily run for business date ``day`` (02:00 Shanghai)."""
    import pendulum

    nxt = day + timedelta(days=1)
    return pendulum.datetime(nxt.year, nxt.month, nxt.day, 2, tz=_SHANGHAI)


def weekly_run_moment(sunday: date) -> datetime:
    """When the scheduler would start the weekly run for the week ending ``sunday`` (Monday 07:00)."""
    import pendulum

    monday = sunday + timedelta(days=1)
    return pendulum.datetime(monday.year, monday.month, monday.day, 7, tz=_SHANGHAI)


# ------------------------------------------------------------------- Airflow
def repo_folder(name: str) -> Path:
    """``dags`` or ``plugins`` of the checkout this package runs from."""
    folder = Path(__file__).resolve().parents[1] / name
    if not folder.is_dir():
        raise ConfigError(
            f"the demo runs the DAGs of the source checkout, but {folder} does not exist; "
            "run it from a clone of the repository (pip install -e .)"
        )
    return folder


def airflow_home(settings: Settings) -> Path:
    return settings.home / "airflow"


def write_airflow_config(home: Path) -> Path:
    """An ``airflow.cfg`` for the demo's Airflow (kept when it exists: its secrets stay stable)."""
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "airflow.cfg"
    if cfg.exists():
        return cfg
    text = f"""\
# Written by `review-pipeline demo`: a local Airflow on a SQLite metadata DB.
# Browse the demo's runs: AIRFLOW_HOME={home} airflow api-server
[core]
dags_folder = {repo_folder("dags")}
plugins_folder = {repo_folder("plugins")}
load_examples = False
executor = LocalExecutor
parallelism = 2
simple_auth_manager_users = admin:admin
simple_auth_manager_passwords_file = {home / "simple_auth_manager_passwords.json.generated"}

[database]
sql_alchemy_conn = sqlite:///{home / "airflow.db"}

[api]
host = 127.0.0.1
port = {UI_PORT}
workers = 1
base_url = http://127.0.0.1:{UI_PORT}
secret_key = {secrets.token_urlsafe(32)}

[api_auth]
jwt_secret = {secrets.token_urlsafe(64)}

[logging]
logging_level = INFO
base_log_folder = {home / "logs"}

[dag_processor]
parsing_processes = 1
"""
    cfg.write_text(text, encoding="utf-8")
    cfg.chmod(0o600)  # it holds the API secrets
    return cfg


def _child_env(settings: Settings, home: Path) -> dict[str, str]:
    from review_pipeline.db import crm_url, warehouse_url

    # Nothing of the caller's Airflow set-up leaks in: the demo's airflow.cfg decides.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            # the URLs the parent resolved (the embedded server's socket, or the configured ones)
            "REVIEW_HOME": str(settings.home),
            "REVIEW_WAREHOUSE_URL": warehouse_url(settings).render_as_string(hide_password=False),
            "REVIEW_CRM_URL": crm_url(settings).render_as_string(hide_password=False),
            # the demo writes its emails as .eml files, whatever the shell says
            "REVIEW_SMTP__TRANSPORT": "file",
            "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
        }
    )
    return env


class AirflowChild:
    """The child process running the DAGs; it prepares Airflow at once, then waits for :meth:`go`.

    Started before the history backfill, so Airflow's imports, its metadata
    database and the stage modules load while the parent works on the history.
    """

    def __init__(self, settings: Settings, days: list[date], review_date: date) -> None:
        home = airflow_home(settings)
        write_airflow_config(home)
        self.log_path = home / "demo-runs.log"
        plan = {
            "days": [d.isoformat() for d in days],
            "review_date": review_date.isoformat(),
            "log": str(self.log_path),
        }
        env = _child_env(settings, home)
        env[_PLAN_ENV] = json.dumps(plan)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from review_pipeline.demo import airflow_child; airflow_child()",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,
            text=True,
        )

    def go(self, say: Callable[[str], None] = log.info) -> list[dict[str, Any]]:
        """Let the runs start; returns one record per DAG run.

        Raises:
            ReviewError: a run failed (the message names its tasks) or the child died.
        """
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write("go\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass  # the child already ended; its exit code tells why
        runs: list[dict[str, Any]] = []
        error: dict[str, Any] | None = None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "say":
                say(str(event["message"]))
            elif event.get("event") == "run":
                runs.append(event)
            elif event.get("event") == "error":
                error = event
        code = self.proc.wait()
        if error is not None or code != 0:
            detail = (error or {}).get("message") or f"the Airflow child exited with {code}"
            raise ReviewError(f"{detail}; Airflow's log: {self.log_path}")
        return runs

    def abort(self) -> None:
        """Stop the child (the history failed): it has not touched the warehouse yet."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_airflow(
    settings: Settings,
    days: list[date],
    review_date: date,
    say: Callable[[str], None] = log.info,
) -> list[dict[str, Any]]:
    """Run ``review_daily`` for each of ``days`` and ``review_weekly`` for ``review_date``
    through Airflow (``dag.test()`` in a child process); returns one record per run.

    The child's Airflow output goes to ``$REVIEW_HOME/airflow/demo-runs.log``.
    Raises :class:`ReviewError` naming the failed tasks when a run fails.
    """
    return AirflowChild(settings, days, review_date).go(say)


def airflow_child() -> None:
    """Entry point of the child process started by :class:`AirflowChild` (not for direct use)."""
    plan = json.loads(os.environ[_PLAN_ENV])
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    # Airflow logs plenty to the console: send the process's stdout and stderr to the log.
    with open(plan["log"], "ab") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)

    def emit(event: str, **data: Any) -> None:
        events.write(json.dumps({"event": event, **data}, default=str) + "\n")

    try:
        _airflow_child_runs(plan, emit)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, then a non-zero exit
        logging.getLogger(__name__).exception("demo Airflow runs failed")
        emit("error", message=str(exc))
        sys.exit(1)


def _airflow_child_runs(plan: dict[str, Any], emit: Callable[..., None]) -> None:
    home = Path(os.environ["AIRFLOW_HOME"])
    started = time.monotonic()
    from airflow import __version__ as airflow_version
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db as airflow_db

    stamp = home / f".migrated-{airflow_version}"
    if not stamp.exists():
        airflow_db.initdb()
        from airflow.models.pool import Pool

        from review_pipeline.assets import WAREHOUSE_POOL

        # dag.test() ignores pools, but a scheduler started on this home would wait for it
        Pool.create_or_update_pool(
            WAREHOUSE_POOL, 1, "Tasks writing the review warehouse", include_deferred=False
        )
        stamp.touch()
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    from review_pipeline import orchestration
    from review_pipeline.db import warehouse_engine
    from review_pipeline.settings import load_settings
    from review_pipeline.simulator.world import extend, world_state

    bag = DagBag(dag_folder=str(repo_folder("dags")))
    if bag.import_errors:
        raise ReviewError(f"DAG import errors: {bag.import_errors}")
    dags = {dag_id: bag.dags[dag_id] for dag_id in (DAILY_DAG, WEEKLY_DAG)}
    for dag in dags.values():
        for task in dag.tasks:
            task.retries = 0  # a failure shows at once instead of after minutes of back-off
    # Load now what the first run would load: the execution API dag.test() serves
    # in-process, and every stage module (Great Expectations among them).
    in_process_api_server().app  # noqa: B018 - builds and caches the app
    for target in orchestration.STAGES.values():
        orchestration.resolve_stage(target)
    try:
        import great_expectations  # noqa: F401
    except ImportError:
        pass
    prepared = time.monotonic() - started
    if sys.stdin.readline().strip() != "go":
        return  # the parent gave up (its history step failed)
    emit("say", message=f"Airflow prepared in the background ({prepared:.0f} s)")
    settings = load_settings()
    engine = warehouse_engine(settings)

    def run(dag_id: str, moment: datetime, label: str) -> None:
        emit("say", message=f"Airflow: {dag_id} for {label}")
        t0 = time.monotonic()
        dag_run = dags[dag_id].test(logical_date=moment)
        seconds = round(time.monotonic() - t0, 1)
        failed = _unsuccessful_tasks(dag_id, dag_run.run_id)
        emit(
            "run",
            dag_id=dag_id,
            business_date=label,
            run_id=dag_run.run_id,
            state=str(dag_run.state),
            seconds=seconds,
            not_successful=failed,
        )
        if str(dag_run.state) != "success":
            raise ReviewError(f"{dag_id} for {label} ended {dag_run.state}; tasks: {failed}")

    for iso in plan["days"]:
        day = date.fromisoformat(iso)
        state = world_state(settings)
        if state is not None and state[1] < day:
            emit("say", message=f"simulator: the sources move on to {day}")
            extend(settings, (day - state[1]).days)
        if not step_done(engine, DAILY_DONE_STEP, day):
            run(DAILY_DAG, daily_run_moment(day), iso)
    review = date.fromisoformat(plan["review_date"])
    if not step_done(engine, WEEKLY_DONE_STEP, review):
        run(WEEKLY_DAG, weekly_run_moment(review), plan["review_date"])


def _unsuccessful_tasks(dag_id: str, run_id: str) -> list[str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.scalars(
            sa.select(TaskInstance).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
            )
        ).all()
        return sorted(f"{ti.task_id}={ti.state}" for ti in tis if str(ti.state) != "success")


# ------------------------------------------------------------------------ demo
def run_demo(
    settings: Settings,
    *,
    profile: str = "small",
    seed: int = 42,
    live_days: int = LIVE_DAYS,
    say: Callable[[str], None] = log.info,
) -> DemoSummary:
    """Run the demo end to end (see the module docstring); returns what was done and where."""
    from review_pipeline.db import start_embedded, warehouse_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.simulator.profiles import get_profile

    clock = time.monotonic()
    summary = DemoSummary(DEMO_REVIEW_DATE)

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        summary.seconds[name] = round(now - clock, 1)
        clock = now

    if settings.warehouse_url is None or settings.crm_url is None:
        start_embedded(settings)
    engine = warehouse_engine(settings)
    upgrade(engine)
    history_start = DEMO_REVIEW_DATE - timedelta(days=get_profile(profile).default_days - 1)
    history_end = DEMO_REVIEW_DATE - timedelta(days=live_days)
    _ensure_world(settings, profile, seed, history_start, history_end, say)
    lap("simulate")
    summary.history = (history_start, history_end)
    days = [history_end + timedelta(days=i) for i in range(1, live_days + 1)]
    pending = [d for d in days if not step_done(engine, DAILY_DONE_STEP, d)]
    child = None
    if pending or not step_done(engine, WEEKLY_DONE_STEP, DEMO_REVIEW_DATE):
        # Airflow starts up in the background while the history is caught up
        child = AirflowChild(settings, days, DEMO_REVIEW_DATE)
    try:
        summary.steps.extend(catch_up_history(settings, history_start, history_end, say))
    except BaseException:
        if child is not None:
            child.abort()
        raise
    lap("history")
    if child is not None:
        summary.airflow_runs = child.go(say)
    lap("airflow")
    describe(settings, engine, summary)
    return summary


def describe(settings: Settings, engine: sa.Engine, summary: DemoSummary) -> None:
    """Fill ``summary`` with where everything is, counts, and how to open the Airflow UI."""
    from review_pipeline.db import redacted, warehouse_url

    # packs: REVIEW_HOME/packs/<kind>/<period>/; file transport: REVIEW_HOME/outbox/<period>/
    roots = [settings.home / "packs", settings.home / "outbox", Path(settings.output_dir)]
    files: dict[str, list[Path]] = {".xlsx": [], ".eml": []}
    for root in roots:
        if root.exists():
            for path in root.rglob("*"):
                if path.suffix in files and path.is_file() and not path.name.startswith("."):
                    files[path.suffix].append(path)

    def folders(paths: list[Path], where: Path) -> str:
        found = sorted({str(p.parent) for p in paths})
        return ", ".join(found) if found else f"(none yet under {where})"

    summary.paths = {
        "REVIEW_HOME": str(settings.home),
        "warehouse": redacted(warehouse_url(settings)),
        "finance landing": str(settings.landing_dir / "finance"),
        "archive": str(settings.archive_dir),
        "ground truth": str(settings.simulator_dir / "ground_truth.csv"),
        "packs (.xlsx)": folders(files[".xlsx"], settings.home / "packs"),
        "outbox (.eml)": folders(files[".eml"], settings.home / "outbox"),
        "Data Docs": _data_docs(engine, settings),
        "Airflow home": str(airflow_home(settings)),
    }
    summary.counts = {"pack workbooks": len(files[".xlsx"]), "emails (.eml)": len(files[".eml"])}
    with engine.connect() as conn:
        for label, query in (
            ("staged leads", "select count(*) from staging.lead"),
            ("quarantined staging rows", "select count(*) from quarantine.staging_row"),
            ("quarantined file rows", "select count(*) from quarantine.file_row"),
            ("successful step runs", "select count(*) from ops.step_run where status = 'success'"),
        ):
            try:
                summary.counts[label] = int(conn.execute(sa.text(query)).scalar_one())
            except sa.exc.ProgrammingError:
                conn.rollback()
    home = airflow_home(settings)
    summary.airflow_ui = [
        f"AIRFLOW_HOME={home} REVIEW_HOME={settings.home} {Path(sys.executable).parent / 'airflow'}"
        " api-server",
        f"open http://127.0.0.1:{UI_PORT}/ as admin (password in "
        f"{home / 'simple_auth_manager_passwords.json.generated'} once the server has started);"
        f" the Sales Review page: http://127.0.0.1:{UI_PORT}/sales-review/",
    ]


def _data_docs(engine: sa.Engine, settings: Settings) -> str:
    with engine.connect() as conn:
        try:
            url = conn.execute(
                sa.text(
                    "select data_docs_path from dq.validation_run where data_docs_path is not null"
                    " order by finished_at desc nulls last limit 1"
                )
            ).scalar()
        except sa.exc.ProgrammingError:
            url = None
    if url:
        return str(url)
    index = settings.home / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return index.as_uri() if index.exists() else "(not built yet)"
