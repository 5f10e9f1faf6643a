"""DAG integrity tests need Airflow configured before its first import (see tests/airflow)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load_testenv():
    name = "review_airflow_testenv"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "airflow" / "_testenv.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


AIRFLOW_HOME = _load_testenv().configure()
