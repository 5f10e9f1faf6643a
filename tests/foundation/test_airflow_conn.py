"""Settings filled from Airflow connections (the real provider hook, connections from env)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("conn", "expected_host", "expected_db"),
    [
        (
            {"conn_type": "postgres", "host": "/tmp/pg-sock", "login": "postgres", "schema": "wh"},
            "/tmp/pg-sock",
            "wh",
        ),
        (
            {
                "conn_type": "postgres",
                "host": "db.internal",
                "port": 5433,
                "login": "u",
                "password": "p@ss",
                "schema": "wh",
            },
            "db.internal",
            "wh",
        ),
    ],
)
def test_warehouse_url_from_connection(review_home, monkeypatch, conn, expected_host, expected_db):
    from sqlalchemy.engine import make_url

    from review_pipeline.db import libpq_dsn
    from review_pipeline.settings import load_settings

    monkeypatch.setenv("AIRFLOW_CONN_REVIEW_WAREHOUSE", json.dumps(conn))
    settings = load_settings(from_airflow=True)
    assert settings.warehouse_url is not None
    url = make_url(settings.warehouse_url.get_secret_value())
    assert url.database == expected_db
    dsn = libpq_dsn(url)
    assert f"host={expected_host}" in dsn
    if conn.get("password"):
        assert url.password == conn["password"]


def test_environment_wins_over_the_connection(review_home, monkeypatch):
    from review_pipeline.settings import load_settings

    monkeypatch.setenv(
        "AIRFLOW_CONN_REVIEW_WAREHOUSE",
        json.dumps({"conn_type": "postgres", "host": "x", "schema": "a"}),
    )
    monkeypatch.setenv("REVIEW_WAREHOUSE_URL", "postgresql://me@here/mine")
    settings = load_settings(from_airflow=True)
    assert settings.warehouse_url.get_secret_value() == "postgresql://me@here/mine"


def test_smtp_connection_fills_smtp_settings(review_home, monkeypatch):
    from review_pipeline.settings import load_settings

    monkeypatch.setenv(
        "AIRFLOW_CONN_REVIEW_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "mail.example.com",
                "port": 587,
                "login": "bot",
                "password": "secret",
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": False,
                    "from_email": "review@example.com",
                    "timeout": 7,
                },
            }
        ),
    )
    smtp = load_settings(from_airflow=True).smtp
    assert (smtp.transport, smtp.host, smtp.port, smtp.security) == (
        "smtp",
        "mail.example.com",
        587,
        "starttls",
    )
    assert smtp.sender == "review@example.com" and smtp.password.get_secret_value() == "secret"
    assert smtp.timeout_seconds == 7.0  # the provider's "timeout" extra


def test_smtp_connection_without_a_timeout_keeps_the_setting(review_home, monkeypatch):
    from review_pipeline.settings import load_settings

    monkeypatch.setenv("REVIEW_SMTP__TIMEOUT_SECONDS", "12")
    monkeypatch.setenv(
        "AIRFLOW_CONN_REVIEW_SMTP", json.dumps({"conn_type": "smtp", "host": "mail.example.com"})
    )
    assert load_settings(from_airflow=True).smtp.timeout_seconds == 12.0
