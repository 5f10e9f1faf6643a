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


def _get(client, path, cookies):
    """GET with the login cookie set on the client for this one request."""
    client.cookies.clear()
    client.cookies.update(cookies)
    try:
        return client.get(path)
    finally:
        client.cookies.clear()


@pytest.mark.parametrize("path", ["/", "/api/status"])
def test_anonymous_and_forged_requests_are_refused(client, path):
    assert client.get(path).status_code == 401
    forged = client.get(path, headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 403
    assert _get(client, path, {"_token": "not.a.jwt"}).status_code == 403


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
    page = _get(client, "/", {"_token": _token(auth_manager, "admin")})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "prepare_warehouse" in page.text and "run_checks" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def _seed_sections(engine: sa.Engine) -> None:
    """Rows in the real tables each section reads, as the stages would have written them."""
    from datetime import date

    older, latest = date(2026, 11, 21), date(2026, 11, 22)
    with engine.begin() as conn:
        for day, rule, entity, severity in (
            (older, "LQ01", "L0", "error"),  # an older date: not on the page
            (latest, "LQ05", "L1", "warn"),
            (latest, "LQ05", "L2", "warn"),
            (latest, "LQ13", "L3", "error"),
        ):
            conn.execute(
                sa.text(
                    "insert into dq.finding (business_date, rule_id, entity_type, entity_id,"
                    " severity, owner_id, run_id) values (:d, :r, 'lead', :e, :s, 'E1', 1)"
                ),
                {"d": day, "r": rule, "e": entity, "s": severity},
            )
        for run_id, gate, gate_status, message in (
            (1, "freshness", "pass", "fresh"),
            (2, "freshness", "fail", "source stale by <b>3</b> hours"),  # the later outcome wins
            (2, "volume", "skip", "no baseline yet"),
        ):
            conn.execute(
                sa.text(
                    "insert into dq.gate_result (run_id, business_date, gate, status, message,"
                    " checked_at) values (:r, :d, :g, :s, :m, now() + make_interval(secs => :r))"
                ),
                {"r": run_id, "d": latest, "g": gate, "s": gate_status, "m": message},
            )
        conn.execute(
            sa.text(
                "insert into ops.extract_batch (source, entity, source_object, business_date,"
                " rows_in, rows_staged, rows_quarantined, status) values"
                " ('sim_crm', 'lead', 'crm.lead', :old, 9, 9, 0, 'success'),"
                " ('sim_crm', 'lead', 'crm.lead', :d, 40, 37, 3, 'success'),"
                " ('sim_finance', 'sales_order', 'orders.csv', :d, 10, 10, 0, 'success')"
            ),
            {"d": latest, "old": older},
        )
        for key in ("a", "b", "c"):
            conn.execute(
                sa.text(
                    "insert into quarantine.staging_row (entity, source, entity_key, raw_values,"
                    " reasons) values ('lead', 'sim_crm', :k, '{}'::jsonb, array['bad amount'])"
                ),
                {"k": key},
            )
        conn.execute(
            sa.text(
                "insert into dq.lead_quarantine (lead_id, business_date, rule_ids)"
                " values ('L3', :d, array['LQ13'])"
            ),
            {"d": latest},
        )
        pack_ids = {}
        for period, manager in (("2026-W46", "M0"), ("2026-W47", "M1"), ("2026-W47", "M2"),
                                ("2026-W47", "M3")):  # fmt: skip
            pack_ids[(period, manager)] = conn.execute(
                sa.text(
                    "insert into ops.pack (kind, period, review_date, manager_id, language,"
                    " scope_kind, file_name, display_name, path, sha256, bytes) values"
                    " ('weekly', :p, :d, :m, 'zh-CN', 'manager', 'p.xlsx', 'p.xlsx', '/x', :sha, 1)"
                    " returning pack_id"
                ),
                {"p": period, "d": latest, "m": manager, "sha": f"sha-{period}-{manager}"},
            ).scalar_one()
        for (period, manager), pack_id in pack_ids.items():
            outbox_status = {"M0": "sent", "M1": "sent", "M2": "sent", "M3": "failed"}[manager]
            conn.execute(
                sa.text(
                    "insert into ops.outbox (pack_id, kind, period, manager_id, pack_sha256,"
                    " status, sent_at, created_at) values (:id, 'weekly', :p, :m, :sha, :s,"
                    " case when :s = 'sent' then now() end,"
                    " now() + case when :p = '2026-W47' then interval '1 day' else interval '0' end)"
                ),
                {
                    "id": pack_id,
                    "p": period,
                    "m": manager,
                    "sha": f"sha-{period}-{manager}",
                    "s": outbox_status,
                },
            )


def test_authenticated_user_sees_checks_quarantine_delivery_and_data_docs(
    client, auth_manager, warehouse, review_home
):
    from review_pipeline.ops import record_step

    _seed_sections(warehouse)
    for step in ("extract_sources", "run_checks", "extract_sources"):
        with record_step(warehouse, step) as run:
            run.rows_in = 5
    docs = review_home / "gx" / "uncommitted" / "data_docs" / "local_site"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<html>data docs of the checks</html>", "utf-8")
    (review_home / "secret.txt").write_text("not for the web", "utf-8")

    bearer = {"Authorization": f"Bearer {_token(auth_manager, 'viewer')}"}
    data = client.get("/api/status", headers=bearer).json()

    latest_steps = {r["step"]: r for r in data["latest_per_step"]}
    assert set(latest_steps) == {"extract_sources", "run_checks"}
    assert latest_steps["extract_sources"]["run_id"] == max(
        r["run_id"] for r in data["step_runs"] if r["step"] == "extract_sources"
    )

    checks = data["checks"]
    assert checks["business_date"] == "2026-11-22"
    assert [(f["rule_id"], f["severity"], f["findings"]) for f in checks["findings"]] == [
        ("LQ05", "warn", 2),
        ("LQ13", "error", 1),
    ]
    gates = {g["gate"]: g["status"] for g in checks["gates"]}
    assert gates == {"freshness": "fail", "volume": "skip"}

    quarantine = data["quarantine"]
    assert quarantine["business_date"] == "2026-11-22"
    assert quarantine["lead_days"] == 1
    assert quarantine["batches"][0] == {
        "source": "sim_crm",
        "entity": "lead",
        "batches": 1,
        "rows_in": 40,
        "rows_staged": 37,
        "rows_quarantined": 3,
    }
    tables = {t["table"]: t["rows"] for t in quarantine["tables"]}
    assert tables == {"quarantine.staging_row": 3, "quarantine.file_row": 0, "quarantine.file": 0}

    assert [(d["kind"], d["period"], d["counts"]) for d in data["delivery"]] == [
        ("weekly", "2026-W47", {"failed": 1, "sent": 2})
    ]
    assert data["data_docs"]["available"] is True

    cookie = {"_token": _token(auth_manager, "viewer")}
    page = _get(client, "/", cookie)
    assert page.status_code == 200
    text = page.text
    for expected in ("LQ13", "2026-W47", "sim_crm", "quarantine.staging_row", "/data-docs/"):
        assert expected in text, expected
    assert "source stale by &lt;b&gt;3&lt;/b&gt; hours" in text

    # the Data Docs are served behind the same login, and nothing outside their folder
    assert client.get("/data-docs/index.html").status_code == 401
    served = _get(client, "/data-docs/index.html", cookie)
    assert served.status_code == 200 and "data docs of the checks" in served.text
    for escape in ("../../../../secret.txt", "..%2F..%2F..%2F..%2Fsecret.txt"):
        assert _get(client, f"/data-docs/{escape}", cookie).status_code == 404


def test_page_of_an_empty_warehouse_says_so(client, auth_manager, warehouse, review_home):
    cookie = {"_token": _token(auth_manager, "viewer")}
    data = _get(client, "/api/status", cookie).json()
    assert data["latest_per_step"] == [] and data["delivery"] == []
    assert data["checks"] == {"business_date": None, "findings": [], "gates": []}
    page = _get(client, "/", cookie).text
    assert "No check has run yet." in page and "No pack queued yet." in page
