"""Fill settings from Airflow connections when running inside Airflow.

Only URLs that neither the environment nor the config file set are filled,
so a deployment can still override a connection with ``REVIEW_WAREHOUSE_URL``.
Imported lazily by :func:`review_pipeline.settings.load_settings`.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import SecretStr

from review_pipeline.settings import (
    CRM_CONN_ID,
    SMTP_CONN_ID,
    WAREHOUSE_CONN_ID,
    Settings,
)

log = logging.getLogger(__name__)


def _connection(conn_id: str) -> Any | None:
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # Airflow not installed: nothing to fill from
        return None
    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - "not defined" has several exception types across versions
        log.debug("Airflow connection %s is not defined; using settings", conn_id)
        return None


def _sqlalchemy_url(conn_id: str) -> str | None:
    """A SQLAlchemy URL built from the connection's fields.

    Built field by field rather than through ``Connection.get_uri()`` or the
    hook's URL: both turn a socket directory (the embedded server) into a
    path that reads back as part of the database name.
    """
    conn = _connection(conn_id)
    if conn is None:
        return None
    from sqlalchemy.engine import URL

    host = conn.host or None
    query: dict[str, str] = {}
    if host and host.startswith("/"):
        query["host"], host = host, None
    extra = conn.extra_dejson or {}
    if extra.get("sslmode"):
        query["sslmode"] = str(extra["sslmode"])
    url = URL.create(
        "postgresql",
        username=conn.login or None,
        password=conn.password or None,
        host=host,
        port=conn.port or None,
        database=conn.schema or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def apply_airflow_connections(settings: Settings) -> Settings:
    """Return a copy of ``settings`` with unset URLs and SMTP filled from Airflow."""
    update: dict[str, Any] = {}
    if settings.warehouse_url is None:
        url = _sqlalchemy_url(WAREHOUSE_CONN_ID)
        if url:
            update["warehouse_url"] = SecretStr(url)
    if settings.crm_url is None:
        url = _sqlalchemy_url(CRM_CONN_ID)
        if url:
            update["crm_url"] = SecretStr(url)
    smtp_conn = _connection(SMTP_CONN_ID)
    if smtp_conn is not None:
        extra = smtp_conn.extra_dejson or {}
        security = (
            "ssl"
            if not extra.get("disable_ssl", True)
            else ("starttls" if not extra.get("disable_tls", True) else "none")
        )
        update["smtp"] = settings.smtp.model_copy(
            update={
                "transport": "smtp",
                "host": smtp_conn.host or settings.smtp.host,
                "port": smtp_conn.port or settings.smtp.port,
                "user": smtp_conn.login or None,
                "password": SecretStr(smtp_conn.password) if smtp_conn.password else None,
                "security": security,
                "sender": extra.get("from_email", settings.smtp.sender),
                # the SMTP provider's own extra (seconds), so one connection serves both
                "timeout_seconds": float(extra.get("timeout", settings.smtp.timeout_seconds)),
            }
        )
    return settings.model_copy(update=update) if update else settings
