"""A distributed run: scheduler, dag-processor, api-server and a Celery worker as processes.

PostgreSQL holds the metadata (a fresh database from ``make_database``),
Redis at 127.0.0.1:6379 is the Celery broker (started, or installed from the
OS packages when running as root, if nothing answers there). The test
triggers ``review_daily`` through the REST API like an operator would, waits
for it, and checks that the Celery worker ran every task and that the
Sales Review page shows the result behind authentication. Every process is
started in its own process group and terminated at the end, pass or fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import rp_stand_in_stages
import sqlalchemy as sa
from _testenv import warehouse_env

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
DEADLINE_SECONDS = 170  # everything after the broker is up, start to teardown


# ------------------------------------------------------------------------ Redis
def _redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _ensure_redis() -> None:
    """Use the Redis at 127.0.0.1:6379; start it (installing it as root) when none answers."""
    if _redis_answers():
        return
    server = shutil.which("redis-server")
    if server is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=300, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "redis-server"], env=env, timeout=300, check=False
        )
        server = shutil.which("redis-server")
    if server is None:
        pytest.fail(
            "no Redis answers at 127.0.0.1:6379 and redis-server is not installed "
            "(install it: apt-get install -y redis-server)"
        )
    subprocess.run(
        [server, "--daemonize", "yes", "--bind", REDIS_HOST, "--port", str(REDIS_PORT)]
        + ["--save", "", "--appendonly", "no"],
        check=True,
        timeout=30,
    )
    for _ in range(50):
        if _redis_answers():
            return
        time.sleep(0.2)
    pytest.fail(f"redis-server started but does not answer at {REDIS_HOST}:{REDIS_PORT}")


# -------------------------------------------------------------------- processes
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    home: Path
    env: dict[str, str]
    base_url: str
    queue: str
    deadline: float
    warehouse_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [str(AIRFLOW), *args],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches children
        )
        log.close()

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text("utf-8", "replace") if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{self.log(name)[-4000:]}")

    def wait_for(self, what: str, probe: Callable[[], Any], interval: float = 1.0) -> Any:
        while True:
            self.check_alive()
            result = probe()
            if result:
                return result
            if time.monotonic() > self.deadline:
                logs = "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in self.procs)
                pytest.fail(f"timed out waiting for {what}\n{logs}")
            time.sleep(interval)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            try:  # stragglers of the group, even when the leader already exited
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def _airflow_env(home: Path, metadata_url: str, warehouse_url: str, port: int, queue: str):
    from cryptography.fernet import Fernet
    from sqlalchemy.engine import make_url

    meta = make_url(metadata_url)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "REVIEW_", "_REVIEW_", "PYTEST"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta.set(
                drivername="postgresql+psycopg2"
            ).render_as_string(hide_password=False),
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + meta.set(drivername="postgresql").render_as_string(hide_password=False),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
            # only the run this test triggers: unpausing must not add the cron's latest run
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **warehouse_env(warehouse_url),
            # stand-in stages (see rp_stand_in_stages.py), importable by the worker
            "REVIEW_STAGES": rp_stand_in_stages.stages_env(),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p
            ),
        }
    )
    return env


@pytest.fixture
def cluster(make_database, tmp_path) -> Iterator[Cluster]:
    _ensure_redis()
    home = tmp_path / "airflow-home"
    home.mkdir()
    port = _free_port()
    queue = f"rp-test-{secrets.token_hex(4)}"  # only this test's worker listens here
    warehouse_url = make_database("afwh")
    env = _airflow_env(home, make_database("afmeta"), warehouse_url, port, queue)
    cluster = Cluster(
        warehouse_url=warehouse_url,
        home=home,
        env=env,
        base_url=f"http://127.0.0.1:{port}",
        queue=queue,
        deadline=time.monotonic() + DEADLINE_SECONDS,
    )
    # a SIGTERM to pytest must still tear the cluster down
    previous = signal.signal(signal.SIGTERM, _raise_system_exit)
    try:
        migrate = subprocess.run(
            [str(AIRFLOW), "db", "migrate"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
        cluster.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port))
        cluster.start("scheduler", "scheduler")
        cluster.start("dag-processor", "dag-processor")
        cluster.start("worker", "celery", "worker", "--queues", queue, "--concurrency", "2")
        yield cluster
    finally:
        cluster.stop()
        signal.signal(signal.SIGTERM, previous)


def _raise_system_exit(signum: int, frame: Any) -> None:
    raise SystemExit(f"terminated by signal {signum}")


# ------------------------------------------------------------------------- test
def _token(cluster: Cluster, client: httpx.Client) -> str:
    passwords_file = cluster.home / "passwords.json"
    passwords = cluster.wait_for(
        "the generated admin password",
        lambda: passwords_file.exists() and json.loads(passwords_file.read_text() or "{}"),
    )
    response = client.post(
        "/auth/token", json={"username": "admin", "password": passwords["admin"]}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def _get(client: httpx.Client, url: str, timeout: float = 10) -> httpx.Response | None:
    try:
        return client.get(url, timeout=timeout)
    except httpx.TransportError:
        return None


def test_review_daily_runs_on_celery_through_the_rest_api(cluster, make_database):
    client = httpx.Client(base_url=cluster.base_url, timeout=10)
    cluster.wait_for(
        "the api-server",
        lambda: (r := _get(client, "/api/v2/monitor/health")) is not None and r.status_code == 200,
    )
    # The api-server builds its execution API on the first request to it, for many
    # seconds on a small machine; warm it so the first task's start call does not time out.
    cluster.wait_for(
        "the execution API",
        lambda: (
            (r := _get(client, "/execution/health", timeout=60)) is not None
            and r.status_code == 200
        ),
    )
    client.headers["Authorization"] = f"Bearer {_token(cluster, client)}"

    pool = client.post(
        "/api/v2/pools",
        json={"name": "review_warehouse", "slots": 1, "description": "warehouse writers"},
    )
    assert pool.status_code == 201, pool.text
    cluster.wait_for(
        "review_daily to be parsed",
        lambda: (
            (r := _get(client, "/api/v2/dags/review_daily")) is not None and r.status_code == 200
        ),
    )
    unpaused = client.patch("/api/v2/dags/review_daily", json={"is_paused": False})
    assert unpaused.status_code == 200, unpaused.text

    triggered = client.post("/api/v2/dags/review_daily/dagRuns", json={"logical_date": None})
    assert triggered.status_code == 200, triggered.text
    run = triggered.json()
    run_id = run["dag_run_id"]
    assert run["logical_date"] is None
    run_after = datetime.fromisoformat(run["run_after"])
    business_date = run_after.astimezone(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)

    def _finished() -> dict[str, Any] | None:
        r = client.get(f"/api/v2/dags/review_daily/dagRuns/{run_id}")
        state = r.json()["state"] if r.status_code == 200 else None
        return r.json() if state in ("success", "failed") else None

    final = cluster.wait_for("the run to finish", _finished, interval=2)
    tis = client.get(f"/api/v2/dags/review_daily/dagRuns/{run_id}/taskInstances").json()
    states = {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}
    assert final["state"] == "success", (states, cluster.log("worker")[-4000:])
    assert set(states.values()) == {"success"} and len(states) == 6, states

    # every task went through this test's Celery queue, which only its worker consumes
    assert {ti["queue"] for ti in tis["task_instances"]} == {cluster.queue}
    worker_log = cluster.log("worker")
    assert f"[{cluster.queue}]" in worker_log or cluster.queue in worker_log
    for task_id in states:
        assert task_id in worker_log, f"{task_id} not seen by the Celery worker"

    warehouse = sa.create_engine(cluster.warehouse_url, poolclass=sa.pool.NullPool)
    with warehouse.connect() as conn:
        rows = conn.execute(
            sa.text("select step, business_date, status, airflow_run_id from ops.step_run")
        ).all()
    assert sorted(r.step for r in rows) == sorted(
        [
            "prepare_warehouse",
            "extract_sources",
            "run_checks",
            "build_warehouse",
            "build_daily_marts",
        ]
    )
    assert {(r.business_date, r.status, r.airflow_run_id) for r in rows} == {
        (business_date, "success", run_id)
    }

    # the plugin page, mounted by the running api-server, requires authentication
    anonymous = httpx.get(f"{cluster.base_url}/sales-review/api/status", timeout=10)
    assert anonymous.status_code == 401
    page = client.get("/sales-review/api/status")
    assert page.status_code == 200, page.text
    assert {r["airflow_run_id"] for r in page.json()["step_runs"]} == {run_id}
    assert len(page.json()["step_runs"]) == len(rows)
