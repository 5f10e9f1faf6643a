"""The rule catalogue: suite files under ``expectations/`` and rule SQL under ``sql/quality``.

A suite file is a Great Expectations suite in JSON. Native expectations are
row rules; an ``unexpected_rows_expectation`` names its SQL file in
``meta.sql_file`` and gets the query text from there, so each rule's SQL
exists once. In that text the suite's table (``meta.table``) becomes GX's
``{batch}``; the same text runs unchanged as plain SQL to write findings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from review_pipeline.db import read_sql, split_statements, sql_dir
from review_pipeline.errors import ConfigError

SUITE_NAMES = ("lead_rules", "window_rules")

# DOMAIN.md, "Lead authenticity and reporting checks"
RULES: dict[str, tuple[str, str]] = {
    "LQ01": ("error", "required fields present"),
    "LQ02": ("error/warn", "amount > 0 (error) and not above 10 x the product line's p99 (warn)"),
    "LQ03": ("error", "stage and status valid after mapping"),
    "LQ04": ("warn", "stage skipped two or more steps in one change, or went backwards"),
    "LQ05": ("warn", "open lead with an expected order date in the past"),
    "LQ06": ("warn", "S3+ open lead with no visit in the last 30 days"),
    "LQ07": (
        "warn",
        "probable duplicate: customer, product line, amount within 10 %, open at once",
    ),
    "LQ08": ("warn", "named customer with missing tier, industry or city, or invalid credit code"),
    "LQ09": ("warn", "S4+ lead without tender date, bid price or competitors"),
    "LQ10": ("warn", "ORDERED with no finance order within 30 days, or amount off by > 20 %"),
    "LQ11": ("warn", "created and at S4+ within 3 days (likely back-filled)"),
    "LQ12": ("error", "owner not an active employee on that day"),
    "LQ13": ("error", "timestamps impossible: updated before created, or in the future"),
    "DR01": ("warn", "daily report missing for a working day, or submitted after that day"),
    "DR02": ("warn", "daily report not approved within 1 working day"),
}


@dataclass(frozen=True)
class RuleExpectation:
    """One expectation of a suite, with the rule it implements."""

    suite: str
    index: int
    type: str
    kwargs: dict[str, Any]
    rule_id: str
    severity: str
    sql_file: str | None

    @property
    def is_native(self) -> bool:
        return self.sql_file is None

    @property
    def label(self) -> str:
        column = self.kwargs.get("column") or self.kwargs.get("column_A") or ""
        return f"{self.type}({column})" if column else self.type


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # schema.table the suite's batch reads
    expectations: tuple[RuleExpectation, ...]
    raw: dict[str, Any]

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]


def expectations_dir() -> Path:
    """The repository's ``expectations/`` folder (override with ``REVIEW_EXPECTATIONS_DIR``)."""
    override = os.environ.get("REVIEW_EXPECTATIONS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "expectations"


@lru_cache(maxsize=64)
def _statements(relative: str, mtime: float) -> tuple[str, ...]:
    return tuple(split_statements(read_sql(relative)))


def run_quality_sql(conn: Connection, relative: str, params: dict[str, Any]) -> None:
    """Like :func:`review_pipeline.db.run_sql_file`, with the statement split cached per process."""
    mtime = (sql_dir() / relative).stat().st_mtime
    for statement in _statements(relative, mtime):
        clause = sa.text(statement)
        conn.execute(clause, {k: v for k, v in params.items() if k in clause._bindparams})


def rule_sql(relative: str) -> str:
    """The text of a rule SQL file under ``sql/quality`` without its trailing semicolon."""
    return read_sql(f"quality/{relative}").strip().rstrip(";").strip()


def load_suite(name: str) -> Suite:
    path = expectations_dir() / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"expectation suite {path} is missing")
    raw = json.loads(path.read_text(encoding="utf-8"))
    table = raw.get("meta", {}).get("table")
    if not table or "." not in table:
        raise ConfigError(f"suite {name}: meta.table (schema.table) is required")
    items = []
    for i, exp in enumerate(raw["expectations"]):
        meta = exp.get("meta", {})
        rule_id = meta.get("rule_id")
        if rule_id not in RULES:
            raise ConfigError(f"suite {name}, expectation {i}: unknown rule_id {rule_id!r}")
        severity = meta.get("severity")
        if severity not in ("error", "warn"):
            raise ConfigError(f"suite {name}, expectation {i}: severity must be error or warn")
        items.append(
            RuleExpectation(
                suite=name,
                index=i,
                type=exp["type"],
                kwargs=dict(exp.get("kwargs", {})),
                rule_id=rule_id,
                severity=severity,
                sql_file=meta.get("sql_file"),
            )
        )
    return Suite(name=name, table=table, expectations=tuple(items), raw=raw)


def load_suites() -> list[Suite]:
    return [load_suite(name) for name in SUITE_NAMES]


def gx_query(suite: Suite, expectation: RuleExpectation) -> str:
    """The rule's SQL with the suite's table as GX's ``{batch}`` (other braces escaped)."""
    assert expectation.sql_file is not None
    text = rule_sql(expectation.sql_file).replace("{", "{{").replace("}", "}}")
    if suite.table not in text:
        raise ConfigError(f"{expectation.sql_file} does not read {suite.table}")
    return text.replace(suite.table, "{batch}")


def suite_for_gx(suite: Suite) -> dict[str, Any]:
    """The suite as GX reads it: every unexpected-rows query filled in from its file."""
    expectations = []
    for exp in suite.expectations:
        kwargs = dict(exp.kwargs)
        if exp.sql_file is not None:
            kwargs["unexpected_rows_query"] = gx_query(suite, exp)
        expectations.append(
            {
                "type": exp.type,
                "kwargs": kwargs,
                "meta": {"rule_id": exp.rule_id, "severity": exp.severity, "index": exp.index},
            }
        )
    return {"name": suite.name, "expectations": expectations, "meta": suite.raw.get("meta", {})}
