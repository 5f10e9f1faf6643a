"""Airflow Assets of the pipeline, declared once for producer and consumer DAGs.

Only ``airflow.sdk`` is imported here: DAG files import this module at parse time.
"""

from __future__ import annotations

from airflow.sdk import Asset

#: The daily marts of one business date are built and published.
DAILY_MARTS = Asset(name="review_daily_marts", uri="review://warehouse/mart/daily")

#: The weekly review packs are built and handed to delivery.
WEEKLY_PACKS = Asset(name="review_weekly_packs", uri="review://packs/weekly")

#: The month is closed (final figures, plan accuracy).
MONTH_CLOSE = Asset(name="review_month_close", uri="review://warehouse/mart/month_close")

#: Pool that serialises the tasks writing the warehouse.
WAREHOUSE_POOL = "review_warehouse"
