"""The pack email, parsed back with the standard library: no database, no server."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.conftest import WEEK, base_summary, write_workbook

pytestmark = pytest.mark.unit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def msettings(review_home: Path) -> Any:
    from review_pipeline.settings import load_settings

    return load_settings()


def pack_row(settings: Any, *, summary: dict[str, Any] | None = None, filler: int = 0,
             display_name: str = "销售评审周报 2026-W47 华东区.xlsx") -> dict[str, Any]:  # fmt: skip
    path = settings.home / "packs" / "weekly" / WEEK / "review-weekly-2026-W47-M1.xlsx"
    data = write_workbook(path, [("张三", "客户甲", 100.0), ("=1+1", "+cmd", 2.5)],
                          filler_bytes=filler)  # fmt: skip
    return {
        "pack_id": 7, "outbox_id": 11, "resend_no": 0, "kind": "weekly", "period": WEEK,
        "review_date": date(2026, 11, 22), "manager_id": "M1", "language": "zh-CN",
        "file_name": path.name, "display_name": display_name, "path": str(path),
        "sha256": hashlib.sha256(data).hexdigest(), "summary": summary or base_summary(),
    }  # fmt: skip


def reparse(msg: EmailMessage) -> EmailMessage:
    """What a mail client sees: the message serialised for the wire and parsed again."""
    from review_pipeline.delivery.transport import message_bytes

    parsed = message_from_bytes(message_bytes(msg), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_message_parts_subject_chart_and_attachment(msettings: Any) -> None:
    import openpyxl
    import pandas as pd

    from review_pipeline.delivery.message import build_message

    row = pack_row(msettings)
    [msg] = build_message(msettings, row, recipient="m1@example.com")
    raw = msg.as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert all(b < 128 for b in raw), "the wire form is 7-bit clean"
    parsed = reparse(msg)
    assert parsed["Subject"] == "销售评审周报 2026-W47 · 华东区"
    assert parsed["To"] == "m1@example.com"
    assert re.fullmatch(r"<.+@localhost>", parsed["Message-ID"])
    assert parsed.get_content_type() == "multipart/mixed"

    text = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    assert text is not None and html_part is not None
    plain = text.get_content()
    assert "本月订单: ¥1,234,567" in plain and "预测达成率: 83.0 %" in plain
    assert "数据中心扩容" in plain
    html = html_part.get_content()
    assert "¥1,234,567" in html and "83.0 %" in html and "华东电力" in html
    assert "<style" not in html and 'style="' in html  # CSS inlined
    # the chart: an inline PNG whose Content-ID the HTML references
    cid = re.search(r'src="cid:([^"]+)"', html)
    assert cid is not None
    images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == f"<{cid.group(1)}>"
    png = images[0].get_content()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    attachments = list(parsed.iter_attachments())
    assert len(attachments) == 1
    att = attachments[0]
    assert att.get_content_type() == XLSX
    assert att.get_filename() == "销售评审周报 2026-W47 华东区.xlsx"  # RFC 2231 round trip
    data = att.get_content()
    assert data == Path(row["path"]).read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["R1 预测"]
    assert [c.value for c in ws[2]] == ["张三", "客户甲", 100]
    frame = pd.read_excel(io.BytesIO(data), sheet_name="R1 预测")
    assert list(frame.columns) == ["负责人", "客户", "金额"]
    assert frame["金额"].tolist() == [100.0, 2.5]


def test_rfc2231_header_is_encoded_on_the_wire(msettings: Any) -> None:
    from review_pipeline.delivery.message import build_message

    [msg] = build_message(msettings, pack_row(msettings), recipient="m1@example.com")
    wire = msg.as_bytes().decode("ascii")
    disposition = wire[wire.index("Content-Disposition: attachment") :].split("\r\n\r\n")[0]
    assert "filename*" in disposition and "utf-8''" in disposition
    assert "%E9%94%80%E5%94%AE" in disposition  # 销售, percent-encoded UTF-8


def test_html_escapes_every_value_from_data(msettings: Any) -> None:
    from review_pipeline.delivery.message import render_html, render_text

    evil = "<script>alert('x')</script>"
    summary = base_summary(
        scope_label=evil,
        red_projects=[{"lead_name": f"<b>{evil}</b>", "customer": evil, "owner": "a&b",
                       "amount_cny": 1.0, "reason": '"><img src=x onerror=alert(1)>'}],
        advice=[{"rule_id": "A01", "severity": "high", "action": evil, "stake_cny": 5.0,
                 "subject": evil, "since": "2026-W45"}],
        chart={"title": evil, "categories": [evil], "series": [{"name": evil, "values": [1]}]},
        kpis=[{"key": "k", "label": evil, "value": evil, "format": "text"}],
    )  # fmt: skip
    html = render_html(summary, language="zh-CN")
    assert "<script" not in html.lower()
    assert "<img src=x" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;" in html
    assert "a&amp;b" in html
    # the text alternative keeps the text as it is
    assert evil in render_text(summary, language="zh-CN")


def test_english_labels_and_advice(msettings: Any) -> None:
    from review_pipeline.delivery.message import render_html, render_text

    summary = base_summary(
        title="",
        scope_label="East (Zhang)",
        advice=[{"rule_id": "A01", "severity": "high", "action": "Call the customer",
                 "stake_cny": 5000.0, "subject": "Lead L1", "since": "2026-W45"}],
        advice_total=12,
        advice_resolved=2,
    )  # fmt: skip
    html = render_html(summary, language="en")
    assert "Sales review weekly pack 2026-W47 · East (Zhang)" in html
    assert "Call the customer" in html and "CNY 5,000" in html
    assert "12 items in all (2 resolved" in html
    text = render_text(summary, language="en")
    assert "[high] Call the customer" in text


def test_a_capped_or_cut_sheet_says_so_in_both_bodies() -> None:
    from review_pipeline.delivery.message import render_html, render_text

    summary = base_summary(
        sheets={
            "R6 线索台账": {"rows": 83412, "shown": 5000, "total": 83412, "cut": False,
                            "capped": True},
            "R7 应收账款": {"rows": 12, "shown": 12, "total": 12, "cut": False, "capped": False},
            "R3 TOP": {"rows": 1048572, "shown": 1048572, "cut": True, "capped": False},
        }
    )  # fmt: skip
    text = render_text(summary, language="zh-CN")
    assert "R6 线索台账: 83412 行 (工作簿中仅列出最重要的 5,000 条)" in text
    assert "R7 应收账款: 12 行\n" in text
    assert "R3 TOP: 1048572 行 (已截断（超出 Excel 上限）)" in text
    html = render_html(summary, language="en")
    assert "the workbook lists the 5,000 most important" in html
    assert html.count("most important") == 1 and "(cut at Excel's limits)" in html


def test_size_guard_zips_when_over_the_limit(msettings: Any) -> None:
    from review_pipeline.delivery.message import build_message

    row = pack_row(msettings)
    original = Path(row["path"]).read_bytes()
    small = msettings.model_copy(
        update={
            "smtp": msettings.smtp.model_copy(update={"max_attachment_bytes": len(original) - 1})
        }
    )
    [msg] = build_message(small, row, recipient="m1@example.com")
    parsed = reparse(msg)
    [att] = list(parsed.iter_attachments())
    assert att.get_content_type() == "application/zip"
    assert att.get_filename() == "销售评审周报 2026-W47 华东区.zip"
    with zipfile.ZipFile(io.BytesIO(att.get_content())) as archive:
        assert archive.namelist() == ["销售评审周报 2026-W47 华东区.xlsx"]
        assert archive.read(archive.namelist()[0]) == original
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and "已压缩为 ZIP" in body.get_content()


def test_size_guard_splits_what_zip_cannot_shrink(msettings: Any) -> None:
    from review_pipeline.delivery.message import build_message

    row = pack_row(msettings, filler=120_000)  # random hex: deflate cannot halve it
    original = Path(row["path"]).read_bytes()
    limit = 40_000
    small = msettings.model_copy(
        update={"smtp": msettings.smtp.model_copy(update={"max_attachment_bytes": limit})}
    )
    messages = build_message(small, row, recipient="m1@example.com")
    count = len(messages)
    assert count >= 2
    volumes = []
    ids = set()
    for i, msg in enumerate(messages, start=1):
        parsed = reparse(msg)
        assert parsed["Subject"].endswith(f"({i}/{count})")
        ids.add(parsed["Message-ID"])
        [att] = list(parsed.iter_attachments())
        assert att.get_filename() == f"销售评审周报 2026-W47 华东区.zip.{i:03d}"
        content = att.get_content()
        assert len(content) <= limit
        volumes.append(content)
        plain = parsed.get_body(preferencelist=("plain",))
        assert plain is not None and f"已拆分为 {count} 封邮件" in plain.get_content()
        if i > 1:
            assert parsed["References"] == messages[0]["Message-ID"]
    assert len(ids) == count
    with zipfile.ZipFile(io.BytesIO(b"".join(volumes))) as archive:
        assert archive.read(archive.namelist()[0]) == original
    # deterministic: a retry builds byte-identical volumes
    again = build_message(small, row, recipient="m1@example.com")
    assert [list(m.iter_attachments())[0].get_content() for m in again] == [
        list(m.iter_attachments())[0].get_content() for m in messages
    ]


def test_changed_or_missing_workbook_is_refused(msettings: Any) -> None:
    from review_pipeline.delivery.message import PackUnavailable, build_message

    row = pack_row(msettings)
    Path(row["path"]).write_bytes(b"tampered")
    with pytest.raises(PackUnavailable, match="not the one that was built"):
        build_message(msettings, row, recipient="m1@example.com")
    Path(row["path"]).unlink()
    with pytest.raises(PackUnavailable, match="cannot read its workbook"):
        build_message(msettings, row, recipient="m1@example.com")


def _png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """Decode our own (filter 0, RGB) PNG with zlib only."""
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    assert all(raw[y * stride] == 0 for y in range(height))
    return width, height, b"".join(raw[y * stride + 1 : (y + 1) * stride] for y in range(height))


def test_chart_png_draws_bars_in_proportion() -> None:
    from review_pipeline.delivery.chart import PALETTE, render_bar_chart

    png = render_bar_chart(
        {
            "categories": ["A"],
            "series": [{"name": "t", "values": [100]}, {"name": "f", "values": [50]}],
        },
        width=100,
        height=108,
    )
    assert png is not None
    width, height, pixels = _png_pixels(png)
    assert (width, height) == (100, 108)

    def column_height(colour: tuple[int, int, int]) -> int:
        best = 0
        for x in range(width):
            run = sum(
                1
                for y in range(height)
                if pixels[(y * width + x) * 3 : (y * width + x) * 3 + 3] == bytes(colour)
            )
            best = max(best, run)
        return best

    tall, short = column_height(PALETTE[0]), column_height(PALETTE[1])
    assert tall > 0 and abs(short / tall - 0.5) < 0.05
    assert render_bar_chart({"categories": [], "series": []}) is None
    assert render_bar_chart(None) is None


@pytest.mark.parametrize(
    ("value", "fmt", "language", "expected"),
    [
        (1234567.4, "cny", "zh-CN", "¥1,234,567"),
        (-5, "cny", "en", "-CNY 5"),
        (0.8345, "pct", "zh-CN", "83.5 %"),
        (12345, "int", "en", "12,345"),
        (None, "cny", "zh-CN", "-"),
        ("n/a", "pct", "zh-CN", "n/a"),
        ("文本", "text", "zh-CN", "文本"),
    ],
)
def test_format_value(value: Any, fmt: str, language: str, expected: str) -> None:
    from review_pipeline.delivery.message import format_value

    assert format_value(value, fmt, language) == expected


@pytest.mark.parametrize(
    ("text", "kind", "period"),
    [
        ("2026-W47", "weekly", "2026-W47"),
        ("2026w7", "weekly", "2026-W07"),
        ("2026-11", "monthly", "2026-11"),
        ("2026-11-22", "weekly", "2026-W47"),
        ("2027-01-01", "weekly", "2026-W53"),
    ],
)
def test_parse_period(text: str, kind: str, period: str) -> None:
    from review_pipeline.delivery.outbox import parse_period

    assert (parse_period(text).kind, parse_period(text).text) == (kind, period)


@pytest.mark.parametrize("bad", ["2026-W54", "2025-W53", "2026-13", "last week", ""])
def test_parse_period_rejects(bad: str) -> None:
    from review_pipeline.delivery.outbox import parse_period
    from review_pipeline.errors import UserError

    with pytest.raises(UserError):
        parse_period(bad)


def test_backoff_doubles_and_caps() -> None:
    from review_pipeline.delivery.outbox import backoff_seconds

    assert [backoff_seconds(n, 30, 200) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]


def test_recipients_of() -> None:
    from review_pipeline.delivery.message import recipients_of

    assert recipients_of("张三 <a@x.cn>; b@y.cn") == ["a@x.cn", "b@y.cn"]
    assert recipients_of("") == [] and recipients_of("not an address") == []


def test_write_preview_puts_the_chart_beside_the_html(tmp_path: Path) -> None:
    from review_pipeline.delivery.message import write_preview

    paths = write_preview(base_summary(), tmp_path / "preview", "pack-M1", language="zh-CN")
    html = paths["html"].read_text(encoding="utf-8")
    assert 'src="pack-M1.png"' in html and "cid:" not in html
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "数据中心扩容" in paths["text"].read_text(encoding="utf-8")
    no_chart = write_preview(base_summary(chart=None), tmp_path / "p2", "x", language="en")
    assert "png" not in no_chart and "<img" not in no_chart["html"].read_text(encoding="utf-8")
