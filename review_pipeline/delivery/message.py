"""The pack email: subject, HTML and text bodies, chart, and the workbook attached.

Everything shown comes from ``ops.pack.summary`` (docs/packs.md): delivery
never re-reads the marts. Every value from data is HTML-escaped; the CSS is
inlined (mail clients drop ``<style>`` blocks); the chart is an inline PNG
referenced by ``cid:``.

Size guard: a workbook larger than ``settings.smtp.max_attachment_bytes`` is
zipped (deflate); a zip still too large is cut into numbered volumes
(``name.zip.001``, ``.002`` ...), one per message, subjects ending "(1/2)".
The body says which, and how to put the volumes back together.
"""

from __future__ import annotations

import hashlib
import html
import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from review_pipeline.delivery.chart import chart_series, colour_hex, render_bar_chart
from review_pipeline.errors import ReviewError

if TYPE_CHECKING:
    from review_pipeline.settings import Settings

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
ZIP_TYPE = ("application", "zip")
CHART_CID = "review-chart@review-pipeline"
#: RFC 5322 with CRLF (policy SMTP); bodies base64 / quoted-printable, so no
#: reliance on the server's 8BITMIME.
MESSAGE_POLICY = policy.SMTP.clone(cte_type="7bit")


class PackUnavailable(ReviewError):
    """The workbook of a queued pack is missing or no longer the one that was built."""


# ------------------------------------------------------------------------ labels
_LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "weekly": "销售评审周报",
        "monthly": "销售评审月报",
        "scope": "范围",
        "business_units": "业务单元",
        "review_date": "评审日期",
        "data_as_of": "数据截至",
        "kpis": "核心指标",
        "red": "红灯项目",
        "no_red": "本期没有红灯项目。",
        "lead": "项目",
        "customer": "客户",
        "owner": "负责人",
        "amount": "金额",
        "reason": "原因",
        "advice": "行动建议",
        "severity": "级别",
        "action": "建议",
        "subject": "对象",
        "stake": "涉及金额",
        "since": "首次出现",
        "advice_more": "共 {total} 条建议（上期以来已解决 {resolved} 条），完整列表见工作簿“行动建议”工作表。",
        "chart": "图表",
        "category": "类别",
        "sheets": "工作簿内容",
        "rows": "行",
        "cut": "已截断（超出 Excel 上限）",
        "capped": "工作簿中仅列出最重要的 {shown:,} 条",
        "empty": "本期您的范围内没有数据。",
        "attached": "附件：{name}",
        "zipped": "工作簿超过 {limit}，已压缩为 ZIP 附件（{name}）。",
        "split": (
            "工作簿压缩后仍超过 {limit}，已拆分为 {n} 封邮件发送，本邮件为第 {i}/{n} 封，"
            "附件 {name}。请把 {n} 个附件保存到同一文件夹，用 7-Zip 打开 .001 文件；"
            "或执行 cat {stem}.0* > {stem}（Windows：copy /b {stem}.001+{stem}.002 {stem}）合并后解压。"
        ),
        "part_only": "这是第 {i}/{n} 封，正文见第 1 封。",
        "footer": "本邮件由销售评审数据流水线自动发送，附件只含您所辖范围的数据，请勿转发给范围以外的人员。",
        "high": "高",
        "medium": "中",
        "low": "低",
    },
    "en": {
        "weekly": "Sales review weekly pack",
        "monthly": "Sales review monthly pack",
        "scope": "Scope",
        "business_units": "Business units",
        "review_date": "Review date",
        "data_as_of": "Data as of",
        "kpis": "Headline figures",
        "red": "RED projects",
        "no_red": "No RED projects this period.",
        "lead": "Project",
        "customer": "Customer",
        "owner": "Owner",
        "amount": "Amount",
        "reason": "Reason",
        "advice": "Action items",
        "severity": "Severity",
        "action": "Action",
        "subject": "Subject",
        "stake": "At stake",
        "since": "Since",
        "advice_more": "{total} items in all ({resolved} resolved since last time); see the workbook's Action items sheet.",
        "chart": "Chart",
        "category": "Category",
        "sheets": "In the workbook",
        "rows": "rows",
        "cut": "cut at Excel's limits",
        "capped": "the workbook lists the {shown:,} most important",
        "empty": "There is no data in your scope this period.",
        "attached": "Attached: {name}",
        "zipped": "The workbook is over {limit}, so it is attached zipped ({name}).",
        "split": (
            "Even zipped the workbook is over {limit}, so it comes in {n} messages; this is "
            "message {i}/{n}, with {name}. Save all {n} attachments in one folder and open the "
            ".001 file with 7-Zip, or join them (cat {stem}.0* > {stem}; on Windows "
            "copy /b {stem}.001+{stem}.002 {stem}) and unzip."
        ),
        "part_only": "This is message {i}/{n}; the summary is in message 1.",
        "footer": "Sent automatically by the sales review pipeline. The attachment holds only your scope's data: do not forward it outside that scope.",
        "high": "high",
        "medium": "medium",
        "low": "low",
    },
}


def _labels(language: str) -> dict[str, str]:
    return _LABELS["en"] if language.lower().startswith("en") else _LABELS["zh-CN"]


def _e(value: Any) -> str:
    """Escape a data value for HTML (quotes too: values also land in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def format_value(value: Any, fmt: str | None, language: str) -> str:
    """A KPI value as text: ``cny`` money, ``pct`` a fraction, ``int``, else as given."""
    number = _number(value)
    if fmt in ("cny", "pct", "int") and number is None:
        return "-" if value in (None, "") else str(value)
    if fmt == "cny":
        assert number is not None
        text = f"{abs(number):,.0f}"
        sign = "-" if number < 0 else ""
        return f"{sign}¥{text}" if not language.startswith("en") else f"{sign}CNY {text}"
    if fmt == "pct":
        assert number is not None
        return f"{number * 100:.1f} %"
    if fmt == "int":
        assert number is not None
        return f"{number:,.0f}"
    return "-" if value in (None, "") else str(value)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def subject_for(summary: Mapping[str, Any], *, kind: str, period: str, language: str) -> str:
    """The subject: the summary's title, else "<pack name> <period> · <scope>"."""
    title = str(summary.get("title") or "").strip()
    if title:
        return " ".join(title.split())  # no newlines in a header
    labels = _labels(language)
    scope = str(summary.get("scope_label") or "").strip()
    text = f"{labels.get(kind, labels['weekly'])} {period}"
    return " ".join((f"{text} · {scope}" if scope else text).split())


# -------------------------------------------------------------------------- HTML
_CSS = """
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", Arial, sans-serif;
       color: #1f2933; font-size: 14px; line-height: 1.5; }
h1 { font-size: 20px; margin: 0 0 4px 0; color: #102a43; }
h2 { font-size: 16px; margin: 20px 0 8px 0; color: #102a43; border-bottom: 2px solid #d9e2ec; }
p.meta { color: #52606d; margin: 0 0 2px 0; font-size: 13px; }
p.notice { background-color: #fff8e1; border-left: 4px solid #e08a1e; padding: 8px 12px; }
p.muted { color: #7b8794; font-size: 12px; }
table { border-collapse: collapse; margin: 4px 0 8px 0; }
th { background-color: #f0f4f8; text-align: left; padding: 4px 10px;
     border-bottom: 1px solid #bcccdc; font-weight: bold; font-size: 13px; }
td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; vertical-align: top; font-size: 13px; }
td.num { text-align: right; white-space: nowrap; }
td.kpi { font-size: 18px; font-weight: bold; color: #102a43; text-align: right; }
td.red { color: #b03a2e; font-weight: bold; }
span.sev-high { color: #ffffff; background-color: #b03a2e; padding: 1px 6px; }
span.sev-medium { color: #ffffff; background-color: #e08a1e; padding: 1px 6px; }
span.sev-low { color: #ffffff; background-color: #7b8794; padding: 1px 6px; }
table.axis { margin: 0; }
td.axis { text-align: center; border-bottom: none; padding: 2px 0; color: #52606d;
          font-size: 12px; overflow: hidden; white-space: nowrap; }
span.swatch { display: inline-block; width: 10px; height: 10px; }
"""


def _moment(value: Any) -> str:
    """``2026-11-23T02:14:00+08:00`` as ``2026-11-23 02:14`` (the zone is shown beside it)."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


def _meta_lines(summary: Mapping[str, Any], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    if summary.get("scope_label"):
        lines.append((labels["scope"], str(summary["scope_label"])))
    units = summary.get("business_units") or []
    if units:
        lines.append((labels["business_units"], ", ".join(str(u) for u in units)))
    if summary.get("review_date"):
        lines.append((labels["review_date"], str(summary["review_date"])))
    if summary.get("data_as_of"):
        zone = summary.get("timezone")
        lines.append(
            (labels["data_as_of"], _moment(summary["data_as_of"]) + (f" ({zone})" if zone else ""))
        )
    return lines


def _kpi_html(summary: Mapping[str, Any], labels: Mapping[str, str], language: str) -> str:
    kpis = [k for k in summary.get("kpis") or [] if isinstance(k, Mapping)]
    if not kpis:
        return ""
    rows = "".join(
        f"<tr><td>{_e(k.get('label') or k.get('key'))}</td>"
        f'<td class="kpi">{_e(format_value(k.get("value"), k.get("format"), language))}</td></tr>'
        for k in kpis
    )
    return f"<h2>{_e(labels['kpis'])}</h2><table>{rows}</table>"


def _red_html(summary: Mapping[str, Any], labels: Mapping[str, str], language: str) -> str:
    reds = [r for r in summary.get("red_projects") or [] if isinstance(r, Mapping)]
    head = f"<h2>{_e(labels['red'])} ({len(reds)})</h2>"
    if not reds:
        return head + f"<p>{_e(labels['no_red'])}</p>"
    cols = ("lead", "customer", "owner", "amount", "reason")
    header = "".join(f"<th>{_e(labels[c])}</th>" for c in cols)
    body = "".join(
        "<tr>"
        f'<td class="red">{_e(r.get("lead_name") or r.get("lead_id"))}</td>'
        f"<td>{_e(r.get('customer'))}</td><td>{_e(r.get('owner'))}</td>"
        f'<td class="num">{_e(format_value(r.get("amount_cny"), "cny", language))}</td>'
        f"<td>{_e(r.get('reason'))}</td></tr>"
        for r in reds
    )
    return f"{head}<table><tr>{header}</tr>{body}</table>"


def _advice_html(summary: Mapping[str, Any], labels: Mapping[str, str], language: str) -> str:
    items = [a for a in summary.get("advice") or [] if isinstance(a, Mapping)]
    if not items:
        return ""
    cols = ("severity", "action", "subject", "stake", "since")
    header = "".join(f"<th>{_e(labels[c])}</th>" for c in cols)
    rows = []
    for a in items:
        severity = str(a.get("severity") or "low")
        css = severity if severity in ("high", "medium", "low") else "low"
        rows.append(
            f'<tr><td><span class="sev-{css}">{_e(labels.get(severity, severity))}</span></td>'
            f"<td>{_e(a.get('action'))}</td><td>{_e(a.get('subject'))}</td>"
            f'<td class="num">{_e(format_value(a.get("stake_cny"), "cny", language))}</td>'
            f"<td>{_e(a.get('since'))}</td></tr>"
        )
    more = ""
    if summary.get("advice_total") is not None:
        more = (
            '<p class="muted">'
            + _e(
                labels["advice_more"].format(
                    total=summary.get("advice_total"), resolved=summary.get("advice_resolved") or 0
                )
            )
            + "</p>"
        )
    return f"<h2>{_e(labels['advice'])}</h2><table><tr>{header}</tr>{''.join(rows)}</table>{more}"


def _chart_html(summary: Mapping[str, Any], labels: Mapping[str, str], src: str | None) -> str:
    chart = summary.get("chart") if isinstance(summary.get("chart"), Mapping) else None
    categories, series = chart_series(chart)
    if not categories or not series:
        return ""
    assert chart is not None
    title = str(chart.get("title") or labels["chart"])
    # the alt text is a fixed label: the serialiser of the CSS inliner leaves "<" of
    # attribute values unescaped (legal HTML, but mail filters flag "<script" anywhere)
    image = (
        f'<img src="{_e(src)}" alt="{_e(labels["chart"])}" width="560" height="220"'
        ' style="display:block">'
        if src
        else ""
    )
    # category names under their bar groups (the picture itself carries no text)
    axis = ""
    if image:
        cell = f"{544 / len(categories):.0f}"
        axis = (
            '<table class="axis" width="560" style="table-layout:fixed"><tr>'
            '<td style="width:8px;padding:0;border-bottom:none"></td>'
            + "".join(f'<td class="axis" style="width:{cell}px">{_e(c)}</td>' for c in categories)
            + '<td style="width:8px;padding:0;border-bottom:none"></td></tr></table>'
        )
    legend = " ".join(
        f'<span class="swatch" style="background-color:{colour_hex(i)}">&nbsp;</span> {_e(name)}'
        for i, (name, _) in enumerate(series)
    )
    header = f"<th>{_e(labels['category'])}</th>" + "".join(
        f"<th>{_e(name)}</th>" for name, _ in series
    )
    rows = "".join(
        f"<tr><td>{_e(category)}</td>"
        + "".join(f'<td class="num">{values[i]:,.0f}</td>' for _, values in series)
        + "</tr>"
        for i, category in enumerate(categories)
    )
    return (
        f'<h2>{_e(title)}</h2>{image}{axis}<p class="meta">{legend}</p>'
        f"<table><tr>{header}</tr>{rows}</table>"
    )


def _sheet_note(info: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """ " (cut at Excel's limits)" / " (the workbook lists the 5,000 most important)" or ""."""
    notes = []
    if info.get("capped") and isinstance(info.get("shown"), int):
        notes.append(labels["capped"].format(shown=info["shown"]))
    if info.get("cut"):
        notes.append(labels["cut"])
    return f" ({'; '.join(notes)})" if notes else ""


def _sheets_html(summary: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    sheets = summary.get("sheets")
    if not isinstance(sheets, Mapping) or not sheets:
        return ""
    rows = []
    for name, info in sheets.items():
        info = info if isinstance(info, Mapping) else {}
        cut = _sheet_note(info, labels)
        rows.append(
            f'<tr><td>{_e(name)}</td><td class="num">{_e(info.get("rows", "-"))}'
            f" {_e(labels['rows'])}{_e(cut)}</td></tr>"
        )
    return f"<h2>{_e(labels['sheets'])}</h2><table>{''.join(rows)}</table>"


def render_html(
    summary: Mapping[str, Any],
    *,
    language: str,
    chart_src: str | None = None,
    notices: Sequence[str] = (),
    subject: str | None = None,
) -> str:
    """The email's HTML body, CSS inlined.

    Args:
        summary: ``ops.pack.summary``.
        language: ``zh-CN`` (default labels) or ``en``.
        chart_src: the ``src`` of the chart image; default ``cid:`` + :data:`CHART_CID`
            (the inline part :func:`build_message` attaches). A preview passes a file name.
        notices: lines shown in a box at the top (zipped / split attachment).
        subject: the heading; default the subject the message would have.
    """
    import css_inline

    labels = _labels(language)
    heading = subject or subject_for(
        summary,
        kind=str(summary.get("kind") or "weekly"),
        period=str(summary.get("period") or ""),
        language=language,
    )
    categories, series = chart_series(_as_mapping(summary.get("chart")))
    has_chart = bool(categories and series)  # exactly when render_bar_chart draws one
    src = chart_src if chart_src is not None else (f"cid:{CHART_CID}" if has_chart else None)
    parts = [f"<h1>{_e(heading)}</h1>"]
    parts += [
        f'<p class="meta">{_e(label)}: {_e(value)}</p>'
        for label, value in _meta_lines(summary, labels)
    ]
    parts += [f'<p class="notice">{_e(n)}</p>' for n in notices]
    if summary.get("empty"):
        parts.append(f"<p>{_e(labels['empty'])}</p>")
    parts += [
        _kpi_html(summary, labels, language),
        _red_html(summary, labels, language),
        _advice_html(summary, labels, language),
        _chart_html(summary, labels, src if has_chart else None),
        _sheets_html(summary, labels),
        f'<p class="muted">{_e(labels["footer"])}</p>',
    ]
    lang = "en" if language.startswith("en") else "zh-CN"
    document = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(p for p in parts if p)}</body></html>"
    )
    return str(css_inline.inline(document))


# -------------------------------------------------------------------------- text
def render_text(
    summary: Mapping[str, Any],
    *,
    language: str,
    notices: Sequence[str] = (),
    subject: str | None = None,
) -> str:
    """The plain-text alternative: the same content as :func:`render_html`, as lines."""
    labels = _labels(language)
    heading = subject or subject_for(
        summary,
        kind=str(summary.get("kind") or "weekly"),
        period=str(summary.get("period") or ""),
        language=language,
    )
    lines = [heading, "=" * min(60, max(10, len(heading) * 2)), ""]
    lines += [f"{label}: {value}" for label, value in _meta_lines(summary, labels)]
    for notice in notices:
        lines += ["", f"!! {notice}"]
    if summary.get("empty"):
        lines += ["", labels["empty"]]
    kpis = [k for k in summary.get("kpis") or [] if isinstance(k, Mapping)]
    if kpis:
        lines += ["", f"[{labels['kpis']}]"]
        lines += [
            f"  {k.get('label') or k.get('key')}: "
            f"{format_value(k.get('value'), k.get('format'), language)}"
            for k in kpis
        ]
    reds = [r for r in summary.get("red_projects") or [] if isinstance(r, Mapping)]
    lines += ["", f"[{labels['red']} ({len(reds)})]"]
    if not reds:
        lines.append(f"  {labels['no_red']}")
    for r in reds:
        lines.append(
            f"  - {r.get('lead_name') or r.get('lead_id')} | {r.get('customer') or '-'} | "
            f"{r.get('owner') or '-'} | {format_value(r.get('amount_cny'), 'cny', language)} | "
            f"{r.get('reason') or '-'}"
        )
    advice = [a for a in summary.get("advice") or [] if isinstance(a, Mapping)]
    if advice:
        lines += ["", f"[{labels['advice']}]"]
        for a in advice:
            severity = str(a.get("severity") or "")
            lines.append(
                f"  - [{labels.get(severity, severity)}] {a.get('action') or ''}"
                f" ({a.get('subject') or '-'}, {format_value(a.get('stake_cny'), 'cny', language)})"
            )
        if summary.get("advice_total") is not None:
            lines.append(
                "  "
                + labels["advice_more"].format(
                    total=summary.get("advice_total"),
                    resolved=summary.get("advice_resolved") or 0,
                )
            )
    categories, series = chart_series(summary.get("chart"))  # type: ignore[arg-type]
    if categories and series:
        chart = summary.get("chart") or {}
        lines += ["", f"[{chart.get('title') or labels['chart']}]"]
        lines.append("  " + " | ".join([labels["category"], *(n for n, _ in series)]))
        for i, category in enumerate(categories):
            lines.append("  " + " | ".join([category, *(f"{v[i]:,.0f}" for _, v in series)]))
    sheets = summary.get("sheets")
    if isinstance(sheets, Mapping) and sheets:
        lines += ["", f"[{labels['sheets']}]"]
        for name, info in sheets.items():
            info = info if isinstance(info, Mapping) else {}
            cut = _sheet_note(info, labels)
            lines.append(f"  {name}: {info.get('rows', '-')} {labels['rows']}{cut}")
    lines += ["", "--", labels["footer"], ""]
    return "\n".join(lines)


def write_preview(
    summary: Mapping[str, Any], out_dir: Path, stem: str, *, language: str
) -> dict[str, Path]:
    """Write the e-mail body for a local look: ``<stem>.html`` (its chart as ``<stem>.png``
    beside it instead of the ``cid:`` part) and ``<stem>.txt``. Returns the paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    png = render_bar_chart(_as_mapping(summary.get("chart")))
    if png is not None:
        paths["png"] = out_dir / f"{stem}.png"
        paths["png"].write_bytes(png)
    paths["html"] = out_dir / f"{stem}.html"
    paths["html"].write_text(
        render_html(summary, language=language, chart_src=paths["png"].name if png else None),
        encoding="utf-8",
    )
    paths["text"] = out_dir / f"{stem}.txt"
    paths["text"].write_text(render_text(summary, language=language), encoding="utf-8")
    return paths


# ------------------------------------------------------------------- attachments
@dataclass(frozen=True)
class Attachment:
    """One attached file."""

    filename: str
    maintype: str
    subtype: str
    data: bytes


def _clean_filename(name: str, fallback: str) -> str:
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in '/\\:*?"<>|').strip()
    cleaned = cleaned.strip(". ")
    return cleaned or fallback


def pack_path(settings: Settings, pack_row: Mapping[str, Any]) -> Path:
    """The workbook's file: ``ops.pack.path``, relative paths taken from REVIEW_HOME."""
    path = Path(str(pack_row["path"]))
    return path if path.is_absolute() else settings.home / path


def read_workbook(settings: Settings, pack_row: Mapping[str, Any]) -> bytes:
    """The workbook's bytes, checked against the sha256 recorded when it was built.

    Raises:
        PackUnavailable: the file is missing or its content changed since the build.
    """
    path = pack_path(settings, pack_row)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackUnavailable(
            f"pack {pack_row.get('pack_id')} ({pack_row.get('manager_id')}, "
            f"{pack_row.get('period')}): cannot read its workbook {path}: {exc.strerror or exc}"
        ) from exc
    expected = pack_row.get("sha256") or pack_row.get("pack_sha256")
    actual = hashlib.sha256(data).hexdigest()
    if expected and actual != expected:
        raise PackUnavailable(
            f"pack {pack_row.get('pack_id')}: workbook {path} is not the one that was built "
            f"(sha256 {actual[:12]}... instead of {str(expected)[:12]}...); rebuild the pack"
        )
    return data


def plan_attachments(
    data: bytes, display_name: str, limit: int, *, stamp: date | None = None
) -> tuple[list[Attachment], str]:
    """The attachment(s) for a workbook: ``([one per message], how)``.

    ``how`` is ``"xlsx"`` (as built), ``"zip"`` (one zip) or ``"split"`` (zip
    volumes ``.zip.001`` ... of at most ``limit`` bytes each). The zip is
    deterministic (fixed time stamp), so a retried split sends the same volumes.
    """
    if limit <= 0 or len(data) <= limit:
        return [Attachment(display_name, *XLSX_TYPE, data)], "xlsx"
    buffer = io.BytesIO()
    day = stamp or date(2000, 1, 1)
    info = zipfile.ZipInfo(display_name, date_time=(day.year, day.month, day.day, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info, data, compresslevel=9)
    packed = buffer.getvalue()
    zip_name = f"{Path(display_name).stem}.zip"
    if len(packed) <= limit:
        return [Attachment(zip_name, *ZIP_TYPE, packed)], "zip"
    count = math.ceil(len(packed) / limit)
    return [
        Attachment(
            f"{zip_name}.{i + 1:03d}",
            "application",
            "octet-stream",
            packed[i * limit : (i + 1) * limit],
        )
        for i in range(count)
    ], "split"


# ----------------------------------------------------------------------- message
def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "review-pipeline.local"


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str | bytes) and value:
        import json

        loaded = json.loads(value)
        return loaded if isinstance(loaded, Mapping) else {}
    return {}


def build_message(
    settings: Settings, pack_row: Mapping[str, Any], *, recipient: str
) -> list[EmailMessage]:
    """The email(s) for one pack: one normally; several when the workbook must be split.

    ``pack_row`` is an ``ops.pack`` row (with ``outbox_id`` / ``resend_no`` of
    the outbox row when sending). Each message has its Message-ID set here,
    before it is sent, so the ledger can record it.

    Raises:
        PackUnavailable: the workbook is missing or changed since it was built.
    """
    summary = _as_mapping(pack_row.get("summary"))
    kind = str(pack_row.get("kind") or summary.get("kind") or "weekly")
    period = str(pack_row.get("period") or summary.get("period") or "")
    language = str(pack_row.get("language") or summary.get("language") or settings.language)
    labels = _labels(language)
    display = _clean_filename(
        str(pack_row.get("display_name") or ""), str(pack_row.get("file_name") or "pack.xlsx")
    )
    if not display.lower().endswith(".xlsx"):
        display += ".xlsx"
    limit = settings.smtp.max_attachment_bytes
    review_date = pack_row.get("review_date")
    stamp = review_date if isinstance(review_date, date) else None
    if isinstance(review_date, datetime):
        stamp = review_date.date()
    attachments, how = plan_attachments(
        read_workbook(settings, pack_row), display, limit, stamp=stamp
    )
    base_subject = subject_for(summary, kind=kind, period=period, language=language)
    count = len(attachments)
    domain = _domain(settings.smtp.sender)
    outbox_id = pack_row.get("outbox_id")
    resend_no = int(pack_row.get("resend_no") or 0)
    messages: list[EmailMessage] = []
    first_id: str | None = None
    for index, attachment in enumerate(attachments, start=1):
        subject = base_subject if count == 1 else f"{base_subject} ({index}/{count})"
        notices: list[str] = []
        if how == "zip":
            notices.append(labels["zipped"].format(limit=_size(limit), name=attachment.filename))
        elif how == "split":
            stem = attachment.filename.rsplit(".", 1)[0]
            notices.append(
                labels["split"].format(
                    limit=_size(limit), n=count, i=index, name=attachment.filename, stem=stem
                )
            )
        msg = EmailMessage(policy=MESSAGE_POLICY)
        msg["Subject"] = subject
        msg["From"] = settings.smtp.sender
        msg["To"] = recipient
        msg["Date"] = formatdate(localtime=True)
        msg_id = make_msgid(
            idstring=f"o{outbox_id}r{resend_no}p{index}of{count}",
            domain=domain,
        )
        msg["Message-ID"] = msg_id
        if first_id is None:
            first_id = msg_id
        else:
            msg["In-Reply-To"] = first_id
            msg["References"] = first_id
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Review-Pack"] = (
            f"{kind} {period} {pack_row.get('manager_id')} {str(pack_row.get('sha256'))[:16]}"
        )
        if outbox_id is not None:
            msg["X-Review-Outbox"] = f"{outbox_id} resend {resend_no} part {index}/{count}"
        if index == 1:
            msg.set_content(
                render_text(summary, language=language, notices=notices, subject=subject)
            )
            html_body = render_html(summary, language=language, notices=notices, subject=subject)
            msg.add_alternative(html_body, subtype="html")
            png = render_bar_chart(summary.get("chart"))
            if png is not None:
                for part in msg.iter_parts():
                    if part.get_content_type() == "text/html":
                        part.add_related(png, "image", "png", cid=f"<{CHART_CID}>")
        else:
            short = [*notices, labels["part_only"].format(i=index, n=count)]
            msg.set_content(render_text({}, language=language, notices=short, subject=subject))
        msg.add_attachment(
            attachment.data,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
        messages.append(msg)
    return messages


def recipients_of(text: str | None) -> list[str]:
    """The addresses in an ``ops.outbox.recipient`` (comma or semicolon separated)."""
    from email.utils import getaddresses

    if not text:
        return []
    found = getaddresses([text.replace(";", ",")])
    return [addr for _, addr in found if addr and "@" in addr]


__all__ = [
    "CHART_CID",
    "Attachment",
    "PackUnavailable",
    "build_message",
    "format_value",
    "plan_attachments",
    "read_workbook",
    "recipients_of",
    "render_html",
    "render_text",
    "subject_for",
    "write_preview",
]
