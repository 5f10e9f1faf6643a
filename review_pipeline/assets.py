"""Airflow Assets of the pipeline, declared once for producer and consumer DAGs.

Also the task defaults every DAG shares. Only ``pendulum`` and ``airflow.sdk``
are imported here: DAG files import this module at parse time.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import Asset

#: The daily marts of one business date are built and published.
DAILY_MARTS = Asset(name="review_daily_marts", uri="review://warehouse/mart/daily")

#: The weekly review packs are built and handed to delivery.
WEEKLY_PACKS = Asset(name="review_weekly_packs", uri="review://packs/weekly")

#: The month is closed (final figures, plan accuracy).
MONTH_CLOSE = Asset(name="review_month_close", uri="review://warehouse/mart/month_close")

#: Pool that serialises the tasks writing the warehouse.
WAREHOUSE_POOL = "review_warehouse"


def email_data_team(context: Any) -> None:
    """Task failure callback; the address and the SMTP provider are looked up only on failure."""
    from review_pipeline.orchestration import notify_task_failure

    notify_task_failure(context)


def default_task_args() -> dict[str, Any]:
    """Owner, retries with exponential back-off, a timeout and the failure e-mail, for every task."""
    return {
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": pendulum.duration(minutes=5),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": pendulum.duration(hours=1),
        "execution_timeout": pendulum.duration(hours=1),
        "on_failure_callback": [email_data_team],
    }
