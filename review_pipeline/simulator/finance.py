"""The simulated ERP: orders, invoices and collections, and the daily export files.

Each order's invoices and collections are drawn when the order is made (from
the order's own stream) and kept in ``sim.erp_*``; the file for day D holds
the rows dated D plus corrected copies of the rows that were malformed in
D - 1's file. Format contract: docs/sources/finance_files.md.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from review_pipeline.simulator.clock import next_working_day
from review_pipeline.simulator.rng import hashed_uniform, ri, stream
from review_pipeline.simulator.truth import Truth

CENT = Decimal("0.01")
COMPANY = "示例信息产业集团有限公司"
EXCEL_EPOCH = date(1899, 12, 30)

ORDER_HEADER = (
    "订单编号",
    "订单日期",
    "客户编码",
    "客户名称",
    "线索编号",
    "销售员工号",
    "产品线编码",
    "订单金额(元)",
)
INVOICE_HEADER = (
    "发票号码",
    "订单编号",
    "开票日期",
    "到期日期",
    "客户编码",
    "客户名称",
    "销售员工号",
    "发票金额(元)",
)
COLLECTION_HEADER = (
    "收款单号",
    "发票号码",
    "收款日期",
    "客户编码",
    "客户名称",
    "收款金额(元)",
    "销售员工号",
)


@dataclass(frozen=True)
class Order:
    order_no: str
    slot_id: int | None
    order_date: date
    customer_id: str
    customer_name: str
    opp_code: str | None
    owner_id: str
    product_line: str
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    invoice_no: str
    slot_id: int | None
    order_no: str
    invoice_date: date
    due_date: date
    customer_id: str
    customer_name: str
    owner_id: str
    amount: Decimal


@dataclass(frozen=True)
class Collection:
    collection_no: str
    slot_id: int | None
    invoice_no: str
    collection_date: date
    customer_id: str
    customer_name: str
    owner_id: str
    amount: Decimal


def split_cents(total: Decimal, weights: list[float]) -> list[Decimal]:
    """Split ``total`` into parts proportional to ``weights`` that add up to the cent."""
    cents = int((total / CENT).to_integral_value())
    wsum = sum(weights)
    raw = [cents * w / wsum for w in weights]
    base = [int(x) for x in raw]
    rest = cents - sum(base)
    for i in sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))[:rest]:
        base[i] += 1
    return [Decimal(b) * CENT for b in base]


def receivables(seed: int, order: Order) -> tuple[list[Invoice], list[Collection]]:
    """Invoices (1-3 instalments) and the collections applied to them."""
    r = stream(seed, "invoice", order.order_no)
    n = r.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]
    parts = split_cents(order.amount, [r.uniform(0.5, 1.5) for _ in range(n)])
    invoices: list[Invoice] = []
    collections: list[Collection] = []
    day = next_working_day(order.order_date + timedelta(days=ri(r, 0, 20)))
    for i, amount in enumerate(parts, start=1):
        due = day + timedelta(days=r.choice((30, 60, 90)))
        inv = Invoice(
            f"FP{order.order_no[2:]}{i}", order.slot_id, order.order_no, day, due,
            order.customer_id, order.customer_name, order.owner_id, amount,
        )  # fmt: skip
        invoices.append(inv)
        collections.extend(_collections(r, inv))
        day = next_working_day(day + timedelta(days=ri(r, 30, 90)))
    return invoices, collections


def _collections(r: random.Random, inv: Invoice) -> list[Collection]:
    kind = r.choices(
        ("on_time", "late", "very_late", "partial", "never"), (0.55, 0.25, 0.08, 0.06, 0.06)
    )[0]
    if kind == "never":
        return []
    if kind == "on_time":
        plan = [(max(inv.invoice_date, inv.due_date - timedelta(days=ri(r, 0, 25))), inv.amount)]
    elif kind in ("late", "very_late"):
        days = ri(r, 1, 90) if kind == "late" else ri(r, 91, 400)
        plan = [(inv.due_date + timedelta(days=days), inv.amount)]
    else:
        first = (inv.amount * Decimal(str(round(r.uniform(0.5, 0.8), 2)))).quantize(CENT)
        plan = [(inv.due_date + timedelta(days=ri(r, 0, 60)), first)]
    return [
        Collection(
            f"SK{inv.invoice_no[2:]}{j}",
            inv.slot_id,
            inv.invoice_no,
            next_working_day(day),
            inv.customer_id,
            inv.customer_name,
            inv.owner_id,
            amount,
        )  # fmt: skip
        for j, (day, amount) in enumerate(plan, start=1)
    ]


# ------------------------------------------------------------------------ files
def _bad(seed: int, rate: float, kind: str, key: str, day: date) -> str | None:
    """Whether (and how) this row is malformed in the file of ``day``."""
    if hashed_uniform(seed, "file", kind, key, day) >= rate:
        return None
    return ("date", "amount", "key")[int(hashed_uniform(seed, "file-kind", kind, key, day) * 3)]


def _amount_text(amount: Decimal, thousands: bool) -> str:
    return f"{amount:,.2f}" if thousands else f"{amount:.2f}"


def write_orders(
    path: Path, seed: int, rate: float, day: date, rows: list[Order], fixes: list[Order]
) -> list[Truth]:
    truths: list[Truth] = []
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(ORDER_HEADER)
    for line, (o, fixing) in enumerate(
        [*((f, True) for f in fixes), *((o, False) for o in rows)], start=2
    ):
        bad = None if fixing else _bad(seed, rate, "order", o.order_no, day)
        d = o.order_date.isoformat()
        amt = _amount_text(o.amount, False)
        key = o.order_no
        if bad == "date":
            d = "2026-13-01" if o.order_no[-1] in "02468" else "待定"
        elif bad == "amount":
            amt = "N/A" if o.order_no[-1] in "13579" else "待确认"
        elif bad == "key":
            key = ""
        if bad:
            truths.append(_file_truth(path, day, line, f"orders: bad {bad}"))
        w.writerow(
            (
                key,
                d,
                o.customer_id,
                o.customer_name,
                o.opp_code or "",
                o.owner_id,
                o.product_line,
                amt,
            )
        )
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    return truths


def write_invoices(
    path: Path, seed: int, rate: float, day: date, rows: list[Invoice], fixes: list[Invoice]
) -> list[Truth]:
    truths: list[Truth] = []
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(INVOICE_HEADER)
    for line, (inv, fixing) in enumerate(
        [*((f, True) for f in fixes), *((i, False) for i in rows)], start=2
    ):
        bad = None if fixing else _bad(seed, rate, "invoice", inv.invoice_no, day)
        d1, d2 = f"{inv.invoice_date:%Y/%m/%d}", f"{inv.due_date:%Y/%m/%d}"
        amt = _amount_text(inv.amount, inv.invoice_no[-2] in "0369")
        key = inv.invoice_no
        if bad == "date":
            d1 = f"{inv.invoice_date:%Y}/02/30"
        elif bad == "amount":
            amt = "壹佰万元整" if inv.invoice_no[-2] in "01234" else ""
        elif bad == "key":
            key = ""
        if bad:
            truths.append(_file_truth(path, day, line, f"invoices: bad {bad}"))
        w.writerow(
            (key, inv.order_no, d1, d2, inv.customer_id, inv.customer_name, inv.owner_id, amt)
        )
    path.write_bytes(buf.getvalue().encode("gbk"))
    return truths


def write_collections(
    path: Path, seed: int, rate: float, day: date, rows: list[Collection], fixes: list[Collection]
) -> list[Truth]:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    truths: list[Truth] = []
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "回款明细"
    ws.append([COMPANY])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLLECTION_HEADER))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(["回款明细表"])
    ws.append([f"日期范围：{day:%Y-%m-%d} 至 {day:%Y-%m-%d}"])
    ws.append([])
    ws.append(list(COLLECTION_HEADER))
    total = Decimal("0.00")
    for row_no, (col, fixing) in enumerate(
        [*((f, True) for f in fixes), *((c, False) for c in rows)], start=6
    ):
        bad = None if fixing else _bad(seed, rate, "collection", col.collection_no, day)
        serial: object = (col.collection_date - EXCEL_EPOCH).days
        amount: object = col.amount
        if col.collection_no[-3] in "27":
            amount = _amount_text(col.amount, col.collection_no[-3] == "2")
        key: object = col.collection_no
        if bad == "date":
            serial = f"{col.collection_date:%Y}-02-30"
        elif bad == "amount":
            amount = "N/A"
        elif bad == "key":
            key = None
        if bad != "amount":
            total += col.amount
        if bad:
            truths.append(_file_truth(path, day, row_no, f"collections: bad {bad}"))
        ws.append(
            [key, col.invoice_no, serial, col.customer_id, col.customer_name, amount, col.owner_id]
        )
        if isinstance(serial, int):
            ws.cell(row=row_no, column=3).number_format = "yyyy-mm-dd"
    ws.append(["合计", None, None, None, None, total, None])
    fixed = datetime(day.year, day.month, day.day, 20, 0, 0)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "ERP"
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue()))
    return truths


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite the XLSX zip with fixed member timestamps (byte-identical reruns)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the wall clock on save: pin it to "created".
                text = data.decode("utf-8")
                created = re.search(r"<dcterms:created[^>]*>([^<]*)<", text)
                if created:
                    text = re.sub(
                        r"(<dcterms:modified[^>]*>)[^<]*(<)", rf"\g<1>{created.group(1)}\g<2>", text
                    )
                data = text.encode("utf-8")
            elif info.filename.startswith("xl/worksheets/"):
                # openpyxl writes numbers with "%.16g" (77511.10000000001): write the cents exactly.
                data = re.sub(
                    rb"<v>(-?\d+\.\d{3,})</v>",
                    lambda m: (
                        b"<v>" + str(Decimal(m.group(1).decode()).quantize(CENT)).encode() + b"</v>"
                    ),
                    data,
                )
            zout.writestr(member, data)
    return out.getvalue()


def _file_truth(path: Path, day: date, line: int, what: str) -> Truth:
    return Truth("FILE", "file", path.name, day, str(line), day, f"file:{path.name}")


def adhoc_orders(seed: int, day: date, per_day: float, pick: object) -> list[Order]:
    """Small orders without a lead (spare parts, renewals) on a working day."""
    from review_pipeline.simulator.clock import is_working_day

    if not is_working_day(day):
        return []
    r = stream(seed, "adhoc", day)
    n = sum(1 for _ in range(int(per_day * 2)) if r.random() < 0.5)
    out = []
    for k in range(n):
        assert callable(pick)
        customer_id, customer_name, owner_id, line, median = pick(r, day)
        amount = (Decimal(str(round(float(median) * r.uniform(0.02, 0.2), -2)))).quantize(CENT)
        out.append(
            Order(
                f"SA{day:%y%m%d}{k:04d}",
                None,
                day,
                customer_id,
                customer_name,
                None,
                owner_id,
                line,
                amount,
            )
        )
    return out
