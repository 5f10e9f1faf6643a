"""The `review-pipeline db` commands, run as a user would: real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "review_pipeline"]


def _run(
    args: list[str], home: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEW_")}
    env.update({"REVIEW_HOME": str(home), "XDG_RUNTIME_DIR": "/tmp", "COLUMNS": "200"})
    env.update(extra_env or {})
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.unit
def test_help_on_every_command(tmp_path):
    for args in (
        ["--help"],
        ["db", "--help"],
        ["db", "status", "--help"],
        ["db", "upgrade", "--help"],
    ):
        result = _run(args, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


@pytest.mark.unit
def test_user_mistake_is_one_line_without_traceback(tmp_path):
    result = _run(["db", "upgrade"], tmp_path, {"REVIEW_WAREHOUSE_URL": "mysql://u@h/db"})
    assert result.returncode == 2
    assert "only PostgreSQL is supported" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.unit
def test_unknown_command_fails_cleanly(tmp_path):
    result = _run(["no-such-command"], tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_embedded_server_lifecycle_shared_by_parallel_processes(tmp_path):
    home = tmp_path / "home"
    try:
        # three processes at once: one server, one migration each applied once
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda _: _run(["db", "upgrade"], home), range(3)))
        for r in results:
            assert r.returncode == 0, r.stderr
        pids = {line for r in results for line in r.stdout.splitlines()}
        assert any("upgraded" in line for line in pids)

        status = _run(["db", "status"], home)
        assert status.returncode == 0, status.stderr
        assert "embedded" in status.stdout and "up" in status.stdout
        assert "up to date" in status.stdout

        again = _run(["db", "upgrade"], home)
        assert again.returncode == 0 and "already at revision" in again.stdout
    finally:
        stop = _run(["db", "stop"], home)
    assert stop.returncode == 0, stop.stderr
    assert "stopped" in stop.stdout
    after = _run(["db", "status"], home)
    assert "down" in after.stdout


@pytest.mark.integration
def test_a_command_that_reports_failure_exits_non_zero(tmp_path, make_database):
    """`sources check` finds a source it cannot reach: exit 1, not 0."""
    result = _run(
        ["sources", "check", "--source", "sim_crm"],
        tmp_path,
        {
            "REVIEW_WAREHOUSE_URL": make_database("wh"),
            "REVIEW_CRM_URL": "postgresql://nobody@127.0.0.1:1/none",
        },
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot connect" in result.stdout
