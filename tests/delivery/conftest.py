"""Fixtures for the delivery tests: a migrated warehouse, queued packs, a real SMTP server.

Packs are queued the way the packs stage does it (docs/packs.md): a small real
workbook written with openpyxl under REVIEW_HOME/packs/<kind>/<period>/, and
its ops.pack + ops.outbox rows inserted in one transaction.

The SMTP server is aiosmtpd's Controller on 127.0.0.1 and a free port, with a
handler whose behaviour each test chooses (accept, 4xx, 5xx, drop the
connection after the data, stall).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

D = date(2026, 11, 22)  # a Sunday: ISO week 2026-W47
WEEK = "2026-W47"


@pytest.fixture(scope="session")
def delivery_url(make_database: Any) -> Iterator[str]:
    from review_pipeline.db import make_engine
    from review_pipeline.migrations.runner import upgrade
    from review_pipeline.settings import load_settings

    url = make_database("dlv")
    upgrade(make_engine(url, load_settings(warehouse_url=url)))
    yield url


def clear_ledger(settings: Any) -> None:
    from review_pipeline.db import warehouse_engine

    with warehouse_engine(settings).begin() as conn:
        conn.execute(sa.text("delete from ops.outbox"))
        conn.execute(sa.text("delete from ops.pack"))
        conn.execute(sa.text("delete from ops.pack_skip"))


@pytest.fixture
def settings_factory(review_home: Path, delivery_url: str) -> Callable[..., Any]:
    """Settings on the emptied delivery database; keyword ``smtp`` overrides the SMTP group."""
    from review_pipeline.settings import SmtpSettings, load_settings

    def _make(**smtp: Any) -> Any:
        base = {"retry_base_seconds": 0.0, "wait_for_retries_seconds": 0.0, "timeout_seconds": 5}
        return load_settings(
            warehouse_url=delivery_url, crm_url=delivery_url, smtp=SmtpSettings(**{**base, **smtp})
        )

    clear_ledger(_make())
    return _make


def write_workbook(path: Path, rows: list[tuple[Any, ...]], *, filler_bytes: int = 0) -> bytes:
    """A small real workbook (one report sheet); ``filler_bytes`` of random text make it big."""
    import os

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "R1 预测"
    ws.append(["负责人", "客户", "金额"])
    for row in rows:
        ws.append(list(row))
    if filler_bytes:
        filler = wb.create_sheet("filler")
        chunk = 2000
        for _ in range(max(1, filler_bytes // chunk)):
            filler.append([os.urandom(chunk // 2).hex()])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path.read_bytes()


def base_summary(**overrides: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "title": f"销售评审周报 {WEEK} · 华东区",
        "scope_label": "华东区 (张三)",
        "business_units": ["IND", "ENE"],
        "review_date": D.isoformat(),
        "period": WEEK,
        "kind": "weekly",
        "data_as_of": "2026-11-23T02:14:00+08:00",
        "timezone": "Asia/Shanghai",
        "language": "zh-CN",
        "kpis": [
            {"key": "orders_mtd", "label": "本月订单", "value": 1234567.0, "format": "cny"},
            {"key": "attainment", "label": "预测达成率", "value": 0.83, "format": "pct"},
        ],
        "red_projects": [
            {
                "lead_id": "L1",
                "lead_name": "数据中心扩容",
                "customer": "华东电力",
                "owner": "李四",
                "amount_cny": 880000.0,
                "reason": "tender overdue 12 days",
            },
        ],  # fmt: skip
        "chart": {
            "title": "区域目标与预测",
            "categories": ["华东", "华南"],
            "series": [{"name": "目标", "values": [100, 80]}, {"name": "预测", "values": [83, 90]}],
        },
        "advice": [],
        "sheets": {"R1 预测": {"rows": 2, "cut": False}},
        "empty": False,
    }
    summary.update(overrides)
    return summary


@dataclass
class QueuedPack:
    pack_id: int
    outbox_id: int
    manager_id: str
    path: Path
    data: bytes
    rows: list[tuple[Any, ...]]


def queue_pack(
    settings: Any,
    manager_id: str,
    *,
    period: str = WEEK,
    kind: str = "weekly",
    recipient: str | None = None,
    rows: list[tuple[Any, ...]] | None = None,
    summary: dict[str, Any] | None = None,
    display_name: str | None = None,
    filler_bytes: int = 0,
) -> QueuedPack:
    """Write a workbook and insert its ops.pack + ops.outbox rows in one transaction."""
    from review_pipeline.db import warehouse_engine

    rows = rows if rows is not None else [(f"{manager_id} 的销售", "客户甲", 100.0)]
    file_name = f"review-{kind}-{period}-{manager_id}.xlsx"
    path = settings.home / "packs" / kind / period / file_name
    data = write_workbook(path, rows, filler_bytes=filler_bytes)
    sha = hashlib.sha256(data).hexdigest()
    with warehouse_engine(settings).begin() as conn:
        pack_id = conn.execute(
            sa.text(
                "insert into ops.pack (kind, period, review_date, manager_id, manager_name,"
                " recipient, language, scope_kind, scope_key, file_name, display_name, path,"
                " sha256, bytes, sheets, summary) values (:kind, :period, :d, :m, :mn, :rcpt,"
                " 'zh-CN', 'manager', :m, :fn, :dn, :path, :sha, :bytes, cast(:sheets as jsonb),"
                " cast(:summary as jsonb)) returning pack_id"
            ),
            {
                "kind": kind, "period": period, "d": D, "m": manager_id, "mn": f"经理 {manager_id}",
                "rcpt": recipient or f"{manager_id.lower()}@example.com", "fn": file_name,
                "dn": display_name or f"销售评审周报 {period} 华东区 {manager_id}.xlsx",
                "path": str(path), "sha": sha, "bytes": len(data),
                "sheets": json.dumps({"R1 预测": {"rows": len(rows), "cut": False}}),
                "summary": json.dumps(summary or base_summary(), ensure_ascii=False),
            },
        ).scalar_one()  # fmt: skip
        outbox_id = conn.execute(
            sa.text(
                "insert into ops.outbox (pack_id, kind, period, manager_id, pack_sha256, recipient)"
                " values (:p, :kind, :period, :m, :sha, :rcpt) returning outbox_id"
            ),
            {"p": pack_id, "kind": kind, "period": period, "m": manager_id, "sha": sha,
             "rcpt": recipient or f"{manager_id.lower()}@example.com"},
        ).scalar_one()  # fmt: skip
    return QueuedPack(pack_id, outbox_id, manager_id, path, data, rows)


def ledger(settings: Any) -> dict[int, dict[str, Any]]:
    """outbox_id -> row."""
    from review_pipeline.db import warehouse_engine

    with warehouse_engine(settings).connect() as conn:
        rows = conn.execute(sa.text("select * from ops.outbox order by outbox_id")).mappings()
        return {int(r["outbox_id"]): dict(r) for r in rows}


# ------------------------------------------------------------------ SMTP server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Handler:
    """aiosmtpd handler; ``mode`` picks the behaviour, changeable between sends."""

    mode: str = "accept"  # accept | rcpt451 | rcpt550 | drop_after_data | data451 | stall_rcpt
    delay: float = 0.0
    # DATA calls (1-based, counted over the server's life) answered 451 whatever the mode
    fail_data_calls: set[int] = field(default_factory=set)
    data_calls: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.mode == "rcpt451":
            return "451 4.3.0 mailbox busy, try later"
        if self.mode == "rcpt550":
            return "550 5.1.1 no such user here"
        if self.mode == "stall_rcpt":
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay and self.mode == "accept":
            await asyncio.sleep(self.delay)
        self.data_calls += 1
        if self.mode == "data451" or self.data_calls in self.fail_data_calls:
            return "451 4.3.0 queue full"
        with self.lock:  # the server has the whole message from here on
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        if self.mode == "drop_after_data":
            server.transport.abort()  # no final reply: the client cannot know
        return "250 2.0.0 queued"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Handler

    def settings(self, factory: Callable[..., Any], **smtp: Any) -> Any:
        return factory(transport="smtp", host=self.host, port=self.port, **smtp)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port."""
    import logging

    from aiosmtpd.controller import Controller

    # the dropped connections are deliberate here; aiosmtpd would log each at INFO
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()
