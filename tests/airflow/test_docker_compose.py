"""docker-compose.yml validated offline with docker-compose 1.29.2 (no Docker engine needed).

The tool is installed on first use into its own virtualenv under
``~/.cache/review-pipeline/compose-venv`` (override with REVIEW_COMPOSE_VENV),
with PyYAML >= 6 in place of the < 6 it declares (5.x does not build on
Python 3.11). Later runs reuse it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"

COMPOSE_DEPS = [
    "pyyaml>=6",
    "requests>=2.20,<3",
    "texttable>=0.9,<2",
    "websocket-client>=0.32,<1",
    "docker>=5,<7",
    "dockerpty>=0.4.1,<1",
    "docopt>=0.6.1,<1",
    "jsonschema>=2.5.1,<4",
    "python-dotenv>=0.13,<1",
    "distro>=1.5,<2",
]
SERVICES = {
    "postgres",
    "redis",
    "mailpit",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s]+)@")


def _venv_dir() -> Path:
    override = os.environ.get("REVIEW_COMPOSE_VENV")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "review-pipeline" / "compose-venv"


@pytest.fixture(scope="session")
def docker_compose() -> Path:
    """The docker-compose 1.29.2 executable, installed into its own venv on first use."""
    import fasteners

    venv = _venv_dir()
    tool = venv / "bin" / "docker-compose"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(venv.parent / "compose-venv.lock")):
        if not _works(tool):
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            subprocess.run([*pip, "--no-deps", "docker-compose==1.29.2"], check=True)
            subprocess.run([*pip, *COMPOSE_DEPS], check=True)
    assert _works(tool), f"docker-compose could not be installed into {venv}"
    return tool


def _works(tool: Path) -> bool:
    if not tool.exists():
        return False
    proc = subprocess.run([str(tool), "version", "--short"], capture_output=True, text=True)
    return proc.returncode == 0 and proc.stdout.strip() == "1.29.2"


def _compose(tool: Path, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: variables from the caller's shell would override the env file.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home())}
    return subprocess.run(
        [str(tool), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE)]
        + ["--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_compose_file_is_valid(docker_compose):
    proc = _compose(docker_compose, ENV_EXAMPLE, "config", "-q")
    assert proc.returncode == 0, proc.stderr


def test_compose_structure(docker_compose):
    proc = _compose(docker_compose, ENV_EXAMPLE, "config")
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    services = config["services"]
    assert set(services) == SERVICES

    for name, service in services.items():
        if name != "airflow-init":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in SERVICES - {"postgres", "redis", "mailpit"}:
        service = services[name]
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
        assert env["AIRFLOW_CONN_REVIEW_WAREHOUSE"].endswith("@postgres:5432/review_warehouse")
        for conn in ("REVIEW_WAREHOUSE", "REVIEW_CRM", "REVIEW_SMTP"):
            assert env[f"AIRFLOW_CONN_{conn}"], (name, conn)
        assert service["build"]["dockerfile"] == "Dockerfile"
        deps = service["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        if name != "airflow-init":
            assert deps["airflow-init"]["condition"] == "service_completed_successfully"
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == (
        "service_healthy"
    )
    assert services["airflow-worker"]["command"] == "celery worker"
    assert "review_warehouse" in services["airflow-init"]["command"][-1]
    # the metadata and the warehouse are separate databases on one server
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "airflow"
    init_dir = f"{REPO / 'docker' / 'postgres-init'}:/docker-entrypoint-initdb.d:ro"
    assert init_dir in services["postgres"]["volumes"]
    # published ports listen on loopback only
    for name in ("airflow-apiserver", "mailpit"):
        for port in services[name]["ports"]:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_missing_secret_stops_compose(docker_compose, tmp_path):
    env_file = tmp_path / "incomplete.env"
    lines = ENV_EXAMPLE.read_text().splitlines()
    env_file.write_text("\n".join(x for x in lines if not x.startswith("POSTGRES_PASSWORD=")))
    proc = _compose(docker_compose, env_file, "config", "-q")
    assert proc.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in proc.stderr


def _strings(node: object, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str | int | float):
        yield path, str(node)


def test_no_literal_secret_in_committed_files():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    for path, value in _strings(raw):
        key = path.rsplit(".", 1)[-1]
        if SECRET_NAME.search(key):
            assert value.startswith("${"), f"{path} holds a literal secret"
        for password in URL_PASSWORD.findall(value):
            assert password.startswith("${"), f"{path} holds a literal password"

    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if SECRET_NAME.search(key):
            assert value == "CHANGE_ME", f".env.example: {key} must be a placeholder"
        for password in URL_PASSWORD.findall(value):
            assert password == "CHANGE_ME", f".env.example: {key} holds a password"

    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO)
    assert ignored.returncode == 0, ".env must be git-ignored"
    tracked = subprocess.run(
        ["git", "ls-files", "--", ".env"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert tracked.stdout.strip() == ""


def test_dockerfile_installs_the_package_with_the_constraints():
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}", text, re.M)
    assert "-c /opt/review/constraints.txt" in text
    assert re.search(r"^ARG AIRFLOW_VERSION=3\.3\.\d+$", text, re.M)
    init = REPO / "docker" / "postgres-init" / "10-review-databases.sh"
    assert os.access(init, os.X_OK)
    subprocess.run(["bash", "-n", str(init)], check=True)
