"""The cover figures of a pack, accumulated while its report rows stream by.

Everything the cover sheet and the e-mail body show is computed here from the
rows of the manager's own scope, so the headline figures always agree with
the sheets of the same workbook:

* sums over the PERSON rows (for a manager, exactly the people under them:
  the same rows their region or team row adds up when they own all of it);
* ratios recomputed from those sums (attainment = actual / target, null
  without a target: never 0 % and never infinite);
* the RED projects of the TOP lists (each lead once, largest first).

The result follows the ``ops.pack.summary`` contract (docs/packs.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from review_pipeline.reports.labels import CHECK_REASON_LABELS, pack_label, value_label

MAX_RED = 20
MAX_CHART_CATEGORIES = 30

ZERO = Decimal(0)


def _dec(value: Any) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def reason_label(code: str, language: str) -> str:
    """The display text of a check-flag reason code."""
    pair = CHECK_REASON_LABELS.get(code)
    if pair is None:
        return code
    return pair[0] if language == "zh-CN" else pair[1]


def ratio(numerator: Decimal | None, denominator: Decimal | None) -> float | None:
    """numerator / denominator as a float fraction; None without a denominator."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(numerator / denominator)


@dataclass
class _Group:
    target: Decimal = ZERO
    actual: Decimal = ZERO
    forecast: Decimal = ZERO


@dataclass
class SummaryCollector:
    """Feed it every row written (:meth:`add`), then ask for :meth:`result`."""

    language: str
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    sums: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    time_progress: Decimal | None = None
    business_units: set[str] = field(default_factory=set)
    regions: dict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    product_lines: dict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    reservoir: dict[date, _Group] = field(default_factory=lambda: defaultdict(_Group))
    red: dict[str, dict[str, Any]] = field(default_factory=dict)

    def name(self, kind: str, code: str | None) -> str:
        if code is None:
            return "-"
        return self.names.get((kind, code), code)

    # ------------------------------------------------------------------ input
    def add(self, report: str, row: dict[str, Any]) -> None:
        """Account for one row of ``report`` (a catalog name)."""
        bu = row.get("business_unit")
        if bu:
            self.business_units.add(str(bu))
        if report == "top-leads":
            self._add_top(row)
            return
        if row.get("level") != "PERSON":
            return
        handler = _PERSON_HANDLERS.get(report)
        if handler is not None:
            handler(self, row)

    def _person_region_month(self, row: dict[str, Any]) -> None:
        s = self.sums
        for key, column in (
            ("orders_mtd", "order_actual_mtd_cny"),
            ("order_target", "order_target_cny"),
            ("forecast", "order_forecast_cny"),
            ("forecast_change", "order_forecast_change_cny"),
            ("collections_mtd", "collection_actual_mtd_cny"),
            ("collection_target", "collection_target_cny"),
        ):
            s[key] += _dec(row.get(column))
        if row.get("time_progress_ratio") is not None:
            self.time_progress = _dec(row["time_progress_ratio"])
        group = self.regions[row.get("region_code") or ""]
        group.target += _dec(row.get("order_target_cny"))
        group.actual += _dec(row.get("order_actual_mtd_cny"))
        group.forecast += _dec(row.get("order_forecast_cny"))

    def _person_ytd(self, row: dict[str, Any]) -> None:
        self.sums["orders_ytd"] += _dec(row.get("order_actual_cny"))
        self.sums["order_target_ytd"] += _dec(row.get("order_target_cny"))

    def _person_product(self, row: dict[str, Any]) -> None:
        group = self.product_lines[row.get("product_line_code") or ""]
        group.target += _dec(row.get("order_target_cny"))
        group.actual += _dec(row.get("order_actual_mtd_cny"))
        group.forecast += _dec(row.get("order_forecast_cny"))

    def _person_team(self, row: dict[str, Any]) -> None:
        self.sums["open_leads"] += _dec(row.get("open_leads"))

    def _person_reservoir(self, row: dict[str, Any]) -> None:
        self.sums["reservoir"] += _dec(row.get("weighted_pipeline_cny"))
        self.sums["reservoir_target"] += _dec(row.get("order_target_cny"))
        group = self.reservoir[row["target_month"]]
        group.actual += _dec(row.get("weighted_pipeline_cny"))
        group.target += _dec(row.get("order_target_cny"))

    def _person_aging(self, row: dict[str, Any]) -> None:
        self.sums["overdue"] += _dec(row.get("overdue_cny"))

    def _person_scorecard(self, row: dict[str, Any]) -> None:
        self.sums["score_leads"] += _dec(row.get("open_leads"))
        self.sums["score_weight"] += _dec(row.get("finding_weight"))

    def _add_top(self, row: dict[str, Any]) -> None:
        if row.get("check_flag") != "RED":
            return
        lead_id = str(row["lead_id"])
        amount = _dec(row.get("amount_cny"))
        sep = "、" if self.language == "zh-CN" else ", "
        reason = sep.join(reason_label(r, self.language) for r in (row.get("check_reasons") or []))
        listed = value_label("list_code", str(row.get("list_code")), self.language)
        known = self.red.get(lead_id)
        if known is not None:
            if listed not in known["lists"]:
                known["lists"].append(listed)
            return
        self.red[lead_id] = {
            "lead_id": lead_id,
            "lead_name": self.name("product_line", row.get("product_line_code")),
            "customer": row.get("customer_name"),
            "owner": row.get("owner_name"),
            "amount_cny": float(amount),
            "reason": reason,
            "lists": [listed],
        }

    # ----------------------------------------------------------------- output
    def red_projects(self) -> list[dict[str, Any]]:
        """At most 20 RED leads of the TOP lists, largest first."""
        ordered = sorted(self.red.values(), key=lambda r: (-r["amount_cny"], r["lead_id"]))
        out = []
        for item in ordered[:MAX_RED]:
            sep = "：" if self.language == "zh-CN" else ": "
            lists = "/".join(item["lists"])
            reason = f"{lists}{sep}{item['reason']}" if item["reason"] else lists
            out.append({k: v for k, v in item.items() if k != "lists"} | {"reason": reason})
        return out

    def kpis(self) -> list[dict[str, Any]]:
        """The headline figures, in display order (format: cny | pct | int)."""
        s = self.sums
        lang = self.language

        def kpi(key: str, value: Any, fmt: str) -> dict[str, Any]:
            if isinstance(value, Decimal):
                value = float(value)
            return {
                "key": key,
                "label": pack_label(f"kpi_{key}", lang),
                "value": value,
                "format": fmt,
            }

        score = None
        if s["score_leads"] > 0:
            score = max(0.0, 1.0 - float(s["score_weight"] / s["score_leads"]))
        return [
            kpi("orders_mtd", s["orders_mtd"], "cny"),
            kpi("order_target", s["order_target"], "cny"),
            kpi("attainment", ratio(s["orders_mtd"], s["order_target"]), "pct"),
            kpi("forecast", s["forecast"], "cny"),
            kpi("forecast_attainment", ratio(s["forecast"], s["order_target"]), "pct"),
            kpi("forecast_change", s["forecast_change"], "cny"),
            kpi("time_progress", self.time_progress, "pct"),
            kpi("orders_ytd", s["orders_ytd"], "cny"),
            kpi("ytd_attainment", ratio(s["orders_ytd"], s["order_target_ytd"]), "pct"),
            kpi("collections_mtd", s["collections_mtd"], "cny"),
            kpi(
                "collection_attainment", ratio(s["collections_mtd"], s["collection_target"]), "pct"
            ),
            kpi("overdue", s["overdue"], "cny"),
            kpi("reservoir", s["reservoir"], "cny"),
            kpi("reservoir_coverage", ratio(s["reservoir"], s["reservoir_target"]), "pct"),
            kpi("open_leads", int(s["open_leads"]), "int"),
            kpi("red", len(self.red), "int"),
            kpi("authenticity", score, "pct"),
        ]

    def region_chart(self) -> list[tuple[str, float, float, float, float | None]]:
        """(region, target, actual, forecast, attainment) rows, largest target first."""
        return self._groups(self.regions, "region")

    def product_chart(self) -> list[tuple[str, float, float, float, float | None]]:
        return self._groups(self.product_lines, "product_line")

    def _groups(
        self, groups: dict[str, _Group], kind: str
    ) -> list[tuple[str, float, float, float, float | None]]:
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1].target, -kv[1].actual, kv[0]))
        return [
            (
                self.name(kind, code or None),
                float(g.target),
                float(g.actual),
                float(g.forecast),
                ratio(g.actual, g.target),
            )
            for code, g in ordered[:MAX_CHART_CATEGORIES]
        ]

    def reservoir_chart(self) -> list[tuple[date, float, float, float | None]]:
        """(target month, weighted pipeline, target, coverage) rows, by month."""
        return [
            (month, float(g.actual), float(g.target), ratio(g.actual, g.target))
            for month, g in sorted(self.reservoir.items())
        ]

    def chart(self) -> dict[str, Any]:
        """The e-mail's chart: this month's orders by region (target, actual, forecast)."""
        rows = self.region_chart()
        lang = self.language
        return {
            "title": pack_label("chart_region", lang),
            "categories": [r[0] for r in rows],
            "series": [
                {"name": pack_label("target", lang), "values": [r[1] for r in rows]},
                {"name": pack_label("actual", lang), "values": [r[2] for r in rows]},
                {"name": pack_label("forecast", lang), "values": [r[3] for r in rows]},
            ],
        }


_PERSON_HANDLERS = {
    "region-month": SummaryCollector._person_region_month,
    "region-ytd": SummaryCollector._person_ytd,
    "product-month": SummaryCollector._person_product,
    "team-month": SummaryCollector._person_team,
    "reservoir": SummaryCollector._person_reservoir,
    "receivable-aging": SummaryCollector._person_aging,
    "scorecard": SummaryCollector._person_scorecard,
}
