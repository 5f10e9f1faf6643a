"""Airflow UI plugin: the "Sales Review" page, behind Airflow's own authentication.

Plugin FastAPI apps are mounted by the api-server *without* authentication,
so every route here depends on :func:`require_user`, which resolves the
caller exactly like Airflow's REST API does (a JWT bearer token, or the
``_token`` cookie the UI sets after login, validated by the configured auth
manager) and then asks the auth manager whether that user may use the UI.
Unauthenticated requests get 401, invalid tokens 403.

Sections: the latest run of every step, check results and gate outcomes
of the latest checked date, quarantine counts, pack delivery status of the
latest period, and the Great Expectations Data Docs, which the app serves
itself (``/sales-review/data-docs/``) so the link works from the browser and
stays behind the same login. The data comes from :mod:`review_pipeline.ui`;
this module only renders it.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

URL_PREFIX = "/sales-review"
TITLE = "Sales Review · 销售 REVIEW"

_bearer = HTTPBearer(auto_error=False)


async def require_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Any:
    """The authenticated Airflow user allowed to view the UI, else 401/403."""
    # Imported per request: the api-server has them loaded; other components
    # that load plugins (scheduler, workers) never pay for them.
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user

    user = await get_user(request, None, credentials)
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Forbidden")
    return user


app = FastAPI(
    title="Sales Review",
    description="Run status of the sales REVIEW pipeline.",
    dependencies=[Depends(require_user)],
)


def _cell(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...], empty: str) -> str:
    """An HTML table of ``rows``; a row's ``status`` becomes its CSS class."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f'<tr class="{_cell(r.get("status"))}">'
        + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    ) or (f'<tr><td colspan="{len(columns)}">{html.escape(empty)}</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STEP_COLUMNS = (
    "step",
    "business_date",
    "status",
    "rows_in",
    "rows_out",
    "rows_quarantined",
    "started_at",
    "duration_ms",
    "airflow_run_id",
    "error_text",
)


def _checks_html(checks: dict[str, Any]) -> str:
    day = checks.get("business_date")
    if not day:
        return "<p>No check has run yet.</p>"
    return (
        f"<p>Business date <b>{_cell(day)}</b></p><h3>Gates 闸门</h3>"
        + _table(
            checks.get("gates", []),
            ("gate", "status", "message", "checked_at"),
            "No gate result for this date.",
        )
        + "<h3>Findings per rule 规则发现</h3>"
        + _table(
            checks.get("findings", []),
            ("rule_id", "severity", "findings", "owners"),
            "No finding: every rule passed.",
        )
    )


def _quarantine_html(quarantine: dict[str, Any]) -> str:
    parts = [
        _table(quarantine.get("tables", []), ("table", "rows", "meaning"), "No quarantine table.")
    ]
    if quarantine.get("business_date"):
        parts.append(
            f"<h3>Latest extraction, business date {_cell(quarantine['business_date'])}</h3>"
        )
        if quarantine.get("lead_days") is not None:
            parts.append(
                f"<p>Leads held out of the facts that day: {_cell(quarantine['lead_days'])}</p>"
            )
        parts.append(
            _table(
                quarantine.get("batches", []),
                ("source", "entity", "batches", "rows_in", "rows_staged", "rows_quarantined"),
                "No batch.",
            )
        )
    return "".join(parts)


def _delivery_html(delivery: list[dict[str, Any]]) -> str:
    rows = [
        {
            "kind": d["kind"],
            "period": d["period"],
            **{s: d["counts"].get(s, 0) for s in DELIVERY_STATUSES},
            "last_sent_at": d.get("last_sent_at"),
        }
        for d in delivery
    ]
    return _table(
        rows, ("kind", "period", *DELIVERY_STATUSES, "last_sent_at"), "No pack queued yet."
    )


DELIVERY_STATUSES = ("sent", "pending", "sending", "failed", "unknown", "skipped")


def _data_docs_html(docs: dict[str, Any]) -> str:
    if docs.get("available"):
        return (
            f'<p><a href="{URL_PREFIX}/data-docs/index.html">Open the Data Docs</a>'
            f" (on this machine: {_cell(docs.get('index'))})</p>"
        )
    return f"<p>No Data Docs built yet (expected at {_cell(docs.get('index'))}).</p>"


def render_page(data: dict[str, Any]) -> str:
    """The page as HTML; every value is escaped."""
    sections = [
        (
            "Latest run of every step 各步骤最近运行",
            _table(data.get("latest_per_step", []), STEP_COLUMNS, "No step has run yet."),
        ),
        ("Checks and gates 检查与闸门", _checks_html(data.get("checks", {}))),
        ("Quarantine 隔离", _quarantine_html(data.get("quarantine", {}))),
        ("Pack delivery 报告包投递", _delivery_html(data.get("delivery", []))),
        ("Data Docs", _data_docs_html(data.get("data_docs", {}))),
        (
            "Recent step runs 最近运行",
            _table(data.get("step_runs", []), STEP_COLUMNS, "No step has run yet."),
        ),
    ]
    body = "".join(
        f"<section><h2>{html.escape(title)}</h2>{content}</section>" for title, content in sections
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(TITLE)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5rem}"
        "table{border-collapse:collapse;margin-bottom:1rem}"
        "td,th{border:1px solid #ccc;padding:.25rem .5rem}"
        "tr.failed,tr.fail{background:#fdd}tr.running{background:#ffd}tr.skip{background:#eee}"
        "</style></head><body>"
        f"<h1>{html.escape(TITLE)}</h1>{body}</body></html>"
    )


def _status(limit: int) -> dict[str, Any]:
    from review_pipeline.ui import review_status

    return review_status(limit=limit)


@app.get("/", response_class=HTMLResponse)
def sales_review_page(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> HTMLResponse:
    """The HTML page shown inside the Airflow UI."""
    return HTMLResponse(render_page(_status(limit)))


@app.get("/api/status")
def sales_review_status(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """The same data as JSON."""
    return _status(limit)


@app.get("/data-docs/{path:path}")
def data_docs_file(path: str) -> FileResponse:
    """A file of the local Data Docs site, served behind the same authentication."""
    from review_pipeline.settings import load_settings
    from review_pipeline.ui import data_docs_root

    root = data_docs_root(load_settings(from_airflow=True)).resolve()
    target = (root / (path or "index.html")).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Not found")
    return FileResponse(target)


class ReviewPlugin(AirflowPlugin):
    """Registers the Sales Review app and its entry in the UI navigation."""

    name = "review_plugin"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Sales Review"}]
    external_views = [
        {
            "name": "Sales Review",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "sales-review",
            "category": "browse",
        }
    ]
