"""Airflow fixtures: a private AIRFLOW_HOME and a SQLite metadata DB for this session.

The environment is set when this file is imported, before any test imports
Airflow (see ``_testenv.py``); the metadata DB is reset once per session.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_testenv():
    name = "review_airflow_testenv"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_testenv.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


AIRFLOW_HOME = _load_testenv().configure()


@pytest.fixture(autouse=True)
def _forget_task_context():
    """dag.test() runs tasks in this process and leaves their AIRFLOW_CTX_* variables
    behind; ops.record_step would credit later tests' steps to that run. Drop them."""
    import os

    yield
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CTX_")]:
        del os.environ[key]


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A freshly reset SQLite metadata DB (once per session); returns AIRFLOW_HOME."""
    from airflow.utils import db

    db.resetdb()
    return AIRFLOW_HOME


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 collecting the messages it receives."""
    from aiosmtpd.controller import Controller

    class _Collect:
        def __init__(self) -> None:
            self.messages: list[tuple[str, list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()
