"""The Sales Review plugin: registered with Airflow, closed to anonymous callers, real data."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

PLUGIN_FILE = Path(__file__).resolve().parents[2] / "plugins" / "review_plugin.py"


@pytest.fixture(scope="module")
def plugin_module():
    spec = importlib.util.spec_from_file_location("rp_review_plugin_under_test", PLUGIN_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def auth_manager(airflow_db):
    """The configured auth manager (the simple one here), initialised as the api-server does."""
    from airflow.api_fastapi.app import init_auth_manager

    return init_auth_manager()


@pytest.fixture
def client(plugin_module, auth_manager):
    from fastapi.testclient import TestClient

    with TestClient(plugin_module.app) as test_client:
        yield test_client


def _token(auth_manager, role: str | None) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(SimpleAuthManagerUser(username="reviewer", role=role))


def test_plugin_is_registered_with_airflow(airflow_db):
    from airflow import plugins_manager

    apps, _ = plugins_manager.get_fastapi_plugins()
    ours = [a for a in apps if a["url_prefix"] == "/sales-review"]
    assert len(ours) == 1 and ours[0]["name"] == "Sales Review"
    views, _ = plugins_manager._get_ui_plugins()
    assert any(v["name"] == "Sales Review" and v["href"] == "/sales-review/" for v in views)


@pytest.mark.parametrize("path", ["/", "/api/status"])
def test_anonymous_and_forged_requests_are_refused(client, path):
    assert client.get(path).status_code == 401
    forged = client.get(path, headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 403
    assert client.get(path, cookies={"_token": "not.a.jwt"}).status_code == 403


def test_user_without_a_role_is_forbidden(client, auth_manager):
    token = _token(auth_manager, None)
    response = client.get("/api/status", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


@pytest.fixture
def warehouse(make_database, review_home, monkeypatch):
    """A migrated warehouse the page reads through the settings (REVIEW_WAREHOUSE_URL)."""
    from review_pipeline.db import normalise_url
    from review_pipeline.migrations.runner import upgrade

    url = make_database("uiwh")
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", url)
    engine = sa.create_engine(normalise_url(url), poolclass=sa.pool.NullPool)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_authenticated_user_sees_ops_step_run(client, auth_manager, warehouse):
    from review_pipeline.ops import record_step

    with record_step(warehouse, "prepare_warehouse") as run:
        run.rows_out = 7
    with warehouse.begin() as conn:
        conn.execute(
            sa.text(
                "insert into ops.step_run (step, status, error_text)"
                " values ('run_checks', 'failed', '<script>alert(1)</script>')"
            )
        )

    bearer = {"Authorization": f"Bearer {_token(auth_manager, 'viewer')}"}
    data = client.get("/api/status", headers=bearer).json()
    steps = [(r["step"], r["status"]) for r in data["step_runs"]]
    assert steps == [("run_checks", "failed"), ("prepare_warehouse", "success")]
    assert data["step_runs"][1]["rows_out"] == 7

    # the UI embeds the page and authenticates it with the login cookie
    page = client.get("/", cookies={"_token": _token(auth_manager, "admin")})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "prepare_warehouse" in page.text and "run_checks" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
