"""Airflow UI plugin: the "Sales Review" page, behind Airflow's own authentication.

Plugin FastAPI apps are mounted by the api-server *without* authentication,
so every route here depends on :func:`require_user`, which resolves the
caller exactly like Airflow's REST API does (a JWT bearer token, or the
``_token`` cookie the UI sets after login, validated by the configured auth
manager) and then asks the auth manager whether that user may use the UI.
Unauthenticated requests get 401, invalid tokens 403.

The data comes from :mod:`review_pipeline.ui`; this module only renders it.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
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


def render_page(data: dict[str, Any]) -> str:
    """The page as HTML; every value is escaped."""
    columns = (
        "step",
        "business_date",
        "status",
        "rows_in",
        "rows_out",
        "rows_quarantined",
        "started_at",
        "duration_ms",
        "error_text",
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = (
        "".join(
            f'<tr class="{_cell(r.get("status"))}">'
            + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns)
            + "</tr>"
            for r in data.get("step_runs", [])
        )
        or f'<tr><td colspan="{len(columns)}">No step has run yet.</td></tr>'
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(TITLE)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}"
        "tr.failed{background:#fdd}tr.running{background:#ffd}</style></head><body>"
        f"<h1>{html.escape(TITLE)}</h1><h2>Latest steps 最近运行</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "</body></html>"
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
