"""Buffered COPY into the CRM tables (flat memory: flushed every few thousand rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

COLUMNS: dict[str, tuple[str, ...]] = {
    "crm.dict_industry": ("industry_code", "industry_name"),
    "crm.dict_city": ("city_code", "city_name", "province_name"),
    "crm.product_line": ("product_line_code", "product_line_name", "bu_code"),
    "crm.org_unit": (
        "unit_id", "unit_type", "unit_name", "bu_code", "parent_unit_id", "province_name",
        "created_at", "updated_at",
    ),
    "crm.sys_user": (
        "user_id", "user_name", "email", "bu_code", "position_title", "hire_date", "leave_date",
        "user_status", "created_at", "updated_at",
    ),
    "crm.user_assignment": (
        "assignment_id", "user_id", "unit_id", "role_code", "manager_id", "indirect_manager_id",
        "effective_from", "effective_to", "change_reason", "created_at", "updated_at",
    ),
    "crm.channel_partner": (
        "partner_id", "partner_name", "credit_code", "province_name", "signed_from", "signed_to",
        "created_at", "updated_at",
    ),
    "crm.customer": (
        "customer_id", "customer_name", "credit_code", "is_named", "account_level", "industry_code",
        "city_code", "partner_id", "created_at", "updated_at",
    ),
    "crm.customer_history": (
        "customer_id", "version_no", "valid_from", "changed_at", "customer_name", "credit_code",
        "is_named", "account_level", "industry_code", "city_code", "partner_id",
    ),
    "crm.opportunity": (
        "opp_id", "opp_code", "opp_name", "customer_id", "owner_id", "product_line_code",
        "stage_name", "status_name", "amount", "expected_tender_date", "expected_order_date",
        "expected_collection_date", "expected_collection_amount", "tender_date", "bid_price",
        "competitors", "bid_result", "lost_reason", "created_at", "created_by", "updated_at",
        "updated_by",
    ),
    "crm.opportunity_history": (
        "history_id", "opp_id", "seq_no", "changed_at", "changed_by", "change_type", "customer_id",
        "owner_id", "product_line_code", "stage_name", "status_name", "amount",
        "expected_tender_date", "expected_order_date", "expected_collection_date",
        "expected_collection_amount", "tender_date", "bid_price", "competitors", "bid_result",
        "lost_reason",
    ),
    "crm.visit_record": (
        "visit_id", "user_id", "customer_id", "opp_id", "visit_date", "visit_type", "summary",
        "created_at", "updated_at",
    ),
    "crm.daily_report": (
        "report_id", "user_id", "report_date", "content", "submitted_at", "approver_id",
        "approved_at", "approval_comment", "created_at", "updated_at",
    ),
    "crm.weekly_plan": (
        "plan_id", "user_id", "week_start", "content", "planned_visits", "submitted_at",
        "created_at", "updated_at",
    ),
    "crm.sales_target": (
        "target_id", "target_level", "unit_id", "parent_unit_id", "bu_code", "target_year",
        "target_month", "product_line_code", "account_level", "measure_name", "target_amount",
        "created_at", "updated_at",
    ),
    "crm.monthly_plan": (
        "plan_id", "user_id", "plan_month", "product_line_code", "measure_name", "plan_amount",
        "stated_at", "created_at",
    ),
    "sim.erp_order": (
        "order_no", "slot_id", "order_date", "customer_id", "customer_name", "opp_code",
        "owner_id", "product_line_code", "amount",
    ),
    "sim.erp_invoice": (
        "invoice_no", "slot_id", "order_no", "invoice_date", "due_date", "customer_id",
        "customer_name", "owner_id", "amount",
    ),
    "sim.erp_collection": (
        "collection_no", "slot_id", "invoice_no", "collection_date", "customer_id",
        "customer_name", "owner_id", "amount",
    ),
    "sim.ground_truth": (
        "rule_id", "entity_type", "entity_id", "day", "detail", "known_day", "source_key",
    ),
    "sim.slot_state": ("slot_id", "next_event_day"),
}  # fmt: skip


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _text(value: object) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        text = str(value)
        return text if text.isprintable() and "\\" not in text else _escape(text)
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime:
        return value.isoformat(sep=" ")  # type: ignore[attr-defined]
    if kind is Decimal:
        return format(value, "f")  # never exponent notation
    return str(value)  # int, date


def table_ident(name: str) -> sql.Composed:
    schema, table = name.split(".")
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


class CopyWriter:
    """Collects rows per table and streams them with ``COPY ... FROM STDIN``."""

    def __init__(self, conn: psycopg.Connection[Any], batch: int = 20000) -> None:
        self.conn = conn
        self.batch = batch
        self.buffers: dict[str, list[Sequence[object]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: str, row: Sequence[object]) -> None:
        buf = self.buffers.setdefault(table, [])
        buf.append(row)
        if len(buf) >= self.batch:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.buffers):
            rows = self.buffers.get(name)
            if not rows:
                continue
            cols = COLUMNS[name]
            stmt = sql.SQL("copy {} ({}) from stdin").format(
                table_ident(name), sql.SQL(", ").join(sql.Identifier(c) for c in cols)
            )
            # Text-format lines built here are several times faster than write_row per row.
            data = "".join("\t".join(map(_text, row)) + "\n" for row in rows)
            with self.conn.cursor() as cur, cur.copy(stmt) as copy:
                copy.write(data.encode("utf-8"))
            self.counts[name] = self.counts.get(name, 0) + len(rows)
            rows.clear()
